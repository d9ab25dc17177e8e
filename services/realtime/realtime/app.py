"""Composition root of the realtime service: wiring only.

The endpoints are an ASGI app (uvicorn serves them, its WebSocket protocol implemented by
the `websockets` library), so the embedded mode can serve `/ws` and `/api/events` on the
gateway's port; every replica binds its own queue, so each sees every event.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import REALTIME_FANOUT
from leadflow.http import ops_router
from leadflow.service import Service
from leadflow.settings import Settings

from realtime.handlers import RealtimeHandlers
from realtime.hub import CLOSE_GOING_AWAY, Hub


def build(settings: Settings, bus: Bus) -> Service:
    hub = Hub()
    handlers = RealtimeHandlers(hub, settings.jwt_secret)
    bus.consume(REALTIME_FANOUT, handlers.on_event)
    app = FastAPI(title="leadflow realtime", openapi_url=None)
    app.add_api_websocket_route("/ws", handlers.websocket)
    app.add_api_route("/api/events", handlers.events, methods=["GET"])
    app.include_router(ops_router("realtime", {"broker": bus.ping}))

    async def going_away() -> None:
        """SIGTERM: tell every client to reconnect elsewhere (1001) before we stop."""
        hub.close_all(CLOSE_GOING_AWAY)
        for _ in range(40):  # up to 2 s for the close frames to go out
            if not hub.clients:
                return
            await asyncio.sleep(0.05)

    return Service(
        name="realtime",
        app=app,
        public_prefixes=("/ws", "/api/events"),
        before_stop=[going_away],
    )
