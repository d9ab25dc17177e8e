"""Round-robin assignment as users see it, with three assignment replicas as processes."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from leadflow.service import SERVICE_NAMES
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.flows import (
    bearer,
    create_consultant,
    deactivate_every_consultant,
    eventually,
    login_admin,
    unique_phone,
)


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Every service, assignment with three replicas."""
    services = (*SERVICE_NAMES, "assignment", "assignment")
    with running_cluster(module_cluster_env, services=services) as running:
        yield running


async def consultants(client: httpx.AsyncClient, admin: str, n: int, **extra: Any) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    made = [
        await create_consultant(client, admin, f"C{i}", email=f"c{i}-{tag}@example.com", **extra)
        for i in range(n)
    ]
    return [m["id"] for m in made]


async def create_leads(client: httpx.AsyncClient, admin: str, n: int) -> list[str]:
    limit = asyncio.Semaphore(32)

    async def one(i: int) -> str:
        async with limit:
            response = await client.post(
                "/api/leads",
                json={"name": f"Lead {i}", "phone": unique_phone()},
                headers=bearer(admin),
            )
            assert response.status_code == 201, response.text
            return str(response.json()["data"]["id"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def owners_of(client: httpx.AsyncClient, admin: str, lead_ids: list[str]) -> dict[str, Any]:
    wanted, found = set(lead_ids), {}
    page = 1
    while True:
        body = (
            await client.get(
                "/api/leads", params={"page": page, "page_size": 200}, headers=bearer(admin)
            )
        ).json()
        found.update(
            {lead["id"]: lead["consultant_id"] for lead in body["data"] if lead["id"] in wanted}
        )
        if page * 200 >= body["total"]:
            return found
        page += 1


async def test_three_replicas_split_300_concurrent_leads_exactly_evenly(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_admin(client)
    await deactivate_every_consultant(client, admin)  # the pool is exactly the three below
    trio = await consultants(client, admin, 3)
    lead_ids = await create_leads(client, admin, 300)

    async def all_assigned() -> dict[str, Any] | None:
        owners = await owners_of(client, admin, lead_ids)
        return owners if len(owners) == 300 and all(owners.values()) else None

    owners = await eventually(all_assigned, timeout=90, interval=0.5)
    assert Counter(owners.values()) == {trio[0]: 100, trio[1]: 100, trio[2]: 100}

    detail = (await client.get(f"/api/leads/{lead_ids[0]}", headers=bearer(admin))).json()
    [decision] = [i for i in detail["interactions"] if i["kind"] == "assigned"]
    assert decision["changes"]["rule"] == "round_robin"
    assert sorted(decision["changes"]["eligible"]) == sorted(trio)

    async def stats_settled() -> dict[str, Any] | None:
        stats = (
            await client.get(f"/api/consultants/{trio[0]}/stats", headers=bearer(admin))
        ).json()["data"]
        return stats if stats["open"] == 100 else None

    stats = await eventually(stats_settled, timeout=30)
    assert (stats["assigned_total"], stats["won"], stats["lost"]) == (100, 0, 0)
    for consultant in trio:
        await client.patch(
            f"/api/consultants/{consultant}", json={"active": False}, headers=bearer(admin)
        )


async def test_a_deactivated_consultant_gets_nothing_and_the_assignee_is_told_on_whatsapp(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_admin(client)
    await deactivate_every_consultant(client, admin)
    phone = unique_phone()
    stays, leaves = await consultants(client, admin, 2, phone=phone)
    await client.patch(f"/api/consultants/{leaves}", json={"active": False}, headers=bearer(admin))
    lead_ids = await create_leads(client, admin, 4)

    async def assigned() -> dict[str, Any] | None:
        owners = await owners_of(client, admin, lead_ids)
        return owners if len(owners) == 4 and all(owners.values()) else None

    owners = await eventually(assigned, timeout=60, interval=0.3)
    assert set(owners.values()) == {stays}

    # The notices as WhatsApp got them (wa-consultant writes them from lead.assigned).
    async def four_sent() -> list[str] | None:
        outbox = await client.get(
            "/api/dev/whatsapp/consultant/outbox", params={"to": phone}, headers=bearer(admin)
        )
        texts = [m["text"] for m in outbox.json()["data"]]
        return texts if len(texts) >= 4 else None

    texts = await eventually(four_sent, timeout=20)
    assert len(texts) == 4 and all(t.startswith("Novo lead para você: Lead ") for t in texts)


async def test_stats_are_for_staff_or_the_consultant_themself(client: httpx.AsyncClient) -> None:
    admin = await login_admin(client)
    tag = uuid.uuid4().hex[:6]
    ana = await create_consultant(client, admin, "Ana", email=f"ana-{tag}@example.com")
    bia = await create_consultant(client, admin, "Bia", email=f"bia-{tag}@example.com")
    login = await client.post(
        "/api/auth/login", json={"email": ana["email"], "password": "password-123"}
    )
    ana_token = login.json()["access_token"]

    async def known() -> bool:
        response = await client.get(f"/api/consultants/{ana['id']}/stats", headers=bearer(admin))
        return response.status_code == 200

    await eventually(known, timeout=20)
    own = await client.get(f"/api/consultants/{ana['id']}/stats", headers=bearer(ana_token))
    other = await client.get(f"/api/consultants/{bia['id']}/stats", headers=bearer(ana_token))
    missing = await client.get("/api/consultants/nobody/stats", headers=bearer(admin))
    assert own.status_code == 200 and own.json()["data"]["assigned_total"] == 0
    assert (other.status_code, missing.status_code) == (403, 404)


@pytest.fixture
def lonely(cluster_env: dict[str, str]) -> Iterator[Cluster]:
    with running_cluster(cluster_env, services=("gateway", "leads", "ai", "assignment")) as running:
        yield running


async def test_a_lead_waits_visibly_while_nobody_is_eligible_then_goes_to_the_first_who_is(
    lonely: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=lonely.gateway, timeout=30) as client:
        admin = await login_admin(client)
        [later] = await consultants(client, admin, 1, active=False)
        [lead_id] = await create_leads(client, admin, 1)

        async def classified() -> dict[str, Any] | None:
            lead = (await client.get(f"/api/leads/{lead_id}", headers=bearer(admin))).json()
            return lead if lead["data"]["temperature"] else None

        waiting = await eventually(classified, timeout=30)
        assert waiting["data"]["consultant_id"] is None  # visible, unassigned, not lost
        await client.patch(
            f"/api/consultants/{later}", json={"active": True}, headers=bearer(admin)
        )

        async def assigned() -> str | None:
            lead = (await client.get(f"/api/leads/{lead_id}", headers=bearer(admin))).json()
            return lead["data"]["consultant_id"]

        assert await eventually(assigned, timeout=30) == later
