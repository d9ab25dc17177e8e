"""A send command's message is stored with the command, so its statuses always find it."""

from __future__ import annotations

from typing import Any

from leadflow.bus import Delivery
from leadflow.events import (
    AssignmentDecided,
    MessageStatus,
    SendConsultantMessage,
    SessionName,
    WhatsAppMessageStatusChanged,
)
from leadflow.testing.recording import delivery
from leads.models import Message
from leads.testing import LeadsUnderTest
from sqlmodel import select

ADMIN = {"id": "admin", "role": "admin"}
ANA_PHONE = "+5511955550001"


async def new_lead(leads: LeadsUnderTest, phone: str) -> str:
    created = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Rui", "phone": phone}}
    )
    return str(created["lead"]["id"])


async def the_notice(leads: LeadsUnderTest) -> SendConsultantMessage:
    [notice] = [
        event
        for event in (d.event() for d in await leads.flush_outbox())
        if isinstance(event, SendConsultantMessage)
    ]
    return notice


async def sent(leads: LeadsUnderTest, notice: SendConsultantMessage) -> dict[str, Any]:
    """The session reports the notice sent, before leads consumed the command itself."""
    status = WhatsAppMessageStatusChanged(
        session=SessionName.CONSULTANT,
        message_id=notice.message_id,
        wa_message_id=f"wa-{notice.message_id}",
        chat_jid=notice.chat_jid,
        status=MessageStatus.SENT,
    )
    await leads.messages.on_status(delivery(status))  # raised LookupError before
    async with leads.handlers.sessions() as session:
        [message] = (await session.exec(select(Message))).all()
    return message.model_dump(include={"id", "phone", "lead_id", "sender", "text", "status"})


async def test_a_round_robin_notice_is_stored_with_the_decision(leads: LeadsUnderTest) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com", phone=ANA_PHONE)
    lead_id = await new_lead(leads, "+5511912347001")
    decided = AssignmentDecided(
        lead_id=lead_id, consultant_id="ana-1", rule="round_robin", eligible_ids=["ana-1"]
    )
    await leads.handlers.on_assignment_decided(decided)

    notice = await the_notice(leads)
    assert await sent(leads, notice) == {
        "id": notice.message_id,
        "phone": ANA_PHONE,
        "lead_id": lead_id,
        "sender": "system",
        "text": notice.text,
        "status": "sent",
    }
    # The command, consumed afterwards, changes nothing.
    await leads.messages.on_send_requested(delivery(notice))
    async with leads.handlers.sessions() as session:
        assert [m.status for m in (await session.exec(select(Message))).all()] == ["sent"]


async def test_a_manual_assignment_notice_is_stored_with_the_assignment(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com", phone=ANA_PHONE)
    lead_id = await new_lead(leads, "+5511912347002")
    await leads.handlers.assign_lead({"actor": ADMIN, "id": lead_id, "consultant_id": "ana-1"})

    notice = await the_notice(leads)
    assert (await sent(leads, notice))["status"] == "sent"


async def test_statuses_only_move_forward_and_keep_whatsapps_id(leads: LeadsUnderTest) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com", phone=ANA_PHONE)
    lead_id = await new_lead(leads, "+5511912347003")
    await leads.handlers.assign_lead({"actor": ADMIN, "id": lead_id, "consultant_id": "ana-1"})
    notice = await the_notice(leads)

    def status(value: MessageStatus, wa_message_id: str | None) -> Delivery:
        return delivery(
            WhatsAppMessageStatusChanged(
                session=SessionName.CONSULTANT,
                message_id=notice.message_id,
                wa_message_id=wa_message_id,
                chat_jid=notice.chat_jid,
                status=value,
            )
        )

    await leads.messages.on_status(status(MessageStatus.DELIVERED, "wa-1"))
    await leads.messages.on_status(status(MessageStatus.SENT, None))  # late: changes nothing
    async with leads.handlers.sessions() as session:
        [message] = (await session.exec(select(Message))).all()
    assert (message.status, message.wa_message_id) == ("delivered", "wa-1")
