"""Composition root of the gateway: wiring only."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from leadflow.asyncapi import asyncapi_document
from leadflow.auth import SessionRevocations, load_until_done
from leadflow.bus import Bus, Delivery
from leadflow.bus.topology import ASSIGNMENT_RPC, GATEWAY_SESSIONS, LEADS_RPC, session_endpoint
from leadflow.contracts import set_default_country
from leadflow.events import ConsultantSessionsRevoked, SessionName
from leadflow.http import install_error_handlers, ops_router
from leadflow.http.correlation import CorrelationId
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings, WhatsAppTransport

from gateway.console import install_console
from gateway.limits import BodyLimit, RateLimit, TokenBuckets
from gateway.openapi import asyncapi_page, install_openapi, operation_id
from gateway.routes import router
from gateway.routes_dashboard import router as dashboard_router
from gateway.routes_whatsapp import dev_router
from gateway.routes_whatsapp import router as whatsapp_router
from gateway.webhook import SeenSignatures
from gateway.webhook import router as webhook_router


def build(settings: Settings, bus: Bus) -> Service:
    app = FastAPI(
        title="leadflow",
        version="0.1.0",
        generate_unique_id_function=operation_id,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    install_openapi(app)
    app.state.settings = settings
    app.state.leads = RpcClient(bus, LEADS_RPC, timeout=settings.rpc_timeout_s)
    app.state.assignment = RpcClient(bus, ASSIGNMENT_RPC, timeout=settings.rpc_timeout_s)
    app.state.whatsapp = {
        name: RpcClient(bus, session_endpoint(name), timeout=settings.rpc_timeout_s)
        for name in SessionName
    }
    app.state.login_failures = TokenBuckets(
        per_minute=settings.login_rate_limit_per_minute,
        burst=max(1, settings.login_rate_limit_per_minute // 3),
    )
    app.state.webhook_signatures = SeenSignatures()
    # Access tokens ended early (logout, deactivation, role or password change).
    revocations = app.state.revocations = SessionRevocations()

    async def on_sessions_revoked(delivery: Delivery) -> None:
        event = delivery.event()
        if isinstance(event, ConsultantSessionsRevoked):
            revocations.apply(event)

    bus.consume(GATEWAY_SESSIONS, on_sessions_revoked)
    loading: list[asyncio.Task[None]] = []

    async def load_sessions() -> None:
        """After the queue is bound, so no revocation falls between the two."""
        fetch = functools.partial(app.state.leads.call, "session_state")
        loading.append(asyncio.create_task(load_until_done(revocations, fetch)))

    async def stop_loading() -> None:
        for task in loading:
            task.cancel()

    set_default_country(settings.default_country)
    install_error_handlers(app)
    # Outermost first: the body limit sees raw bytes before anything reads them.
    app.add_middleware(
        RateLimit,
        secret=settings.jwt_secret,
        per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
        login_per_minute=settings.login_rate_limit_per_minute,
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(CorrelationId)
    app.include_router(router)
    app.include_router(webhook_router)
    app.include_router(whatsapp_router)
    app.include_router(dashboard_router)
    if settings.whatsapp_transport is WhatsAppTransport.SIMULATOR:
        app.include_router(dev_router)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document(app.version)

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_html() -> HTMLResponse:
        return HTMLResponse(asyncapi_page(asyncapi_document(app.version)))

    app.include_router(ops_router("gateway", {"broker": bus.ping}))
    install_console(app, settings)
    return Service(
        name="gateway",
        app=app,
        entry_points={
            "console": "/",
            "API docs (try it: Authorize with a token)": "/docs",
            "events (AsyncAPI)": "/asyncapi",
        },
        after_bus=[load_sessions],
        on_stop=[stop_loading],
    )
