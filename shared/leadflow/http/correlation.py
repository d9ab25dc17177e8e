"""Every HTTP request gets a correlation id that follows its work across services."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflow.logs import correlation_id_var

HEADER = b"x-correlation-id"
ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class CorrelationId:
    """Take the caller's `X-Correlation-ID` (if sane) or make one; echo it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(HEADER, b"").decode("latin-1")
        correlation_id = given if ACCEPTABLE.match(given) else uuid.uuid4().hex
        token = correlation_id_var.set(correlation_id)

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (HEADER, correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, with_header)
        finally:
            correlation_id_var.reset(token)
