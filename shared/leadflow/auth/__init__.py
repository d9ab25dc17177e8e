"""Token primitives shared by the gateway (signs) and realtime (verifies)."""

from leadflow.auth.revocations import SessionRevocations, load_until_done
from leadflow.auth.tokens import AccessClaims, TokenError, issue_access_token, verify_access_token

__all__ = [
    "AccessClaims",
    "SessionRevocations",
    "TokenError",
    "issue_access_token",
    "load_until_done",
    "verify_access_token",
]
