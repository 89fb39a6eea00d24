"""Logins, users and API keys: /auth/* (login, refresh, logout), /admin/users, /admin/keys, the login page."""
