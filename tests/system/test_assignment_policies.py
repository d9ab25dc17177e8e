"""The assignment policies beyond plain round-robin, each in a cluster of its own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.conftest import embedded_process
from tests.system.flows import (
    bearer,
    eventually,
    login,
    login_admin,
    next_frame,
    open_socket,
)
from tests.system.test_assignment import consultants, create_leads, owners_of

SERVICES = ("gateway", "leads", "ai", "assignment", "realtime")


@pytest.fixture(params=["processes", "embedded"])
def capacity_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The capacity policy across processes, and in one process (embedded mode)."""
    if request.param == "embedded":
        with embedded_process(tmp_path, ASSIGNMENT_POLICY="capacity") as embedded:
            yield embedded.processes["embedded"][0].url
        return
    env = request.getfixturevalue("cluster_env") | {"ASSIGNMENT_POLICY": "capacity"}
    with running_cluster(env, SERVICES) as cluster:
        yield cluster.gateway


@pytest.fixture
def presence_cluster(cluster_env: dict[str, str]) -> Iterator[Cluster]:
    env = cluster_env | {"ASSIGNMENT_SKIP_OFFLINE": "true"}
    with running_cluster(env, SERVICES) as cluster:
        yield cluster


@pytest.fixture
def sla_cluster(cluster_env: dict[str, str]) -> Iterator[Cluster]:
    # 1.2 s: the sweep runs every 0.5 s, so a reassignment is due within ~2 s.
    with running_cluster(cluster_env | {"ASSIGNMENT_SLA_MINUTES": "0.02"}, SERVICES) as cluster:
        yield cluster


async def all_assigned(
    client: httpx.AsyncClient, admin: str, lead_ids: list[str], timeout: float = 60
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        owners = await owners_of(client, admin, lead_ids)
        return owners if len(owners) == len(lead_ids) and all(owners.values()) else None

    result: dict[str, Any] = await eventually(check, timeout=timeout, interval=0.3)
    return result


async def emails_of(client: httpx.AsyncClient, admin: str) -> dict[str, str]:
    consultants = (await client.get("/api/consultants", headers=bearer(admin))).json()["data"]
    return {c["id"]: c["email"] for c in consultants}


async def owner(client: httpx.AsyncClient, admin: str, lead_id: str) -> str | None:
    lead = (await client.get(f"/api/leads/{lead_id}", headers=bearer(admin))).json()["data"]
    return lead["consultant_id"]  # type: ignore[no-any-return]


async def test_capacity_skips_full_consultants_and_a_freed_place_takes_the_waiting_lead(
    capacity_gateway: str,
) -> None:
    async with httpx.AsyncClient(base_url=capacity_gateway, timeout=30) as client:
        admin = await login_admin(client)
        [two, unlimited, one] = await consultants(client, admin, 3)
        for consultant, limit in ((two, 2), (one, 1)):
            response = await client.patch(
                f"/api/consultants/{consultant}",
                json={"max_open_leads": limit},
                headers=bearer(admin),
            )
            assert response.json()["data"]["max_open_leads"] == limit
        owners = await all_assigned(client, admin, await create_leads(client, admin, 9))
        assert Counter(owners.values()) == {two: 2, one: 1, unlimited: 6}

        # Now everyone is full: the next lead waits, visibly unassigned...
        await client.patch(
            f"/api/consultants/{unlimited}", json={"max_open_leads": 6}, headers=bearer(admin)
        )
        [waiting] = await create_leads(client, admin, 1)

        async def classified() -> bool:
            lead = (await client.get(f"/api/leads/{waiting}", headers=bearer(admin))).json()
            return lead["data"]["temperature"] is not None

        await eventually(classified, timeout=30)
        # ...until one of `one`'s leads is won, which frees the only place there is.
        [won] = [lead for lead, consultant in owners.items() if consultant == one]
        lead = (await client.get(f"/api/leads/{won}", headers=bearer(admin))).json()["data"]
        response = await client.patch(
            f"/api/leads/{won}",
            json={"status": "WON", "version": lead["version"]},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        assert await eventually(lambda: owner(client, admin, waiting), timeout=30) == one
        stats = (await client.get(f"/api/consultants/{one}/stats", headers=bearer(admin))).json()
        assert (stats["data"]["open"], stats["data"]["won"]) == (1, 1)


async def test_skip_offline_gives_leads_to_whoever_is_connected(
    presence_cluster: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=presence_cluster.gateway, timeout=30) as client:
        admin = await login_admin(client)
        team = await consultants(client, admin, 3)
        emails = await emails_of(client, admin)
        online = team[1]
        token = await login(client, emails[online], "password-123")
        socket = await open_socket(presence_cluster.realtime, token)
        try:
            # Presence travels realtime -> broker -> assignment: wait until it has arrived,
            # then every lead goes to the one consultant online.
            async def arrived() -> bool:
                [lead] = await create_leads(client, admin, 1)
                owners = await all_assigned(client, admin, [lead])
                return owners[lead] == online

            await eventually(arrived, timeout=30)
            owners = await all_assigned(client, admin, await create_leads(client, admin, 6))
            assert set(owners.values()) == {online}
        finally:
            await socket.close()

        # Nobody online: everyone active takes leads again, in rotation.
        async def rotation_again() -> bool:
            owners = await all_assigned(client, admin, await create_leads(client, admin, 3))
            return set(owners.values()) == set(team)

        await eventually(rotation_again, timeout=30)


async def test_a_lead_left_new_past_the_sla_goes_to_the_next_consultant_and_both_are_told(
    sla_cluster: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=sla_cluster.gateway, timeout=30) as client:
        admin = await login_admin(client)
        pair = await consultants(client, admin, 2)
        emails = await emails_of(client, admin)
        sockets = {
            c: await open_socket(
                sla_cluster.realtime, await login(client, emails[c], "password-123")
            )
            for c in pair
        }
        try:
            [idle, worked] = await create_leads(client, admin, 2)
            owners = await all_assigned(client, admin, [idle, worked])
            # The worked lead leaves NEW at once; the idle one is left alone.
            lead = (await client.get(f"/api/leads/{worked}", headers=bearer(admin))).json()
            await client.patch(
                f"/api/leads/{worked}",
                json={"status": "CONTACTED", "version": lead["data"]["version"]},
                headers=bearer(admin),
            )
            first = owners[idle]
            [second] = [c for c in pair if c != first]
            lost = await next_frame(
                sockets[first],
                lambda f: (
                    f["event"] == "notification"
                    and f["data"]["type"] == "lead_reassigned"
                    and f["data"]["lead_id"] == idle
                ),
                timeout=30,
            )
            assert lost["data"]["consultant_id"] == second
            gained = await next_frame(
                sockets[second],
                lambda f: (
                    f["event"] == "notification"
                    and f["data"]["type"] == "lead_assigned"
                    and f["data"]["lead"]["id"] == idle
                ),
                timeout=30,
            )
            assert gained["data"]["lead"]["consultant_id"] == second
            detail = (await client.get(f"/api/leads/{idle}", headers=bearer(admin))).json()
            rules = [
                i["changes"]["rule"] for i in detail["interactions"] if i["kind"] == "assigned"
            ]
            assert "sla" in rules
            # The sweep that moved the idle lead passed over the worked one.
            assert await owner(client, admin, worked) == owners[worked]
        finally:
            for socket in sockets.values():
                await socket.close()
