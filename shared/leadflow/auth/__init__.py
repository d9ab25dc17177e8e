"""Token primitives shared by the gateway (signs) and realtime (verifies)."""

from leadflow.auth.tokens import AccessClaims, TokenError, issue_access_token, verify_access_token

__all__ = ["AccessClaims", "TokenError", "issue_access_token", "verify_access_token"]
