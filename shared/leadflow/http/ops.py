"""`/healthz` (the process is alive), `/readyz` (its dependencies answer), `/metrics`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[bool]]


def ops_router(service: str, checks: dict[str, ReadyCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), 3.0))
            except Exception:
                log.warning("readiness check %s failed", name, exc_info=True)
                results[name] = False
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unready", "service": service, "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "time from a request's arrival to its response's first byte, by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """`/api/leads/{lead_id}`, never the raw path: one series per route, not per lead.

    A request answered before routing (rate limit, body limit) is matched here against
    the app's routes, so a 429 still counts against the route it was aimed at.
    """
    route = scope.get("route")
    if isinstance(path := getattr(route, "path", None), str):
        return path
    routes = getattr(scope.get("app"), "routes", ())
    return _matching_template(routes, scope) or UNMATCHED


def _matching_template(routes: Iterable[Any], scope: Scope) -> str | None:
    for candidate in routes:
        # FastAPI keeps an included router as one candidate that expands on demand.
        expand = getattr(candidate, "effective_candidates", None)
        if callable(expand):
            if found := _matching_template(expand(), scope):
                return found
        elif (
            isinstance(path := getattr(candidate, "path", None), str)
            and candidate.matches(scope)[0] is Match.FULL
        ):
            return path
    return None


class HttpMetrics:
    """Count every HTTP request and time it to its first byte, per route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        def observe(status: int) -> None:
            labels = (scope["method"], route_template(scope), str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)

        async def observing_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        except BaseException:
            if not answered:  # the server answers 500 for an app that died before answering
                observe(500)
            raise
