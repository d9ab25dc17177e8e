"""Chat visibility by lead owner, the replay buffer, and slow clients."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from leadflow.events import (
    LeadAssigned,
    LeadSource,
    LeadView,
    Role,
    SessionName,
    SessionStatus,
    WhatsAppMessageReceived,
    WhatsAppSessionStatusChanged,
)
from leadflow.testing.factories import a_lead, claims
from leadflow.whatsapp import phone_jid
from realtime.domain import Frame, LeadOwners, ReplayBuffer, frames_for, may_receive
from realtime.handlers import RealtimeHandlers
from realtime.hub import CLOSE_TRY_AGAIN_LATER, Hub

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def lead(phone: str, owner: str | None) -> LeadView:
    return a_lead(id=f"lead-{phone}", phone=phone, source=LeadSource.WHATSAPP, consultant_id=owner)


def message(
    phone: str, session: SessionName = SessionName.LIVIA, **audience: Any
) -> WhatsAppMessageReceived:
    return WhatsAppMessageReceived(
        session=session,
        wa_message_id="w1",
        chat_jid=phone_jid(phone),
        phone=phone,
        text="oi",
        sent_at=NOW,
        **audience,
    )


def test_a_livia_chat_message_reaches_only_the_consultant_of_its_lead_and_staff() -> None:
    owners = LeadOwners()
    frames_for(LeadAssigned(lead=lead("+5511911110000", "ana"), rule="round_robin"), owners)
    [frame] = frames_for(message("+5511911110000"), owners)
    assert (frame.event, frame.room, frame.data["lead_id"]) == (
        "whatsapp:message",
        "chat:5511911110000@s.whatsapp.net",
        "lead-+5511911110000",
    )
    assert may_receive(claims(Role.CONSULTANT, "ana"), frame)
    assert not may_receive(claims(Role.CONSULTANT, "bia"), frame)
    assert may_receive(claims(Role.MANAGER, "gil"), frame)


def test_a_consultant_chat_goes_to_whom_the_inbox_says_whatever_realtime_saw() -> None:
    owners = LeadOwners()
    frames_for(LeadAssigned(lead=lead("+5511911110000", "bia"), rule="round_robin"), owners)
    [frame] = frames_for(
        message("+5511911110000", SessionName.CONSULTANT, lead_id="lead-1", consultant_id="ana"),
        owners,
    )
    assert frame.data["lead_id"] == "lead-1"
    assert may_receive(claims(Role.CONSULTANT, "ana"), frame)
    assert not may_receive(claims(Role.CONSULTANT, "bia"), frame)


def test_a_notice_to_a_consultant_reaches_no_client() -> None:
    """Issue 14: a lead with a consultant's own phone does not open their notices."""
    owners = LeadOwners()
    frames_for(LeadAssigned(lead=lead("+5511911110000", "ana"), rule="manual"), owners)
    notice = message("+5511911110000", SessionName.CONSULTANT, notice=True)
    assert frames_for(notice, owners) == []


def test_a_chat_of_an_unknown_lead_goes_to_staff_only() -> None:
    [frame] = frames_for(message("+5511922220000"), LeadOwners())
    assert not may_receive(claims(Role.CONSULTANT, "ana"), frame)
    assert may_receive(claims(Role.ADMIN, "root"), frame)


def test_session_frames_never_carry_the_pairing_code() -> None:
    event = WhatsAppSessionStatusChanged(
        session=SessionName.LIVIA,
        status=SessionStatus.PAIRING,
        qr="2@secret-pairing-code",
        since=NOW,
    )
    [frame] = frames_for(event, LeadOwners())
    assert frame.room == "admin" and "secret-pairing-code" not in frame.encode()


def test_the_replay_buffer_returns_what_came_after_or_reports_a_gap() -> None:
    buffer = ReplayBuffer(capacity=3)
    for i in range(5):
        buffer.append(Frame(f"e{i}", "x", "kanban", {}, "", None, False))
    assert [f.id for f in buffer.after("e2") or []] == ["e3", "e4"]
    assert buffer.after("e4") == []
    assert buffer.after("e0") is None  # fell out: the client must refetch


def test_the_replay_buffer_is_bounded_by_bytes_as_well_as_by_frames() -> None:
    buffer = ReplayBuffer(capacity=5000, max_bytes=10_000)
    big = {"metadata": {"blob": "x" * 3000}}  # a lead with a large metadata
    for i in range(20):
        buffer.append(Frame(f"e{i}", "kanban:lead_created", "kanban", big, "", None, True))
    assert buffer.size <= 10_000 and len(buffer.frames) == 3
    assert [f.id for f in buffer.after("e17") or []] == ["e18", "e19"]
    assert buffer.after("e10") is None  # evicted for room: a gap, the client refetches


async def test_a_slow_client_is_dropped_without_delaying_a_fast_one() -> None:
    hub = Hub(send_queue_size=16)
    handlers = RealtimeHandlers(hub, "secret")
    fast = hub.connect(claims(Role.ADMIN, "a"), "ws", ["kanban"])
    slow = hub.connect(claims(Role.ADMIN, "b"), "ws", ["kanban"])
    received: list[str] = []
    never = asyncio.Event()

    async def fast_send(text: str) -> None:
        received.append(text)

    async def stuck_send(text: str) -> None:
        await never.wait()  # a client whose socket stopped draining

    pumps = [
        asyncio.create_task(handlers._pump(fast, fast_send)),
        asyncio.create_task(handlers._pump(slow, stuck_send)),
    ]
    for i in range(100):
        hub.fan_out(Frame(f"e{i}", "kanban:lead_updated", "kanban", {"n": i}, "", None, False))
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # one more turn for the pump: nothing is waiting on the slow one
    assert [json.loads(t)["id"] for t in received] == [f"e{i}" for i in range(100)]
    assert slow.close_code == CLOSE_TRY_AGAIN_LATER and fast.close_code is None
    fast.close(1000)
    await asyncio.gather(pumps[0])
    pumps[1].cancel()
