"""The consultants' WhatsApp inbox through the simulator, every service its own process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.testing.services import delete_namespace
from leadflow.whatsapp import phone_jid as jid

from tests.system.flows import bearer, eventually, unique_phone
from tests.system.people import Team, make_team, new_lead


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    env = {**module_cluster_env, "BROKER_NAMESPACE": module_cluster_env["BROKER_NAMESPACE"] + "wa."}
    try:
        with running_cluster(env) as running:
            yield running
    finally:  # the module's own namespace: left behind, quorum queues pile up on the broker
        asyncio.run(delete_namespace(env["RABBITMQ_URL"], env["BROKER_NAMESPACE"]))


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as http:
        yield http


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Team:
    return await make_team(client)


async def inbound(client: httpx.AsyncClient, phone: str, text: str, **extra: Any) -> None:
    response = await client.post(
        "/api/dev/whatsapp/consultant/inbound", json={"from": phone, "text": text, **extra}
    )
    assert response.status_code == 202, response.text


async def chat_of(client: httpx.AsyncClient, token: str, phone: str) -> dict[str, Any] | None:
    chats = (await client.get("/api/chats", headers=bearer(token))).json()["data"]
    return next((c for c in chats if c["phone"] == phone), None)


async def test_a_consultant_reads_and_answers_a_chat_of_their_lead(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana, "Cliente Ana")
    phone = lead["phone"]
    await inbound(client, phone, "Olá, ainda tem o apartamento?", push_name="Cliente")

    async def unread_chat() -> dict[str, Any] | None:
        chat = await chat_of(client, team.ana.token, phone)
        return chat if chat and chat["unread_count"] == 1 and chat["lead_id"] else None

    chat = await eventually(unread_chat, timeout=15)
    assert (chat["id"], chat["lead_id"], chat["last_message"]) == (
        jid(phone),
        lead["id"],
        "Olá, ainda tem o apartamento?",
    )
    assert await chat_of(client, team.bia.token, phone) is None  # not Bia's lead
    assert await chat_of(client, team.admin.token, phone) is not None

    sent = await client.post(
        f"/api/chats/{jid(phone)}/messages", json={"text": "Tem sim!"}, headers=team.ana.auth
    )
    assert sent.status_code == 202 and sent.json()["data"]["status"] == "pending"
    message_id = sent.json()["data"]["id"]

    async def delivered() -> list[dict[str, Any]] | None:
        messages = (
            await client.get(f"/api/chats/{jid(phone)}/messages", headers=team.ana.auth)
        ).json()["data"]
        ours = [m for m in messages if m["id"] == message_id]
        return messages if ours and ours[0]["status"] == "delivered" else None

    messages = await eventually(delivered, timeout=15)
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "Olá, ainda tem o apartamento?"),
        ("out", "Tem sim!"),
    ]
    outbox = (await client.get("/api/dev/whatsapp/consultant/outbox", params={"to": phone})).json()[
        "data"
    ]
    assert [m["text"] for m in outbox] == ["Tem sim!"]

    read = await client.post(f"/api/chats/{jid(phone)}/read", headers=team.ana.auth)
    assert read.status_code == 204
    assert (await chat_of(client, team.ana.token, phone))["unread_count"] == 0  # type: ignore[index]
    foreign = await client.get(f"/api/chats/{jid(phone)}/messages", headers=team.bia.auth)
    assert foreign.status_code == 404


async def test_a_redelivered_whatsapp_message_is_stored_once_and_order_follows_whatsapp_time(
    client: httpx.AsyncClient, team: Team
) -> None:
    phone = unique_phone()
    first_id = f"WA{uuid.uuid4().hex[:10]}"
    await inbound(
        client,
        phone,
        "segunda",
        id=f"WA{uuid.uuid4().hex[:10]}",
        timestamp="2026-11-24T12:00:05+00:00",
    )
    await inbound(client, phone, "primeira", id=first_id, timestamp="2026-11-24T12:00:01+00:00")
    await inbound(client, phone, "primeira", id=first_id, timestamp="2026-11-24T12:00:01+00:00")

    async def both() -> list[dict[str, Any]] | None:
        messages = (
            await client.get(f"/api/chats/{jid(phone)}/messages", headers=team.admin.auth)
        ).json()["data"]
        return messages if len(messages) >= 2 else None

    messages = await eventually(both, timeout=15)
    assert [m["text"] for m in messages] == ["primeira", "segunda"]
    assert (await chat_of(client, team.admin.token, phone))["last_message"] == "segunda"  # type: ignore[index]


async def test_the_session_list_shows_both_sessions_to_staff_only(
    client: httpx.AsyncClient, team: Team
) -> None:
    listing = await client.get("/api/whatsapp/sessions", headers=team.manager.auth)
    assert {s["name"]: s["status"] for s in listing.json()["data"]} == {
        "consultant": "connected",
        "livia": "connected",
    }
    assert (await client.get("/api/whatsapp/sessions", headers=team.ana.auth)).status_code == 403
    qr = await client.get("/api/whatsapp/sessions/livia/qr", headers=team.admin.auth)
    assert qr.status_code == 404  # connected: nothing to pair


async def test_one_session_going_down_leaves_the_other_working(
    client: httpx.AsyncClient, team: Team, cluster: Cluster
) -> None:
    [livia] = cluster.processes["wa-livia"]
    assert cluster.stop(livia) == 0
    phone = unique_phone()
    await inbound(client, phone, "ainda funciona?")
    assert await eventually(lambda: chat_of(client, team.admin.token, phone), timeout=15)
    listing = (await client.get("/api/whatsapp/sessions", headers=team.admin.auth)).json()
    assert {s["name"]: s["status"] for s in listing["data"]} == {
        "consultant": "connected",
        "livia": "disconnected",
    }
