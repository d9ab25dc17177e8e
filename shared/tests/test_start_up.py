"""Start-up says where to go and, on the first start only, who the admin is; migrations
keep to the debug level."""

from __future__ import annotations

import logging

import pytest
from leadflow.bus import InMemoryBus
from leadflow.cli import build_service
from leadflow.service import path_router
from leadflow.settings import DEV_ADMIN_PASSWORD, Settings
from leadflow.testing.processes import serving_in_process


async def start_and_stop(database_url: str) -> int:
    """Gateway, realtime and leads on one port, as `make run` serves them; the port."""
    settings = Settings(_env_file=None, DATABASE_URL=database_url, ADMIN_EMAIL="boss@test.local")
    bus = InMemoryBus()
    services = [build_service(name, settings, bus) for name in ("gateway", "realtime", "leads")]
    routes = [(prefix, services[1].app) for prefix in services[1].public_prefixes]
    app = path_router(routes, services[0].app)
    async with serving_in_process(services, bus, app, host="0.0.0.0") as url:
        port = int(url.rsplit(":", 1)[1])
    return port


async def test_start_up_names_the_urls_and_the_first_admin_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = await start_and_stop(database_url)
    first = [r.getMessage() for r in caplog.records]
    assert f"console: http://127.0.0.1:{port}/" in first
    assert any(m.endswith(f"http://127.0.0.1:{port}/docs") for m in first)
    assert f"realtime WebSocket: ws://127.0.0.1:{port}/ws" in first
    admin_lines = [m for m in first if m.startswith("first start: created the admin")]
    assert admin_lines == [
        "first start: created the admin boss@test.local (password: the development "
        f"default {DEV_ADMIN_PASSWORD!r}; set ADMIN_PASSWORD)"
    ]
    assert not [r for r in caplog.records if r.name.startswith("alembic")]

    caplog.clear()
    await start_and_stop(database_url)
    again = [r.getMessage() for r in caplog.records]
    assert not [m for m in again if m.startswith("first start")]
    assert any(m.startswith("console: ") for m in again)


async def test_migrations_are_still_there_at_the_debug_level(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await start_and_stop(database_url)
    upgrades = [r for r in caplog.records if r.name == "alembic.runtime.migration"]
    assert upgrades and all(r.levelno == logging.DEBUG for r in upgrades)
    assert any("Running upgrade" in r.getMessage() for r in upgrades)
