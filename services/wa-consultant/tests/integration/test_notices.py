"""The notice a consultant gets on their own phone when a lead is assigned to them:
composed here from lead.assigned (issues 14 and 19), stored for admins, sent once."""

from __future__ import annotations

from typing import Any

from leadflow.bus.topology import (
    WA_CONSULTANT_INBOX,
    by_event_type,
    on_attempts,
    session_send_queue,
)
from leadflow.events import LeadAssigned, SendConsultantMessage, SessionName, Temperature
from leadflow.testing.factories import a_lead
from leadflow.whatsapp import phone_jid
from leadflow.whatsapp.simulator import SimulatorTransport

from .conftest import ADMIN, Inbox, started_session, within

LEAD_PHONE = "+5511987650001"
BIA_PHONE = "+5511955550002"
NOTICE = "Novo lead para você: Rui (+5511987650001) — HOT. renda R$ 15.000"


def assigned_to_bia(phone: str | None = BIA_PHONE) -> LeadAssigned:
    lead = a_lead(
        id="lead-1",
        phone=LEAD_PHONE,
        name="Rui",
        consultant_id="bia",
        temperature=Temperature.HOT,
        metadata={"monthly_income": 15000},
        version=2,
    )
    return LeadAssigned(lead=lead, rule="round_robin", consultant_phone=phone)


class RefusingTransport(SimulatorTransport):
    """WhatsApp refuses the first `refusals` sends (not an outage), then sends."""

    def __init__(self, refusals: int) -> None:
        super().__init__("+5511900000001")
        self.refusals = refusals

    async def send_text(self, chat_jid: str, text: str) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            raise LookupError("not on WhatsApp")
        return await super().send_text(chat_jid, text)


async def assigned_over_the_bus(inbox: Inbox, refusals: int) -> RefusingTransport:
    """Bia's lead.assigned through the inbox queue as the service consumes it, its send
    queue consumed too (a failed delivery is redelivered, its attempt counted), WhatsApp
    refusing `refusals` sends."""
    await inbox.consultant("bia", BIA_PHONE)
    transport = RefusingTransport(refusals)
    session = await started_session(inbox.store, transport)
    bus = inbox.store.bus
    bus.consume(WA_CONSULTANT_INBOX, by_event_type(*session.inbox_routes()))
    bus.consume(
        session_send_queue(SessionName.CONSULTANT),
        by_event_type(
            on_attempts(
                SendConsultantMessage,
                lambda command, attempt: session.on_send(command, attempt=attempt),
            )
        ),
    )
    await bus.publish_event(assigned_to_bia())
    return transport


async def the_notice(inbox: Inbox, status: str) -> dict[str, Any] | None:
    await inbox.store.flush_outbox()  # the relay, which tests run by hand
    notices = await inbox.call("list_notices", consultant_id="bia")
    return notices[0] if notices and notices[0]["status"] == status else None


async def test_an_assignment_sends_its_notice_once_however_often_it_is_delivered(
    inbox: Inbox,
) -> None:
    await inbox.consultant("bia", BIA_PHONE)
    event = assigned_to_bia()

    await inbox.session.on_lead_assigned(event)
    await inbox.session.on_lead_assigned(event)  # the broker delivers it again
    restarted = SimulatorTransport("+5511900000001")  # or after a restart: no memory
    await (await started_session(inbox.store, restarted)).on_lead_assigned(event)

    assert [m.text for m in inbox.transport.sent_to(BIA_PHONE)] == [NOTICE]
    assert restarted.sent_to(BIA_PHONE) == []
    [notice] = await inbox.call("list_notices", consultant_id="bia")
    assert (notice["text"], notice["sender"], notice["direction"]) == (NOTICE, "system", "out")
    # Never a chat, neither Bia's own nor the lead's; the lead is Bia's (the projection).
    for actor in ({"id": "bia", "role": "consultant"}, ADMIN):
        assert await inbox.call("list_chats", actor=actor) == []
    assert await inbox.call("chat_messages", actor=ADMIN, jid=phone_jid(LEAD_PHONE)) == []
    assert await inbox.published() == []  # no client is shown a notice, nor its status


async def test_a_consultant_without_a_phone_gets_no_notice_but_the_lead_is_theirs(
    inbox: Inbox,
) -> None:
    await inbox.session.on_lead_assigned(assigned_to_bia(phone=None))
    assert inbox.transport.outbox == []
    assert await inbox.call("list_notices") == []
    sent = await inbox.call(
        "send_chat_message",
        actor={"id": "bia", "role": "consultant"},
        jid=phone_jid(LEAD_PHONE),
        text="Olá Rui",
    )
    assert sent["status"] == "pending"


async def test_a_notice_whose_send_fails_is_sent_by_the_send_queue_without_holding_the_inbox(
    inbox: Inbox,
) -> None:
    transport = await assigned_over_the_bus(inbox, refusals=1)
    await within(10, lambda: the_notice(inbox, "delivered"))
    assert [m.text for m in transport.sent_to(BIA_PHONE)] == [NOTICE]
    assert await inbox.store.bus.dead_letters(WA_CONSULTANT_INBOX.name) == []


async def test_a_notice_refused_on_every_try_is_stored_as_failed_with_the_reason(
    inbox: Inbox,
) -> None:
    transport = await assigned_over_the_bus(inbox, refusals=99)
    notice = await within(10, lambda: the_notice(inbox, "failed"))
    assert notice["reason"] == "not on WhatsApp"
    # One try as the assignment arrived, then one per delivery of the send queue (3).
    assert transport.refusals == 99 - 1 - 3
    assert await inbox.store.bus.dead_letters(WA_CONSULTANT_INBOX.name) == []
