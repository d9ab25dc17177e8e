"""Which access tokens are refused before they expire, kept in memory where tokens are
checked (the gateway and realtime).

An access token is verified without a database round trip; what ends it early is kept
here: each consultant's session generation (bumped when they are deactivated, change
role or password) and the tokens logged out one by one. The state is loaded once from
the leads service, then kept current from `consultant.sessions_revoked` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from leadflow.auth.tokens import AccessClaims
from leadflow.events import ConsultantSessionsRevoked
from leadflow.rpc import ServiceError


class SessionRevocations:
    def __init__(self) -> None:
        self.generations: dict[str, int] = {}
        self.revoked_jtis: dict[str, int] = {}  # jti -> its expiry (Unix seconds)
        self._loaded = asyncio.Event()

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    @loaded.setter
    def loaded(self, value: bool) -> None:
        if value:
            self._loaded.set()
        else:
            self._loaded.clear()

    async def wait_loaded(self, timeout: float) -> bool:
        """Whether the state is loaded within `timeout` seconds: a request that arrives
        while the replica starts waits for it briefly instead of being refused."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), timeout)
        return self.loaded

    def refuses(self, claims: AccessClaims) -> bool:
        """Whether a (validly signed, unexpired) token was revoked."""
        if claims.generation < self.generations.get(claims.consultant_id, 0):
            return True
        return claims.jti in self.revoked_jtis

    def apply(self, event: ConsultantSessionsRevoked) -> None:
        if event.generation is not None:
            known = self.generations.get(event.consultant_id, 0)
            self.generations[event.consultant_id] = max(known, event.generation)
        if event.jti is not None:
            self.revoked_jtis[event.jti] = event.expires_at or int(time.time()) + 86_400
        self._forget_expired()

    def load(self, state: dict[str, Any]) -> None:
        """The leads service's answer to `session_state`."""
        for consultant_id, generation in state.get("generations", {}).items():
            known = self.generations.get(consultant_id, 0)
            self.generations[consultant_id] = max(known, int(generation))
        for revoked in state.get("revoked", []):
            self.revoked_jtis[str(revoked["jti"])] = int(revoked["expires_at"])
        self._forget_expired()
        self.loaded = True

    def _forget_expired(self) -> None:
        now = time.time()
        for jti in [jti for jti, expires in self.revoked_jtis.items() if expires < now]:
            del self.revoked_jtis[jti]


async def load_until_done(
    revocations: SessionRevocations,
    fetch: Callable[[], Awaitable[dict[str, Any]]],
    *,
    retry_s: float = 1.0,
) -> None:
    """Load the state, retrying while the leads service does not answer (readiness
    waits for it: a replica that does not know the revocations serves nobody)."""
    while not revocations.loaded:
        try:
            revocations.load(await fetch())
        except (ServiceError, ConnectionError):
            await asyncio.sleep(retry_s)
