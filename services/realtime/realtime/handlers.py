"""WebSocket and SSE endpoints, and the broker handler that feeds the hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from leadflow.auth import AccessClaims, SessionRevocations, TokenError, verify_access_token
from leadflow.bus import Delivery
from leadflow.events import ConsultantSessionsRevoked
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime.domain import KANBAN, frames_for, may_join
from realtime.hub import (
    CLOSE_UNAUTHORIZED,
    EVENTS_IN,
    FANOUT_LATENCY,
    Client,
    Hub,
)

log = logging.getLogger(__name__)

SSE_KEEPALIVE_S = 15.0
# How long a client that connects while the replica loads the session state waits for it.
SESSIONS_LOADING_WAIT_S = 10.0


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "unauthorized", "message": "invalid, expired or revoked token"}},
        status_code=401,
    )


def _loading() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "unavailable", "message": "sessions are being loaded; retry"}},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def _rooms(value: str | None) -> list[str]:
    return [room.strip() for room in (value or "").split(",") if room.strip()]


# What a Kanban board needs: SSE without `rooms=` gets these (and the caller's own room).
DEFAULT_SSE_ROOMS = (KANBAN,)


def _forbidden_rooms(rooms: list[str]) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "forbidden", "message": f"you may not join {', '.join(rooms)}"}},
        status_code=403,
    )


class RealtimeHandlers:
    def __init__(
        self, hub: Hub, jwt_secret: str, revocations: SessionRevocations | None = None
    ) -> None:
        self.hub = hub
        self.jwt_secret = jwt_secret
        if revocations is None:  # wired alone (tests, tools): nothing to load
            revocations = SessionRevocations()
            revocations.loaded = True
        self.revocations = revocations

    async def on_event(self, delivery: Delivery) -> None:
        event = delivery.event()
        EVENTS_IN.inc()
        if isinstance(event, ConsultantSessionsRevoked):
            # Their sockets and streams close at once (4401), not at token expiry.
            self.revocations.apply(event)
            self.hub.close_where(self.revocations.refuses, CLOSE_UNAUTHORIZED)
            return
        if not self.hub.first_time(event.event_id):
            return
        for frame in frames_for(event, self.hub.owners):
            self.hub.fan_out(frame)
        FANOUT_LATENCY.observe(max(0.0, (datetime.now(UTC) - event.occurred_at).total_seconds()))

    async def _claims(self, token: str | None) -> AccessClaims | JSONResponse:
        """The token's claims, or the response that refuses it."""
        try:
            claims = verify_access_token(self.jwt_secret, token or "")
        except TokenError:
            return _unauthorized()
        if not await self.revocations.wait_loaded(SESSIONS_LOADING_WAIT_S):
            return _loading()
        return _unauthorized() if self.revocations.refuses(claims) else claims

    # --- WebSocket ------------------------------------------------------------------

    async def websocket(self, websocket: WebSocket) -> None:
        claims = await self._claims(websocket.query_params.get("token"))
        if isinstance(claims, JSONResponse):
            address = websocket.client.host if websocket.client else "unknown"
            log.info(
                "websocket refused: invalid, expired or revoked token",
                extra={"fields": {"client": address}},
            )
            await websocket.send_denial_response(claims)
            return
        await websocket.accept()
        client = self.hub.connect(claims, "ws", _rooms(websocket.query_params.get("rooms")))
        if last := websocket.query_params.get("last_event_id"):
            self.hub.replay(client, last)
        sender = asyncio.create_task(self._send_loop(websocket, client))
        try:
            await self._receive_loop(websocket, client)
        finally:
            self.hub.disconnect(client)
            if not sender.done():
                client.close(1000)
            with contextlib.suppress(Exception):
                await sender

    async def _receive_loop(self, websocket: WebSocket, client: Client) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while client.close_code is None:
                message = await websocket.receive_text()
                try:
                    request = json.loads(message)
                    action, room = request.get("action"), request.get("room")
                except (ValueError, AttributeError):
                    self._reply(client, "error", {"message": "frames must be JSON objects"})
                    continue
                if action == "ping":
                    self._reply(client, "pong", {})
                elif (
                    action == "join_room"
                    and isinstance(room, str)
                    and may_join(client.claims, room)
                ):
                    client.rooms.add(room)
                    self._reply(client, "room_joined", {"room": room})
                elif action == "leave_room" and isinstance(room, str):
                    client.rooms.discard(room)
                    self._reply(client, "room_left", {"room": room})
                else:
                    self._reply(client, "error", {"message": f"not allowed: {action} {room}"})

    def _reply(self, client: Client, event: str, data: dict[str, object]) -> None:
        client.offer(json.dumps({"id": "", "event": event, "data": data, "ts": ""}))

    async def _send_loop(self, websocket: WebSocket, client: Client) -> None:
        """Send queued frames; close at token expiry (4401), overflow (1013), shutdown (1001)."""
        deadline = client.claims.expires_at - time.time()
        try:
            async with asyncio.timeout(max(0.0, deadline)):
                await self._pump(client, websocket.send_text)
        except TimeoutError:
            client.close(CLOSE_UNAUTHORIZED)
        with contextlib.suppress(Exception):
            await websocket.close(code=client.close_code or 1000)

    async def _pump(self, client: Client, send: Callable[[str], Awaitable[None]]) -> None:
        """Send frames until the client is closed; a burst goes out without waiting."""
        while client.close_code is None:
            await client.wait()
            for text in client.take():
                if client.close_code is not None:
                    return
                await send(text)

    # --- Server-Sent Events ---------------------------------------------------------

    async def events(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        claims = await self._claims(token or request.query_params.get("token"))
        if isinstance(claims, JSONResponse):
            return claims
        if "rooms" in request.query_params:  # chooses, like join_room; else the default
            rooms = _rooms(request.query_params["rooms"])
        else:
            rooms = list(DEFAULT_SSE_ROOMS)
        if refused := [room for room in rooms if not may_join(claims, room)]:
            return _forbidden_rooms(refused)
        client = self.hub.connect(claims, "sse", rooms)
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        if last:
            self.hub.replay(client, last)
        return StreamingResponse(
            self._sse_stream(client),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _sse_stream(self, client: Client) -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            expires = client.claims.expires_at
            while client.close_code is None and time.time() < expires:
                wait = min(SSE_KEEPALIVE_S, max(0.0, expires - time.time()))
                try:
                    async with asyncio.timeout(wait):
                        await client.wait()
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                for encoded in client.take():
                    if client.close_code is not None:
                        break
                    frame = json.loads(encoded)
                    event_id = f"id: {frame['id']}\n" if frame["id"] else ""
                    yield f"{event_id}event: {frame['event']}\ndata: {encoded}\n\n"
            ended = client.close_code in (None, CLOSE_UNAUTHORIZED)  # expired or revoked
            reason = "unauthorized" if ended else "closing"
            yield f"event: {reason}\ndata: {json.dumps({'code': client.close_code})}\n\n"
        finally:
            self.hub.disconnect(client)
