"""User-visible flows, driven through the gateway and the realtime socket as a frontend does."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from leadflow.testing.fixtures import TEST_ADMIN
from websockets.asyncio.client import ClientConnection, connect


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def login_admin(client: httpx.AsyncClient) -> str:
    return await login(client, *TEST_ADMIN)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_phone() -> str:
    """A Brazilian mobile number no other test uses."""
    return "+55119" + str(uuid.uuid4().int)[:8]


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


async def deactivate_every_consultant(client: httpx.AsyncClient, admin: str) -> None:
    """Other tests' consultants out of the rotation, so a test's own are the whole pool."""
    for other in (await client.get("/api/consultants", headers=bearer(admin))).json()["data"]:
        if other["role"] == "consultant" and other["active"]:
            await client.patch(
                f"/api/consultants/{other['id']}", json={"active": False}, headers=bearer(admin)
            )


async def create_consultant(
    client: httpx.AsyncClient, admin_token: str, name: str, **extra: Any
) -> dict[str, Any]:
    email = extra.pop("email", f"{name.lower()}@example.com")
    body = {"name": name, "email": email, "password": "password-123"}
    response = await client.post(
        "/api/consultants", json={**body, **extra}, headers=bearer(admin_token)
    )
    assert response.status_code == 201, response.text
    consultant: dict[str, Any] = response.json()["data"]
    return consultant


# A test reads only the frames it waits for. With the library's bounded queue an unread
# backlog stops the client reading, so it never sees the server's close frame and its
# close() waits out close_timeout (10 s): keep everything, close at once.
TEST_CLIENT_SOCKET: dict[str, Any] = {"max_queue": None}


async def open_socket(realtime_url: str, token: str, *rooms: str) -> ClientConnection:
    socket = await connect(
        realtime_url.replace("http", "ws", 1) + f"/ws?token={token}", **TEST_CLIENT_SOCKET
    )
    for room in rooms:
        await socket.send(json.dumps({"action": "join_room", "room": room}))
        await next_frame(
            socket, lambda f, room=room: f["event"] == "room_joined" and f["data"]["room"] == room
        )
    return socket


async def next_frame(
    socket: ClientConnection, matches: Any, timeout: float = 10.0
) -> dict[str, Any]:
    """The next frame for which `matches(frame)` is true, within the deadline."""

    async def scan() -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = json.loads(await socket.recv())
            if matches(frame):
                return frame

    return await asyncio.wait_for(scan(), timeout)


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Await `check()` until it returns something truthy, or fail at the deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout}s: last result {result!r}")
        await asyncio.sleep(interval)


async def lead_is_classified_assigned_and_pushed(gateway_url: str, realtime_url: str) -> None:
    """The walking skeleton: create → classified → assigned → pushed to the Kanban."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        admin = await login_admin(client)
        ana = await create_consultant(client, admin, "Ana")
        socket = await open_socket(realtime_url, admin, "kanban")
        try:
            response = await client.post(
                "/api/leads",
                json={
                    "name": "  João da Silva ",
                    "phone": "+55 (11) 98765-4321",
                    "metadata": {
                        "asset_value": 300000,
                        "down_payment": 90000,
                        "monthly_income": 15000,
                    },
                },
                headers=bearer(admin),
            )
            assert response.status_code == 201, response.text
            lead = response.json()["data"]
            assert (lead["name"], lead["phone"], lead["status"]) == (
                "João da Silva",
                "+5511987654321",
                "NEW",
            )
            created = await next_frame(
                socket,
                lambda f: f["event"] == "kanban:lead_created" and f["data"]["id"] == lead["id"],
            )
            assigned = await next_frame(
                socket,
                lambda f: f["event"] == "kanban:lead_assigned" and f["data"]["id"] == lead["id"],
            )
        finally:
            await socket.close()
        assert created["data"]["phone"] == "+5511987654321"
        assert assigned["data"]["consultant_id"] == ana["id"]
        assert assigned["data"]["temperature"] in ("HOT", "WARM", "COLD")

        detail = (await client.get(f"/api/leads/{lead['id']}", headers=bearer(admin))).json()
        assert detail["data"]["consultant"] == {
            "id": ana["id"],
            "name": "Ana",
            "email": "ana@example.com",
        }
        assert detail["data"]["temperature"] == assigned["data"]["temperature"]
        assert 0 <= detail["data"]["ai_score"] <= 100 and detail["data"]["ai_reasons"]
        assert {"created", "classified", "assigned"} <= {i["kind"] for i in detail["interactions"]}
