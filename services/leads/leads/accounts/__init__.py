"""Accounts: consultants, login, refresh-token families and revoked sessions.

Its own tables (consultants, refresh_token_families, refresh_tokens,
revoked_access_tokens), its own repository; the lead use cases only read a consultant's
name, email and phone.
"""
