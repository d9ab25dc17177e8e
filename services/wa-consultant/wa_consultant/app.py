"""Composition root of the wa-consultant service: wiring only.

The session transport (neonize or the simulator) arrives with the WhatsApp issue; until
then the service runs, reports its health and holds its place in every deployment.
"""

from __future__ import annotations

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.http import ops_router
from leadflow.service import Service
from leadflow.settings import Settings


def build(settings: Settings, bus: Bus) -> Service:
    app = FastAPI(title="leadflow wa-consultant", openapi_url=None)
    app.include_router(ops_router("wa-consultant", {"broker": bus.ping}))
    return Service(name="wa-consultant", app=app)
