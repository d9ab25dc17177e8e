"""The walking skeleton, with every service its own process, and in embedded mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.conftest import embedded_process
from tests.system.flows import bearer, lead_is_classified_assigned_and_pushed, login_admin


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """One cluster for the flow and then the SIGTERM test, which stops it."""
    with running_cluster(module_cluster_env) as running:
        yield running


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Cluster]:
    with embedded_process(tmp_path) as running:
        yield running


async def test_a_lead_flows_through_every_service_process(cluster: Cluster) -> None:
    await lead_is_classified_assigned_and_pushed(cluster.gateway, cluster.realtime)


async def test_the_embedded_mode_runs_the_same_flow_in_one_process(embedded: Cluster) -> None:
    url = embedded.processes["embedded"][0].url
    await lead_is_classified_assigned_and_pushed(url, url)


def test_every_service_process_stops_cleanly_on_sigterm(cluster: Cluster) -> None:
    codes = {
        name: cluster.stop(replicas[0], timeout=20) for name, replicas in cluster.processes.items()
    }
    assert codes == {name: 0 for name in codes}, cluster.logs()


async def test_the_embedded_mode_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    with embedded_process(tmp_path) as first:
        url = first.processes["embedded"][0].url
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            admin = await login_admin(client)
            created = await client.post(
                "/api/leads",
                json={"name": "Rita", "phone": "+5511987650001"},
                headers=bearer(admin),
            )
            assert created.status_code == 201, created.text
            lead_id = created.json()["data"]["id"]

    with embedded_process(tmp_path) as second:  # `make run` again on the same DATA_DIR
        url = second.processes["embedded"][0].url
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            admin = await login_admin(client)
            found = await client.get(f"/api/leads/{lead_id}", headers=bearer(admin))
    assert found.status_code == 200, found.text
    assert found.json()["data"]["name"] == "Rita"
