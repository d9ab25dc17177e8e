"""Realtime over real sockets: auth, visibility, two replicas, SSE resume, going away."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from leadflow.testing.fixtures import TEST_JWT_SECRET
from leadflow.testing.processes import Cluster, running_cluster
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.system.flows import TEST_CLIENT_SOCKET, next_frame
from tests.system.people import Person, Team, new_lead


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    services = ("gateway", "leads", "realtime", "realtime")
    with running_cluster(module_cluster_env, services=services) as running:
        yield running


def ws_url(cluster: Cluster, replica: int, query: str) -> str:
    return cluster.processes["realtime"][replica].url.replace("http", "ws", 1) + f"/ws?{query}"


async def socket_for(cluster: Cluster, person: Person, replica: int = 0) -> ClientConnection:
    return await connect(
        ws_url(cluster, replica, f"token={person.token}&rooms=kanban"), **TEST_CLIENT_SOCKET
    )


def token_expiring_in(seconds: float, sub: str = "someone", role: str = "admin") -> str:
    now = time.time()
    claims = {"sub": sub, "role": role, "exp": int(now + seconds), "jti": "t", "typ": "access"}
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


async def test_a_missing_or_forged_token_is_refused_at_the_handshake(
    cluster: Cluster,
) -> None:
    forged = jwt.encode(
        {"sub": "x", "role": "admin", "exp": 2**31, "jti": "j", "typ": "access"},
        "not-the-secret-but-long-enough-0123456789",
        algorithm="HS256",
    )
    for query in ("", "token=garbage", f"token={forged}"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(ws_url(cluster, 0, query))
        assert refused.value.response.status_code == 401


async def test_a_socket_is_closed_with_4401_when_its_token_expires(
    cluster: Cluster,
) -> None:
    socket = await connect(ws_url(cluster, 0, f"token={token_expiring_in(1.5)}"))
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_consultant_receives_only_events_about_their_own_leads(
    cluster: Cluster, client: httpx.AsyncClient, team: Team
) -> None:
    sockets = {
        who: await socket_for(cluster, p)
        for who, p in (("admin", team.admin), ("ana", team.ana), ("bia", team.bia))
    }
    try:
        anas = await new_lead(client, team.ana, "Lead da Ana")
        bias = await new_lead(client, team.bia, "Lead da Bia")

        def created(lead: dict[str, Any]) -> Any:
            return lambda f: f["event"] == "kanban:lead_created" and f["data"]["id"] == lead["id"]

        await next_frame(sockets["admin"], created(anas))
        await next_frame(sockets["admin"], created(bias))
        await next_frame(sockets["ana"], created(anas))
        # Bia's own lead came after Ana's on the same queue: had she been sent Ana's,
        # it would have arrived first.
        leaked: list[dict[str, Any]] = []

        def collect(frame: dict[str, Any]) -> bool:
            if frame["event"].startswith("kanban:") and frame["data"]["id"] == anas["id"]:
                leaked.append(frame)
            return bool(created(bias)(frame))

        await next_frame(sockets["bia"], collect)
        assert leaked == []
    finally:
        for socket in sockets.values():
            await socket.close()


async def test_each_replica_delivers_every_event_once_to_its_own_clients(
    cluster: Cluster, client: httpx.AsyncClient, team: Team
) -> None:
    on_first = await socket_for(cluster, team.admin, 0)
    on_second = await socket_for(cluster, team.admin, 1)
    try:
        first = await new_lead(client, team.ana, "Primeiro")
        second = await new_lead(client, team.ana, "Segundo")
        for socket in (on_first, on_second):
            seen: list[str] = []

            def until_second(frame: dict[str, Any], seen: list[str] = seen) -> bool:
                if frame["event"] == "kanban:lead_created":
                    seen.append(frame["data"]["id"])
                return bool(
                    frame["event"] == "kanban:lead_created" and frame["data"]["id"] == second["id"]
                )

            await next_frame(socket, until_second)
            assert seen[-2:] == [first["id"], second["id"]] and seen.count(first["id"]) == 1
    finally:
        await on_first.close()
        await on_second.close()


async def sse_events(
    url: str,
    token: str,
    last_event_id: str | None,
    count: int,
    attached: asyncio.Event | None = None,
) -> list[dict[str, str]]:
    """Read `count` events (not comments) from an SSE stream."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, str]] = []
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream(
            "GET", f"{url}/api/events", params={"rooms": "kanban"}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        if attached is not None:
            attached.set()
        async for line in response.aiter_lines():
            if not line:
                if "event" in current:
                    events.append(current)
                    if len(events) == count:
                        return events
                current = {}
            elif not line.startswith(":") and ":" in line:
                field, _, value = line.partition(":")
                current[field] = value.strip()
    return events


async def test_sse_resumes_from_last_event_id_and_reports_a_gap(
    cluster: Cluster, client: httpx.AsyncClient, team: Team
) -> None:
    url = cluster.processes["realtime"][0].url
    attached = asyncio.Event()
    reader = asyncio.create_task(sse_events(url, team.admin.token, None, 1, attached))
    await asyncio.wait_for(attached.wait(), 10)
    first = await new_lead(client, team.ana, "SSE um")
    [seen] = await asyncio.wait_for(reader, 10)
    assert seen["event"] == "kanban:lead_created"
    assert json.loads(seen["data"])["data"]["id"] == first["id"]

    watcher = await socket_for(cluster, team.admin, 0)
    try:
        missed = await new_lead(client, team.ana, "SSE dois")  # while the stream is away
        await next_frame(watcher, lambda f: f["data"].get("id") == missed["id"])
    finally:
        await watcher.close()
    [resumed] = await sse_events(url, team.admin.token, seen["id"], 1)
    assert json.loads(resumed["data"])["data"]["id"] == missed["id"]

    [gap] = await sse_events(url, team.admin.token, "long-gone-event-id", 1)
    assert gap["event"] == "resync"


async def test_sse_without_a_valid_token_is_401(cluster: Cluster) -> None:
    url = cluster.processes["realtime"][0].url
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/api/events", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


async def test_sigterm_closes_every_socket_with_going_away(cluster_env: dict[str, str]) -> None:
    with running_cluster(cluster_env, services=("leads", "realtime")) as cluster:
        socket = await connect(ws_url(cluster, 0, f"token={token_expiring_in(600)}"))
        [replica] = cluster.processes["realtime"]
        stopping = asyncio.get_running_loop().run_in_executor(None, cluster.stop, replica)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(15):
                while True:
                    await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert await stopping == 0
