"""Composition root of the realtime service: wiring only.

The endpoints are an ASGI app (uvicorn serves them, its WebSocket protocol implemented by
the `websockets` library), so the embedded mode can serve `/ws` and `/api/events` on the
gateway's port; every replica binds its own queue, so each sees every event.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from leadflow.auth import SessionRevocations, load_until_done
from leadflow.bus import Bus
from leadflow.bus.topology import LEADS_RPC, REALTIME_FANOUT
from leadflow.events import PresenceSnapshot
from leadflow.http import ops_router
from leadflow.periodic import Periodic
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings
from starlette.routing import WebSocketRoute

from realtime.handlers import RealtimeHandlers
from realtime.hub import CLOSE_GOING_AWAY, Hub

PRESENCE_HEARTBEAT_S = 20.0


def build(settings: Settings, bus: Bus) -> Service:
    replica_id = f"{socket.gethostname()}:{os.getpid()}"

    async def publish_presence() -> None:
        """Who is connected here, for ASSIGNMENT_SKIP_OFFLINE; renewed before it lapses."""
        await bus.publish_event(
            PresenceSnapshot(
                replica_id=replica_id,
                consultant_ids=hub.online(),
                valid_for_s=3 * PRESENCE_HEARTBEAT_S,
            )
        )

    presence = Periodic("realtime-presence", PRESENCE_HEARTBEAT_S, publish_presence)
    hub = Hub(on_presence_change=presence.wake)
    revocations = SessionRevocations()
    handlers = RealtimeHandlers(hub, settings.jwt_secret, revocations)
    bus.consume(REALTIME_FANOUT, handlers.on_event)

    async def feed_interrupted() -> None:
        hub.feed_interrupted()

    # This replica's queue is exclusive: it went with the connection (or the broker node),
    # so what was published meanwhile is lost to it; its clients must refetch.
    bus.on_reconnected(feed_interrupted)

    leads = RpcClient(bus, LEADS_RPC, timeout=settings.rpc_timeout_s)
    loading: list[asyncio.Task[None]] = []

    async def load_sessions() -> None:
        """After the queue is bound, so no revocation falls between the two."""
        fetch = functools.partial(leads.call, "session_state")
        loading.append(asyncio.create_task(load_until_done(revocations, fetch)))

    async def stop_loading() -> None:
        for task in loading:
            task.cancel()

    app = FastAPI(title="leadflow realtime", openapi_url=None)
    # A plain Starlette route: FastAPI's websocket routing keeps three AsyncExitStacks and
    # its dependency state alive per connection, ~4 KiB of every idle socket.
    app.router.routes.append(WebSocketRoute("/ws", handlers.websocket))
    app.add_api_route("/api/events", handlers.events, methods=["GET"])
    app.include_router(ops_router("realtime", {"broker": bus.ping}))
    if origins := [o.strip() for o in settings.console_origins.split(",") if o.strip()]:
        # The console on the gateway's origin reads SSE from here (`make cluster`). The
        # token travels in the URL, never in cookies, so no credentials are allowed.
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["GET"], max_age=600
        )

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
        entry_points={"realtime WebSocket": "/ws", "realtime SSE": "/api/events"},
        after_bus=[presence.start, load_sessions],
        before_stop=[going_away, presence.stop, publish_presence],
        on_stop=[stop_loading],
    )
