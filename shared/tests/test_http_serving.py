"""What a process serving HTTP reports: per-route metrics, and refused sockets in one line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from leadflow.bus import InMemoryBus
from leadflow.cli import build_service
from leadflow.service import path_router, run_services
from leadflow.settings import Settings
from leadflow.testing.processes import free_port
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus


@dataclass
class Served:
    url: str


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """Gateway and realtime on one port, as `make run` serves them (no backing services)."""
    settings = Settings(_env_file=None)
    bus = InMemoryBus()
    gateway, realtime = (build_service(name, settings, bus) for name in ("gateway", "realtime"))
    app = path_router([(p, realtime.app) for p in realtime.public_prefixes], gateway.app)
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_services([gateway, realtime], bus, app, host="127.0.0.1", port=port, stop=stop)
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=5) as http, asyncio.timeout(20):
        while True:
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    yield Served(url)
    stop.set()
    await asyncio.wait_for(task, 30)


async def request_count(http: httpx.AsyncClient, route: str, status: str) -> tuple[float, float]:
    """(requests counted, latencies observed) for one route template and status."""
    text = (await http.get("/metrics")).text
    counted = observed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("route") != route or sample.labels.get("status") != status:
                continue
            if sample.name == "http_requests_total":
                counted += sample.value
            elif sample.name == "http_request_duration_seconds_count":
                observed += sample.value
    return counted, observed


async def test_metrics_count_requests_per_route_template_and_status(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
        before = await request_count(http, "/api/leads/{lead_id}", "401")
        too_large_before = await request_count(http, "/api/leads", "413")
        for lead_id in ("a", "b", "c"):
            assert (await http.get(f"/api/leads/{lead_id}")).status_code == 401
        # Refused before routing (body limit): still counted against the route it aimed at.
        huge = await http.post("/api/leads", content=b"x" * (2 * 1024 * 1024))
        assert huge.status_code == 413
        after = await request_count(http, "/api/leads/{lead_id}", "401")
        too_large_after = await request_count(http, "/api/leads", "413")
        text = (await http.get("/metrics")).text
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)
    assert too_large_after[0] - too_large_before[0] == 1
    assert 'route="/api/leads/a"' not in text  # one series per route, never per id


async def test_a_socket_refused_for_a_bad_token_is_one_info_line_without_the_token(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # LOG_LEVEL's default
    ws_url = served.url.replace("http", "ws", 1) + "/ws?token=not-a-real-token"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url):
            pass
    assert refused.value.response.status_code == 401
    await asyncio.sleep(0)  # let the server finish with the connection
    lines = [r for r in caplog.records if "websocket" in r.getMessage().lower()]
    assert [(r.levelno, r.getMessage()) for r in lines] == [
        (logging.INFO, "websocket refused: invalid, expired or revoked token")
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all("not-a-real-token" not in r.getMessage() for r in caplog.records)
    assert all(r.exc_info is None for r in caplog.records)
