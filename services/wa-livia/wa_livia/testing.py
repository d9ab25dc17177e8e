"""Test support: wa-livia's conversations on real PostgreSQL, publishing onto a recording bus,
with the leads service (outside wa-livia) answered by a directory in memory."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from leadflow.bus import Delivery
from leadflow.events import SessionName, WhatsAppMessageReceived
from leadflow.testing.recording import StoreUnderTest, store_under_test
from leadflow.whatsapp import phone_jid

from wa_livia.app import MIGRATIONS, VERSION_TABLE
from wa_livia.conversations import ConversationHandlers, LeadRef
from wa_livia.models import OUTBOX

CONSULTANT_NUMBER = "+5511900000001"
LEAD_PHONE = "+5511955554444"


def message_to_livia(
    text: str,
    wa_id: str,
    sent_at: datetime,
    *,
    from_me: bool = False,
    audio: bool = False,
    transcript: str | None = None,
) -> WhatsAppMessageReceived:
    """What Lívia's session hears when Marina (LEAD_PHONE) writes, or Lívia's number does."""
    return WhatsAppMessageReceived(
        session=SessionName.LIVIA,
        wa_message_id=wa_id,
        chat_jid=phone_jid(LEAD_PHONE),
        phone=LEAD_PHONE,
        push_name="Marina",
        text=text,
        media_type="audio" if audio else None,
        transcript=transcript,
        sent_at=sent_at,
        from_me=from_me,
    )


@dataclass
class LeadsInMemory:
    """What the leads service answers: one lead per phone, created on first sight."""

    by_phone: dict[str, LeadRef] = field(default_factory=dict)

    async def lead_for_phone(self, phone: str, push_name: str | None) -> LeadRef:
        if phone not in self.by_phone:
            self.by_phone[phone] = LeadRef(id=uuid.uuid4().hex, name=push_name or phone)
        return self.by_phone[phone]


@dataclass
class LiviaUnderTest:
    conversations: ConversationHandlers
    leads: LeadsInMemory
    store: StoreUnderTest

    async def flush_outbox(self) -> list[Delivery]:
        """Publish what is pending and return everything published so far."""
        return await self.store.flush_outbox()


@contextlib.asynccontextmanager
async def livia_under_test(
    database_url: str, debounce_ms: int = 0, consultant_number: str | None = CONSULTANT_NUMBER
) -> AsyncIterator[LiviaUnderTest]:
    async def number() -> str | None:
        return consultant_number

    leads = LeadsInMemory()
    async with store_under_test(database_url, MIGRATIONS, VERSION_TABLE, OUTBOX) as store:
        conversations = ConversationHandlers(
            sessions=store.sessions,
            relay=store.relay,
            leads=leads,
            consultant_number=number,
            debounce_ms=debounce_ms,
            typing_override_ms=0,
        )
        await conversations.load()
        yield LiviaUnderTest(conversations, leads, store)
