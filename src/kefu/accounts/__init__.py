"""Accounts: logins, tokens and API keys turned into a `Principal` (ops/auth/roles.py) the routes check."""
