"""The consultant session's own behaviour on top of the session plumbing: the chat list,
kept current from the session's traffic and linked to leads from lead events."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from leadflow.bus import Bus, Delivery
from leadflow.events import LeadAssigned, LeadCreated, LeadUpdated, SendMessage, SessionName
from leadflow.rpc import RpcClient
from leadflow.whatsapp import InboundMessage, Transport, jid_phone
from leadflow.whatsapp.session import SessionService

from wa_consultant.chats import ChatIndex

log = logging.getLogger(__name__)


class ConsultantSession(SessionService):
    def __init__(
        self, transport: Transport, bus: Bus, *, max_attempts: int, chats: ChatIndex
    ) -> None:
        super().__init__(SessionName.CONSULTANT, transport, bus, max_attempts=max_attempts)
        self.chats = chats

    async def on_message(self, message: InboundMessage) -> None:
        await super().on_message(message)
        self.chats.record(
            message.chat_jid,
            message.phone,
            message.push_name,
            message.text,
            message.sent_at,
            incoming=not message.from_me,
        )

    async def on_send(self, delivery: Delivery) -> None:
        await super().on_send(delivery)
        command = delivery.event()
        assert isinstance(command, SendMessage)
        self.chats.record(
            command.chat_jid, jid_phone(command.chat_jid), None, command.text, None, incoming=False
        )

    async def on_lead(self, delivery: Delivery) -> None:
        """A lead event links the chat of the lead's phone to the lead and its consultant."""
        event = delivery.event()
        assert isinstance(event, LeadCreated | LeadUpdated | LeadAssigned)
        self.chats.link_lead(event.lead.phone, event.lead.id, event.lead.consultant_id)

    async def list_chats(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        actor = params.get("actor") or {}
        limit = max(1, min(int(params.get("limit") or 200), 1000))
        return self.chats.listing(actor.get("id", ""), actor.get("role", ""), limit)

    async def mark_read(self, params: dict[str, Any]) -> None:
        jid = str(params.get("jid", ""))
        self.chats.mark_read(jid)
        ids = [str(i) for i in params.get("wa_message_ids") or []]
        await self.transport.mark_read(jid, ids)

    def methods(self) -> dict[str, Any]:
        return {**super().methods(), "list_chats": self.list_chats, "mark_read": self.mark_read}

    async def rebuild_chat_index(self, leads: RpcClient) -> None:
        """The chat list as stored messages have it, once the leads service answers."""
        for attempt in range(60):
            try:
                rows = await leads.call(
                    "chat_summaries", session=self.name.value, limit=self.chats.capacity
                )
            except Exception:
                await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))
                continue
            for row in rows:
                self.chats.restore(row)
            log.info("chat index rebuilt with %d chats", len(self.chats.chats))
            return
        log.warning("could not rebuild the chat index from stored messages")
