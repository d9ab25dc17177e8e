"""SSE without `rooms=` carries what a Kanban board needs; `rooms=` chooses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from leadflow.auth import issue_access_token
from leadflow.events import LeadCreated, LeadView, Role
from leadflow.testing.factories import a_lead
from realtime.domain import LeadOwners, frames_for
from realtime.handlers import RealtimeHandlers
from realtime.hub import Hub
from starlette.requests import Request
from starlette.responses import StreamingResponse

SECRET = "realtime-unit-test-secret-0123456789abcdef"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def lead(lead_id: str, owner: str | None) -> LeadView:
    return a_lead(id=lead_id, phone=f"+55119{abs(hash(lead_id)) % 10**8:08d}", consultant_id=owner)


def sse_request(who: str, role: Role, query: str = "") -> Request:
    token = issue_access_token(SECRET, consultant_id=who, role=role, ttl_s=600)
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/api/events",
            "query_string": query.encode(),
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
    )


async def next_event(stream: AsyncIterator[Any]) -> str:
    """The next SSE event (not a comment or the retry hint), within a second."""
    async with asyncio.timeout(1):
        while True:
            chunk = str(await anext(stream))
            if chunk.startswith(("id:", "event:")):
                return chunk


@pytest.fixture
def handlers() -> RealtimeHandlers:
    return RealtimeHandlers(Hub(), SECRET)


def publish(handlers: RealtimeHandlers, *leads: LeadView) -> None:
    for created in leads:
        for frame in frames_for(LeadCreated(lead=created), LeadOwners()):
            handlers.hub.fan_out(frame)


async def test_without_rooms_a_consultant_gets_kanban_events_about_their_own_leads_only(
    handlers: RealtimeHandlers,
) -> None:
    response = await handlers.events(sse_request("ana", Role.CONSULTANT))
    assert isinstance(response, StreamingResponse)
    stream = response.body_iterator
    [client] = handlers.hub.clients
    assert client.rooms == {"kanban", "consultant:ana"}
    publish(handlers, lead("of-bia", "bia"), lead("of-ana", "ana"))
    event = await next_event(stream)
    assert "event: kanban:lead_created" in event and '"id":"of-ana"' in event
    assert client.pending == []  # Bia's lead never reached Ana


async def test_rooms_narrows_to_the_callers_own_room_or_extends_to_admin(
    handlers: RealtimeHandlers,
) -> None:
    await handlers.events(sse_request("ana", Role.CONSULTANT, "rooms="))
    await handlers.events(sse_request("gil", Role.MANAGER, "rooms=kanban,admin"))
    rooms = sorted(sorted(client.rooms) for client in handlers.hub.clients)
    assert rooms == [["admin", "consultant:gil", "kanban"], ["consultant:ana"]]


async def test_a_room_the_caller_may_not_join_is_refused_with_403(
    handlers: RealtimeHandlers,
) -> None:
    response = await handlers.events(sse_request("ana", Role.CONSULTANT, "rooms=kanban,admin"))
    assert response.status_code == 403
    assert b'"forbidden"' in response.body and b"admin" in response.body
    assert handlers.hub.clients == set()
