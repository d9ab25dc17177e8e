"""What every use case of the leads service shares: who calls, and commit-with-events."""

from __future__ import annotations

from leadflow.db import OutboxRelay, add_to_outbox
from leadflow.events import Event, Role, SendMessage, SessionName
from leadflow.whatsapp import jid_phone
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.models import OUTBOX, Message


class Actor(BaseModel):
    """Who is calling, as the gateway authenticated them."""

    id: str
    role: Role


def pending_message(command: SendMessage, lead_id: str | None) -> Message:
    """The outgoing message a send command puts in its chat, until its statuses come."""
    name = (
        SessionName.CONSULTANT
        if command.name.startswith("whatsapp.consultant")
        else SessionName.LIVIA
    )
    return Message(
        id=command.message_id,
        session=name.value,
        chat_jid=command.chat_jid,
        phone=jid_phone(command.chat_jid),
        lead_id=lead_id,
        direction="out",
        sender=command.sender,
        text=command.text,
        status="pending",
        read=True,
        sent_at=command.occurred_at,
    )


async def commit_with_events(session: AsyncSession, relay: OutboxRelay, *events: Event) -> None:
    """Stage `events` in the outbox, commit them with the change, wake the relay.

    A command to send a WhatsApp message is recorded as a pending message of its chat in
    the same transaction: its session's status events may come back before this service
    would consume the command itself, and they would find no message to update.
    """
    for event in events:
        if isinstance(event, SendMessage):
            session.add(pending_message(event, event.lead_id))
    await add_to_outbox(session, OUTBOX, *events)
    await session.commit()
    if events:
        relay.wake()
