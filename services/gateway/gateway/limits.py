"""Request body limit (413) and per-client rate limit (429 with Retry-After), as ASGI middleware.

The rate limiter is a token bucket per client key (the token's subject when a bearer
token is present, else the client address), kept in the gateway process: with N gateway
replicas a client gets at most N times the rate, which is the accepted trade-off for
not adding a shared store to the request path.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from leadflow.auth import TokenError, verify_access_token
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


def _error(
    status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]
) -> list[Message]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


class BodyLimit:
    """Refuse bodies over `limit` bytes, whether declared up front or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Whatever the app makes of a vanished client, the answer is ours.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        for message in _error(413, "payload_too_large", "body over 1 MiB", []):
            await send(message)


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by key; pure apart from the clock, so it is unit-testable."""

    def __init__(self, *, per_minute: int, burst: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def _refilled(self, key: str, now: float) -> Bucket:
        bucket = self.buckets.pop(key, None) or Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self.buckets[key] = bucket
        if len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return bucket

    def wait(self, key: str, now: float) -> float:
        """Like `take`, without spending: 0 if a request would be allowed now."""
        bucket = self._refilled(key, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str, now: float) -> float:
        """0 if allowed, else the seconds to wait before the next request is."""
        bucket = self._refilled(key, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RateLimit:
    """429 with Retry-After once a client exceeds its bucket; ops endpoints are exempt.

    Login has its own, stricter buckets per client address: password guessing is
    throttled without touching the budget of clients that are already signed in.
    """

    EXEMPT = ("/healthz", "/readyz", "/metrics")
    LOGIN = "/api/auth/login"

    def __init__(
        self, app: ASGIApp, *, secret: str, per_minute: int, burst: int, login_per_minute: int
    ) -> None:
        self.app = app
        self.secret = secret
        self.buckets = TokenBuckets(per_minute=per_minute, burst=burst)
        self.login_buckets = TokenBuckets(
            per_minute=login_per_minute, burst=max(1, login_per_minute // 3)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        if path == self.LOGIN:
            wait = self.login_buckets.take(client_address(scope), time.monotonic())
        else:
            wait = self.buckets.take(client_key(scope, self.secret), time.monotonic())
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait))).encode()
            for message in _error(
                429, "rate_limited", "too many requests", [(b"retry-after", retry_after)]
            ):
                await send(message)
            return
        await self.app(scope, receive, send)


VERIFIED_CLAIMS = "verified_access_claims"


def client_address(scope: Scope) -> str:
    client = scope.get("client") or ("unknown", 0)
    return f"ip:{client[0]}"


def client_key(scope: Scope, secret: str) -> str:
    """Who the client is: a valid token's subject, else the client address.

    Only verified tokens name a bucket, so forged tokens cannot mint fresh budgets.
    """
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"").decode(errors="ignore")
    if auth.lower().startswith("bearer "):
        with contextlib.suppress(TokenError):
            claims = verify_access_token(secret, auth[7:].strip())
            # Verified once per request: the auth dependency reads it from request.state.
            scope.setdefault("state", {})[VERIFIED_CLAIMS] = claims
            return f"sub:{claims.consultant_id}"
    return client_address(scope)
