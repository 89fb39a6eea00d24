"""Authentication pieces that need no database: who may do what (roles), password hashes, signed tokens."""
