"""Composition root of the realtime service: wiring only."""

from __future__ import annotations

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import REALTIME_FANOUT
from leadflow.http import ops_router
from leadflow.service import Service
from leadflow.settings import Settings

from realtime.handlers import RealtimeHandlers
from realtime.hub import Hub


def build(settings: Settings, bus: Bus) -> Service:
    hub = Hub()
    handlers = RealtimeHandlers(hub, settings.jwt_secret)
    bus.consume(REALTIME_FANOUT, handlers.on_event)
    app = FastAPI(title="leadflow realtime", openapi_url=None)
    app.add_api_websocket_route("/ws", handlers.websocket)
    app.include_router(ops_router("realtime", {"broker": bus.ping}))
    return Service(name="realtime", app=app, public_prefixes=("/ws", "/api/events"))
