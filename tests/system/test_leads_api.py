"""CONTRACT.md "Leads" through real HTTP against the gateway and leads processes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid

import httpx
from leadflow.bus import Delivery, QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.testing.fixtures import TEST_WEBHOOK_SECRET
from leadflow.testing.processes import Cluster

from tests.system.flows import unique_phone
from tests.system.people import Team, new_lead


async def test_a_consultants_own_lead_is_assigned_to_them(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana, "Carla")
    assert lead["consultant_id"] == team.ana.id and lead["consultant"]["id"] == team.ana.id
    assert lead["status"] == "NEW" and lead["version"] == 1 and lead["source"] == "manual"
    assert lead["created_at"].endswith(("+00:00", "Z"))


async def test_the_same_phone_returns_the_existing_lead_with_200(
    client: httpx.AsyncClient, team: Team
) -> None:
    phone = unique_phone()
    first = await client.post(
        "/api/leads", json={"name": "Dora", "phone": phone}, headers=team.admin.auth
    )
    spaced = f"{phone[:3]} ({phone[3:5]}) {phone[5:10]}-{phone[10:]}"
    again = await client.post(
        "/api/leads", json={"name": "Dora 2", "phone": spaced}, headers=team.admin.auth
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert again.json()["data"]["name"] == "Dora"


async def test_a_retried_request_with_the_same_idempotency_key_gets_the_first_response(
    client: httpx.AsyncClient, team: Team
) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex, **team.admin.auth}
    body = {"name": "Edu", "phone": unique_phone()}
    responses = await asyncio.gather(
        *(client.post("/api/leads", json=body, headers=key) for _ in range(3))
    )
    ids = {r.json()["data"]["id"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.status_code for r in responses)[-1] == 201
    replay = await client.post("/api/leads", json=body, headers=key)
    assert (replay.status_code, replay.json()["data"]["id"]) == (201, ids.pop())


async def test_patch_needs_the_current_version_and_records_who_changed_what(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana, "Fabi")
    url = f"/api/leads/{lead['id']}"
    ok = await client.patch(
        url, json={"status": "CONTACTED", "notes": "called", "version": 1}, headers=team.ana.auth
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["data"]["status"], ok.json()["data"]["version"]) == ("CONTACTED", 2)

    stale = await client.patch(url, json={"status": "WON", "version": 1}, headers=team.ana.auth)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["details"]["version"] == 2
    assert stale.json()["error"]["details"]["status"] == "CONTACTED"

    detail = (await client.get(url, headers=team.ana.auth)).json()
    update = next(i for i in detail["interactions"] if i["kind"] == "updated")
    assert update["actor_id"] == team.ana.id
    assert update["changes"] == {
        "status": {"before": "NEW", "after": "CONTACTED"},
        "notes": {"before": None, "after": "called"},
    }


async def test_status_must_be_a_kanban_column_and_nothing_changes_otherwise(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana)
    url = f"/api/leads/{lead['id']}"
    bad = await client.patch(url, json={"status": "DONE", "version": 1}, headers=team.ana.auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    after = (await client.get(url, headers=team.ana.auth)).json()["data"]
    assert (after["status"], after["version"]) == ("NEW", 1)


async def test_a_manager_reassigns_a_lead_and_it_is_recorded(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana)
    response = await client.post(
        f"/api/leads/{lead['id']}/assign",
        json={"consultant_id": team.bia.id},
        headers=team.manager.auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["consultant_id"] == team.bia.id
    detail = (await client.get(f"/api/leads/{lead['id']}", headers=team.bia.auth)).json()
    manual = [i for i in detail["interactions"] if i["kind"] == "assigned"]
    assert manual[0]["changes"]["rule"] == "manual" and manual[0]["actor_id"] == team.manager.id
    gone = await client.get(f"/api/leads/{lead['id']}", headers=team.ana.auth)
    assert gone.status_code == 404


async def test_listing_filters_searches_pages_and_sorts(
    client: httpx.AsyncClient, team: Team
) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [await new_lead(client, team.bia, f"Zeca {tag} {i}") for i in range(5)]
    page = await client.get(
        "/api/leads", params={"q": tag, "page_size": 2, "page": 2}, headers=team.admin.auth
    )
    body = page.json()
    assert (body["total"], body["page"], body["page_size"]) == (5, 2, 2)
    newest_first = [lead["id"] for lead in reversed(made)]
    assert [lead["id"] for lead in body["data"]] == newest_first[2:4]
    oldest = await client.get(
        "/api/leads", params={"q": tag, "sort": "created_at"}, headers=team.admin.auth
    )
    assert [lead["id"] for lead in oldest.json()["data"]] == [lead["id"] for lead in made]
    by_phone = await client.get(
        "/api/leads", params={"q": made[0]["phone"][4:]}, headers=team.admin.auth
    )
    assert [lead["id"] for lead in by_phone.json()["data"]] == [made[0]["id"]]
    filtered = await client.get(
        "/api/leads",
        params={"q": tag, "consultant_id": team.bia.id, "status": "NEW"},
        headers=team.admin.auth,
    )
    assert filtered.json()["total"] == 5
    too_big = await client.get("/api/leads", params={"page_size": 201}, headers=team.admin.auth)
    assert too_big.status_code == 400


def signed(body: bytes, secret: str = TEST_WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={digest}", "Content-Type": "application/json"}


async def test_a_signed_webhook_creates_a_lead_with_source_webhook(
    client: httpx.AsyncClient, team: Team
) -> None:
    phone = unique_phone()
    raw = json.dumps({"name": "Gabi", "phone": phone, "email": "Gabi@Example.com"}).encode()
    response = await client.post("/api/webhooks/leads", content=raw, headers=signed(raw))
    assert response.status_code == 202, response.text
    lead_id = response.json()["data"]["id"]
    lead = (await client.get(f"/api/leads/{lead_id}", headers=team.admin.auth)).json()["data"]
    assert (lead["source"], lead["phone"], lead["email"]) == ("webhook", phone, "gabi@example.com")


async def test_a_webhook_with_a_bad_or_missing_signature_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, team: Team
) -> None:
    phone = unique_phone()
    raw = json.dumps({"name": "Hugo", "phone": phone}).encode()
    forged = await client.post(
        "/api/webhooks/leads", content=raw, headers=signed(raw, "wrong-secret")
    )
    missing = await client.post(
        "/api/webhooks/leads", content=raw, headers={"Content-Type": "application/json"}
    )
    tampered = raw.replace(b"Hugo", b"Hugh")
    altered = await client.post("/api/webhooks/leads", content=tampered, headers=signed(raw))
    assert [r.status_code for r in (forged, missing, altered)] == [401, 401, 401]
    found = await client.get("/api/leads", params={"q": phone[3:]}, headers=team.admin.auth)
    assert found.json()["total"] == 0


async def test_a_requests_correlation_id_follows_its_work_onto_the_broker(
    client: httpx.AsyncClient, team: Team, cluster: Cluster
) -> None:
    bus = RabbitBus(cluster.env["RABBITMQ_URL"], namespace=cluster.env["BROKER_NAMESPACE"])
    seen: list[Delivery] = []

    async def record(delivery: Delivery) -> None:
        seen.append(delivery)

    bus.consume(QueueSpec("test-observer", bindings=("lead.created",), per_replica=True), record)
    await bus.start()
    try:
        response = await client.post(
            "/api/leads",
            json={"name": "Trace", "phone": unique_phone()},
            headers={**team.admin.auth, "X-Correlation-ID": "trace-42"},
        )
        assert response.headers["X-Correlation-ID"] == "trace-42"
        lead_id = response.json()["data"]["id"]
        for _ in range(200):
            mine = [d for d in seen if d.event().lead.id == lead_id]  # type: ignore[attr-defined]
            if mine:
                break
            await asyncio.sleep(0.05)
        assert [(d.correlation_id, d.event().correlation_id) for d in mine] == [
            ("trace-42", "trace-42")
        ]
    finally:
        await bus.stop()
    fresh = await client.get("/api/leads", headers=team.admin.auth)
    assert len(fresh.headers["X-Correlation-ID"]) == 32  # made up when the caller sent none
