"""The consultants' WhatsApp inbox through the simulator, every service its own process."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.whatsapp import phone_jid as jid

from tests.system.flows import (
    bearer,
    eventually,
    login_admin,
    next_frame,
    open_socket,
    unique_phone,
)
from tests.system.people import Team, make_team, new_lead


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    with running_cluster(module_cluster_env) as running:
        yield running


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as http:
        # The simulator's endpoints answer admins only; other calls name their caller.
        http.headers.update(bearer(await login_admin(http)))
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


async def test_a_chat_shows_in_the_list_only_once_its_history_has_the_message(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.ana, "Marina Lopes")
    phone = lead["phone"]
    for n in range(3):
        text = f"mensagem {n}"
        await inbound(client, phone, text, push_name="Ma")

        async def listed(text: str = text) -> dict[str, Any] | None:
            chat = await chat_of(client, team.ana.token, phone)
            return chat if chat and chat["last_message"] == text else None

        chat = await eventually(listed, timeout=15)
        history = (
            await client.get(f"/api/chats/{jid(phone)}/messages", headers=team.ana.auth)
        ).json()["data"]
        assert history[-1]["text"] == text  # read right after the list showed it
    assert chat["name"] == "Marina Lopes"  # the lead's name, not the WhatsApp one


async def test_a_chat_holding_only_an_outgoing_message_has_its_time_and_the_list_is_newest_first(
    client: httpx.AsyncClient, team: Team
) -> None:
    older = await new_lead(client, team.ana, "Primeiro")
    newer = await new_lead(client, team.ana, "Segundo")
    await inbound(client, older["phone"], "oi")
    assert await eventually(lambda: chat_of(client, team.ana.token, older["phone"]), timeout=15)
    sent = await client.post(
        f"/api/chats/{jid(newer['phone'])}/messages", json={"text": "Olá!"}, headers=team.ana.auth
    )
    assert sent.status_code == 202
    chats = (await client.get("/api/chats", headers=team.ana.auth)).json()["data"]
    mine = [c["name"] for c in chats if c["phone"] in (older["phone"], newer["phone"])]
    assert mine == ["Segundo", "Primeiro"]
    assert all(c["timestamp"] for c in chats)


async def chat_frames(socket: Any, sentinel: str) -> list[dict[str, Any]]:
    """The whatsapp frames a socket receives up to the one carrying `sentinel`."""
    seen: list[dict[str, Any]] = []

    def upto(frame: dict[str, Any]) -> bool:
        if frame["event"].startswith("whatsapp:message"):
            seen.append(frame)
        return bool(frame["data"].get("text") == sentinel)

    await next_frame(socket, upto, timeout=15)
    return seen


async def sse_chat_frames(
    url: str, token: str, rooms: str, sentinel: str, attached: asyncio.Event
) -> list[str]:
    """The data lines of an SSE stream on `rooms`, up to the one carrying `sentinel`."""
    lines: list[str] = []
    async with (
        httpx.AsyncClient(timeout=20) as http,
        http.stream(
            "GET", f"{url}/api/events", params={"rooms": rooms}, headers=bearer(token)
        ) as response,
    ):
        assert response.status_code == 200
        attached.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                lines.append(line)
                if sentinel in line:
                    return lines
    return lines


async def test_a_colleague_cannot_read_or_write_a_consultants_notice_chat(
    client: httpx.AsyncClient, team: Team, cluster: Cluster
) -> None:
    """Issue 14: Ana creates a lead whose phone is Bia's own phone, where Bia's notices
    ("Novo lead para você: …") arrive. Nothing of them reaches Ana, by any road."""
    bias_phone = unique_phone()
    patched = await client.patch(
        f"/api/consultants/{team.bia.id}", json={"phone": bias_phone}, headers=team.admin.auth
    )
    assert patched.status_code == 200, patched.text
    trap = await new_lead(client, team.ana, "Falsa Bia", phone=bias_phone)
    bia_jid = jid(bias_phone)
    own = await new_lead(client, team.ana, "Cliente da Ana")

    socket = await open_socket(cluster.realtime, team.ana.token, f"chat:{bia_jid}")
    await socket.send(json.dumps({"action": "join_room", "room": f"chat:{jid(own['phone'])}"}))
    attached = asyncio.Event()
    sentinel = f"fim {uuid.uuid4().hex[:6]}"
    sse = asyncio.create_task(
        sse_chat_frames(
            cluster.realtime,
            team.ana.token,
            f"chat:{bia_jid},chat:{jid(own['phone'])}",
            sentinel,
            attached,
        )
    )
    await asyncio.wait_for(attached.wait(), 15)
    try:
        secret = await new_lead(
            client, team.admin, "Lead Secreto", metadata={"monthly_income": 15000}
        )
        assigned = await client.post(
            f"/api/leads/{secret['id']}/assign",
            json={"consultant_id": team.bia.id},
            headers=team.admin.auth,
        )
        assert assigned.status_code == 200, assigned.text

        async def notice_sent() -> list[dict[str, Any]]:
            outbox = await client.get(
                "/api/dev/whatsapp/consultant/outbox", params={"to": bias_phone}
            )
            return [m for m in outbox.json()["data"] if "Lead Secreto" in m["text"]]

        assert await eventually(notice_sent, timeout=15)
        await inbound(client, bias_phone, "ok, já ligo para o Lead Secreto")
        await inbound(client, own["phone"], sentinel)  # after everything above, in order
        frames = await chat_frames(socket, sentinel)
        sse_lines = await asyncio.wait_for(sse, 20)
    finally:
        sse.cancel()
        await socket.close()

    assert [f for f in frames if f["data"].get("chat_jid") == bia_jid] == []
    assert [line for line in sse_lines if bia_jid in line or "Novo lead" in line] == []
    chats = (await client.get("/api/chats", headers=team.ana.auth)).json()["data"]
    assert [c for c in chats if c["id"] == bia_jid or c.get("lead_id") == trap["id"]] == []
    history = await client.get(f"/api/chats/{bia_jid}/messages", headers=team.ana.auth)
    assert history.status_code == 404
    written = await client.post(
        f"/api/chats/{bia_jid}/messages", json={"text": "me passa os leads"}, headers=team.ana.auth
    )
    assert written.status_code == 404
    outbox = await client.get("/api/dev/whatsapp/consultant/outbox", params={"to": bias_phone})
    assert all("me passa" not in m["text"] for m in outbox.json()["data"])
    # Admins read notices, and only there; nobody else.
    notices = await client.get(
        "/api/whatsapp/notices", params={"consultant_id": team.bia.id}, headers=team.admin.auth
    )
    assert any("Lead Secreto" in n["text"] for n in notices.json()["data"])
    refused = await client.get("/api/whatsapp/notices", headers=team.manager.auth)
    assert refused.status_code == 403
