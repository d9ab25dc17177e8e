"""WebSocket endpoint and the broker handler that feeds the hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from leadflow.auth import TokenError, verify_access_token
from leadflow.bus import Delivery
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime.domain import frames_for, may_join
from realtime.hub import Client, Hub

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


class RealtimeHandlers:
    def __init__(self, hub: Hub, jwt_secret: str) -> None:
        self.hub = hub
        self.jwt_secret = jwt_secret

    async def on_event(self, delivery: Delivery) -> None:
        for frame in frames_for(delivery.event()):
            self.hub.fan_out(frame)

    async def websocket(self, websocket: WebSocket) -> None:
        token = websocket.query_params.get("token") or ""
        try:
            claims = verify_access_token(self.jwt_secret, token)
        except TokenError:
            await websocket.send_denial_response(
                JSONResponse(
                    {"error": {"code": "unauthorized", "message": "invalid or expired token"}},
                    status_code=401,
                )
            )
            return
        await websocket.accept()
        client = self.hub.connect(claims)
        sender = asyncio.create_task(self._send_loop(websocket, client))
        try:
            await self._receive_loop(websocket, client)
        finally:
            self.hub.disconnect(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    async def _receive_loop(self, websocket: WebSocket, client: Client) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive_text()
                try:
                    request = json.loads(message)
                    action, room = request.get("action"), request.get("room")
                except (ValueError, AttributeError):
                    await self._reply(client, "error", {"message": "frames must be JSON objects"})
                    continue
                if action == "ping":
                    await self._reply(client, "pong", {})
                elif (
                    action == "join_room"
                    and isinstance(room, str)
                    and may_join(client.claims, room)
                ):
                    client.rooms.add(room)
                    await self._reply(client, "room_joined", {"room": room})
                elif action == "leave_room" and isinstance(room, str):
                    client.rooms.discard(room)
                    await self._reply(client, "room_left", {"room": room})
                else:
                    await self._reply(client, "error", {"message": f"not allowed: {action} {room}"})

    async def _reply(self, client: Client, event: str, data: dict[str, object]) -> None:
        frame = {"id": "", "event": event, "data": data, "ts": ""}
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(json.dumps(frame))

    async def _send_loop(self, websocket: WebSocket, client: Client) -> None:
        """Sends queued frames; closes on token expiry (4401) or overflow (1013)."""
        expires_in = max(0.0, client.claims.expires_at - time.time())
        expiry = asyncio.get_running_loop().time() + expires_in
        while True:
            next_frame = asyncio.create_task(client.queue.get())
            overflow = asyncio.create_task(client.overflowed.wait())
            timeout = max(0.0, expiry - asyncio.get_running_loop().time())
            done, _ = await asyncio.wait(
                {next_frame, overflow}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            overflow.cancel()
            if next_frame in done:
                await websocket.send_text(next_frame.result())
                continue
            next_frame.cancel()
            code = CLOSE_TRY_AGAIN_LATER if overflow in done else CLOSE_UNAUTHORIZED
            await websocket.close(code=code)
            return
