"""Composition root of the ai service: wiring only."""

from __future__ import annotations

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import AI_CLASSIFY
from leadflow.http import ops_router
from leadflow.service import Service
from leadflow.settings import Settings

from ai.handlers import AiHandlers


def build(settings: Settings, bus: Bus) -> Service:
    handlers = AiHandlers(bus=bus)
    bus.consume(AI_CLASSIFY, handlers.on_lead_created)
    app = FastAPI(title="leadflow ai", openapi_url=None)
    app.include_router(ops_router("ai", {"broker": bus.ping}))
    return Service(name="ai", app=app)
