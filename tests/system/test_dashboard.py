"""GET /api/dashboard: the numbers a manager reads, and a consultant sees only their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster

from tests.system import flows
from tests.system.flows import bearer, login_admin


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """The owners of the dashboard's figures: leads, assignment (per consultant; by
    capacity, so a lead can stay unassigned) and wa-livia (her conversations)."""
    env = {**module_cluster_env, "ASSIGNMENT_POLICY": "capacity"}
    services = ("gateway", "leads", "assignment", "wa-livia")
    with running_cluster(env, services=services) as running:
        yield running


async def figures(client: httpx.AsyncClient, token: str, since: str) -> dict[str, Any]:
    response = await client.get("/api/dashboard", params={"since": since}, headers=bearer(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def per_consultant(data: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {row["name"]: (row["assigned"], row["open"], row["won"]) for row in data["consultants"]}


async def test_the_dashboard_counts_the_funnel_consultants_and_first_contact(
    cluster: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        admin = await login_admin(client)
        suffix = flows.unique_phone()[-6:]
        # Room for one open lead each: with Ana's two and Bia's one, the admin's lead waits.
        ana, bia = [
            await flows.create_consultant(
                client, admin, name, email=f"{name.lower()}{suffix}@example.com", max_open_leads=1
            )
            for name in ("Ana", "Bia")
        ]
        ana_token = await flows.login(client, ana["email"], "password-123")
        bia_token = await flows.login(client, bia["email"], "password-123")
        since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

        # Ana creates two leads (hers) and works one; Bia creates one; the admin one, which
        # nobody has room for.
        leads = []
        for token, name in ((ana_token, "Lead A1"), (ana_token, "Lead A2"), (bia_token, "Lead B1")):
            response = await client.post(
                "/api/leads",
                json={"name": name, "phone": flows.unique_phone()},
                headers=bearer(token),
            )
            assert response.status_code == 201, response.text
            leads.append(response.json()["data"])

        async def counted() -> bool:  # assignment's projection has every consultant's leads
            found = per_consultant(await figures(client, admin, since))
            return found == {"Ana": (2, 2, 0), "Bia": (1, 1, 0)}

        assert await flows.eventually(counted, timeout=15)
        unassigned = await client.post(
            "/api/leads",
            json={"name": "Lead X", "phone": flows.unique_phone()},
            headers=bearer(admin),
        )
        assert unassigned.status_code == 201
        first = leads[0]
        for status, version in (("CONTACTED", first["version"]), ("WON", first["version"] + 1)):
            moved = await client.patch(
                f"/api/leads/{first['id']}",
                json={"status": status, "version": version},
                headers=bearer(ana_token),
            )
            assert moved.status_code == 200, moved.text

        async def worked() -> dict[str, Any] | None:
            data = await figures(client, admin, since)
            return data if per_consultant(data) == {"Ana": (2, 1, 1), "Bia": (1, 1, 0)} else None

        data = await flows.eventually(worked, timeout=15)
        assert data["scope"] == "all" and data["total"] == 4
        assert data["by_status"] == {
            "NEW": 3, "QUALIFYING": 0, "QUALIFIED": 0, "CONTACTED": 0, "PROPOSAL": 0,
            "WON": 1, "LOST": 0,
        }  # fmt: skip
        assert data["by_temperature"]["unclassified"] == 4  # no ai service in this module
        assert data["unassigned"] == 1
        contact = data["first_contact"]
        assert contact["contacted"] == 1 and contact["waiting"] == 3
        assert 0 <= contact["median_seconds"] < 60
        assert data["livia"] == {"conversations": 0, "completed": 0, "completion_rate": None}

        mine = await figures(client, bia_token, since)
        assert mine["scope"] == "own" and mine["total"] == 1
        assert per_consultant(mine) == {"Bia": (1, 1, 0)}
        assert mine["by_status"]["NEW"] == 1 and mine["by_status"]["WON"] == 0
        assert mine["first_contact"]["contacted"] == 0 and mine["unassigned"] == 0


async def test_the_dashboard_needs_a_login_and_a_valid_since(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        assert (await client.get("/api/dashboard")).status_code == 401
        admin = await login_admin(client)
        bad = await client.get(
            "/api/dashboard", params={"since": "yesterday"}, headers=bearer(admin)
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "validation_error"


async def test_without_livias_service_the_dashboard_answers_the_rest(cluster: Cluster) -> None:
    [livia] = cluster.processes["wa-livia"]
    assert cluster.stop(livia) == 0  # this module's last test: nothing after needs her
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        admin = await login_admin(client)
        response = await client.get("/api/dashboard", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["livia_unavailable"] is True and body["data"]["livia"] is None
    assert body["data"]["scope"] == "all" and body["data"]["total"] >= 4
