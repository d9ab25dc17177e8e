"""Sessions end when they should (issue 15): deactivation, a role or password change and
logout refuse the access token at once, at the gateway and at realtime; a refresh token
is spent exactly once, even by concurrent requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from leadflow.testing.fixtures import TEST_ADMIN
from leadflow.testing.processes import Cluster, running_cluster
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.system.flows import bearer, eventually, login, login_admin


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    services = ("gateway", "leads", "realtime")
    with running_cluster(module_cluster_env, services=services) as running:
        yield running


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> str:
    return await login_admin(client)


async def new_person(client: httpx.AsyncClient, admin: str, role: str = "consultant") -> Any:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    created = await client.post(
        "/api/consultants",
        json={"name": "Pessoa", "email": email, "password": "password-123", "role": role},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    session = await client.post(
        "/api/auth/login", json={"email": email, "password": "password-123"}
    )
    return created.json()["data"]["id"], session.json()


async def log_out(client: httpx.AsyncClient, session: dict[str, Any]) -> None:
    out = await client.post(
        "/api/auth/logout",
        json={"refresh_token": session["refresh_token"]},
        headers=bearer(session["access_token"]),
    )
    assert out.status_code == 204, out.text


async def status_of(client: httpx.AsyncClient, method: str, url: str, token: str) -> int:
    response = await client.request(method, url, headers=bearer(token))
    return response.status_code


async def refused(client: httpx.AsyncClient, url: str, token: str) -> bool:
    return await status_of(client, "GET", url, token) == 401


async def test_a_deactivated_consultants_token_socket_and_stream_end_at_once(
    client: httpx.AsyncClient, admin: str, cluster: Cluster
) -> None:
    person, session = await new_person(client, admin)
    token = session["access_token"]
    realtime = cluster.processes["realtime"][0].url
    socket = await connect(realtime.replace("http", "ws", 1) + f"/ws?token={token}")
    lines: list[str] = []

    async def read_stream() -> None:
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("GET", f"{realtime}/api/events", headers=bearer(token)) as stream,
        ):
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                lines.append(line)

    reading = asyncio.create_task(read_stream())

    async def stream_is_open() -> bool:
        return bool(lines)

    await eventually(stream_is_open)
    assert await status_of(client, "GET", "/api/auth/me", token) == 200

    off = await client.patch(
        f"/api/consultants/{person}", json={"active": False}, headers=bearer(admin)
    )
    assert off.status_code == 200

    await eventually(lambda: refused(client, "/api/auth/me", token), timeout=5)
    lead = {"name": "Depois", "phone": "+5511987650001"}
    create = await client.post("/api/leads", json=lead, headers=bearer(token))
    assert create.status_code == 401
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    await asyncio.wait_for(reading, 5)  # the server ended the stream
    assert "event: unauthorized" in lines
    with pytest.raises(Exception, match="401"):
        await connect(realtime.replace("http", "ws", 1) + f"/ws?token={token}")


async def test_a_demoted_manager_no_longer_sees_what_managers_see(
    client: httpx.AsyncClient, admin: str
) -> None:
    person, session = await new_person(client, admin, role="manager")
    token = session["access_token"]
    assert await status_of(client, "GET", "/api/consultants", token) == 200
    demoted = await client.patch(
        f"/api/consultants/{person}", json={"role": "consultant"}, headers=bearer(admin)
    )
    assert demoted.status_code == 200
    await eventually(lambda: refused(client, "/api/consultants", token), timeout=5)
    again = await login(client, demoted.json()["data"]["email"], "password-123")
    assert await status_of(client, "GET", "/api/consultants", again) == 403  # now a consultant


async def test_a_password_change_ends_the_sessions_of_the_old_one(
    client: httpx.AsyncClient, admin: str
) -> None:
    person, session = await new_person(client, admin)
    changed = await client.patch(
        f"/api/consultants/{person}", json={"password": "another-password"}, headers=bearer(admin)
    )
    assert changed.status_code == 200
    await eventually(lambda: refused(client, "/api/auth/me", session["access_token"]), timeout=5)
    rotated = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert rotated.status_code == 401


async def test_after_logout_the_access_token_of_the_call_is_refused(
    client: httpx.AsyncClient, admin: str
) -> None:
    _, session = await new_person(client, admin)
    _, other_device = await new_person(client, admin)
    token = session["access_token"]
    await log_out(client, session)
    assert await status_of(client, "GET", "/api/auth/me", token) == 401  # at once
    assert await status_of(client, "GET", "/api/auth/me", other_device["access_token"]) == 200


async def test_concurrent_refreshes_with_one_token_one_wins_and_the_family_is_revoked(
    client: httpx.AsyncClient,
) -> None:
    login_response = await client.post(
        "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
    )
    spent = login_response.json()["refresh_token"]
    answers = await asyncio.gather(
        *(client.post("/api/auth/refresh", json={"refresh_token": spent}) for _ in range(8))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [401] * 7
    [winner] = [answer.json() for answer in answers if answer.status_code == 200]
    # The losers were replays of a spent token: the winner's new token is revoked too.
    after = await client.post("/api/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert after.status_code == 401


async def test_a_gateway_started_after_a_logout_still_refuses_that_token(
    client: httpx.AsyncClient, cluster: Cluster
) -> None:
    session = (
        await client.post(
            "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
        )
    ).json()
    token = session["access_token"]
    await log_out(client, session)
    later = cluster.start("gateway")
    await asyncio.to_thread(cluster.wait_ready, 600)

    async def me_on_the_new_gateway() -> int | None:
        async with httpx.AsyncClient(timeout=15) as http:
            status = (await http.get(f"{later.url}/api/auth/me", headers=bearer(token))).status_code
        return None if status == 503 else status  # 503: still loading the sessions

    assert await eventually(me_on_the_new_gateway, timeout=30) == 401
