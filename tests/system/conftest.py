from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadflow.testing.fixtures import TEST_ADMIN, TEST_JWT_SECRET
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.people import Team, make_team


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Gateway and leads as processes, shared by a module's tests (each uses its own data).
    A module that needs other services defines its own `cluster`."""
    with running_cluster(module_cluster_env, services=("gateway", "leads")) as running:
        yield running


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    """The frontend's view: HTTP to the module's gateway."""
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as http:
        yield http


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Team:
    return await make_team(client)


@contextlib.contextmanager
def embedded_process(tmp_path: Path, **extra: str) -> Iterator[Cluster]:
    """`leadflow embedded` (what `make run` starts): one process, its embedded PostgreSQL
    server under DATA_DIR/pg, no other servers."""
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "WHATSAPP_SESSION_DIR": str(tmp_path / "data" / "whatsapp"),
        "JWT_SECRET": TEST_JWT_SECRET,
        "ADMIN_EMAIL": TEST_ADMIN[0],
        "ADMIN_PASSWORD": TEST_ADMIN[1],
        "LIVIA_TYPING_DELAY_MS": "0",
        "DATABASE_URL": "",
        "RABBITMQ_URL": "",
        "BROKER_NAMESPACE": "",
        **extra,
    }
    command = [sys.executable, "-m", "leadflow", "embedded"]
    # A fresh DATA_DIR: the start includes initialising the PostgreSQL cluster (initdb),
    # seconds on an idle machine, far more on a busy one.
    with running_cluster(env, ("embedded",), {"embedded": command}, ready_timeout=180) as cluster:
        yield cluster


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing browser test leaves a screenshot of its page (taken here, before any
    fixture cleans up), and the report says where."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    driver = funcargs.get("own_browser") or funcargs.get("driver")
    if report.when == "call" and report.failed and driver is not None:
        from tests.system.browser import save_screenshot

        path = save_screenshot(driver, item.name)
        report.sections.append(("screenshot", f"the failing page: {path}"))
    return report
