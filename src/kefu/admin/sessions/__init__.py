"""Conversations as the staff see them (/admin/sessions); the agent console grows here."""
