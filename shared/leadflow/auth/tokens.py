"""JWT access tokens: HS256, algorithm pinned, `sub`/`role`/`exp`/`jti` required."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from leadflow.events import Role

ALGORITHM = "HS256"


class TokenError(Exception):
    """Missing, expired, malformed or forged token."""


@dataclass(frozen=True)
class AccessClaims:
    consultant_id: str
    role: Role
    expires_at: int
    jti: str
    generation: int = 0  # the consultant's session generation when it was issued


def issue_access_token(
    secret: str, *, consultant_id: str, role: Role, ttl_s: int, generation: int = 0
) -> str:
    now = int(time.time())
    claims = {
        "sub": consultant_id,
        "role": role.value,
        "gen": generation,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(secret: str, token: str) -> AccessClaims:
    """The token's claims, or `TokenError`; never accepts another algorithm."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "exp", "jti"]},
        )
        if claims.get("typ") != "access":
            raise TokenError("not an access token")
        return AccessClaims(
            consultant_id=str(claims["sub"]),
            role=Role(claims["role"]),
            expires_at=int(claims["exp"]),
            jti=str(claims["jti"]),
            generation=int(claims.get("gen", 0)),
        )
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise TokenError(str(exc)) from exc
