"""The consultants' inbox in wa-consultant's own tables: list, history, visibility, notices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from leadflow.events import (
    LeadStatus,
    LeadUpdated,
    MessageStatus,
    SendConsultantMessage,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
)
from leadflow.rpc import NotFound
from leadflow.testing.factories import a_lead
from leadflow.testing.recording import statements_run
from leadflow.whatsapp import InboundMessage, phone_jid
from leadflow.whatsapp.simulator import SimulatorTransport

from .conftest import ADMIN, AT, Inbox, started_session, within

ANA = {"id": "ana", "role": "consultant"}
BIA = {"id": "bia", "role": "consultant"}
LEAD_PHONE = "+5511987650001"
BIA_PHONE = "+5511955550002"


async def receive(inbox: Inbox, phone: str, text: str, wa_id: str, minutes: int = 0) -> None:
    await inbox.transport.inject(
        InboundMessage(
            wa_message_id=wa_id,
            chat_jid=phone_jid(phone),
            phone=phone,
            text=text,
            sent_at=AT + timedelta(minutes=minutes),
            push_name="Cliente",
        )
    )


def notice_to(phone: str, text: str) -> SendConsultantMessage:
    """A notice another service asks the consultant session to send (the assignment's
    own notice is composed here: test_notices.py)."""
    return SendConsultantMessage(
        message_id="n1", chat_jid=phone_jid(phone), text=text, sender="system", notice=True
    )


async def test_a_consultant_sees_the_chats_of_their_leads_by_the_leads_name(inbox: Inbox) -> None:
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui Barbosa")
    await receive(inbox, LEAD_PHONE, "Oi, ainda tem?", "W1")
    [chat] = await inbox.call("list_chats", actor=ANA)
    assert chat == {
        "id": phone_jid(LEAD_PHONE),
        "name": "Rui Barbosa",
        "phone": LEAD_PHONE,
        "last_message": "Oi, ainda tem?",
        "timestamp": AT.isoformat(),
        "unread_count": 1,
        "lead_id": "lead-1",
    }
    assert await inbox.call("list_chats", actor=BIA) == []
    [message] = await inbox.call("chat_messages", actor=ANA, jid=phone_jid(LEAD_PHONE))
    assert (message["direction"], message["text"]) == ("in", "Oi, ainda tem?")
    with pytest.raises(NotFound):
        await inbox.call("chat_messages", actor=BIA, jid=phone_jid(LEAD_PHONE))
    [event] = await inbox.published()
    assert isinstance(event, WhatsAppMessageReceived)
    assert (event.lead_id, event.consultant_id, event.notice) == ("lead-1", "ana", False)


async def test_a_redelivered_message_is_stored_and_announced_once(inbox: Inbox) -> None:
    await receive(inbox, LEAD_PHONE, "Oi", "W1")
    await receive(inbox, LEAD_PHONE, "Oi", "W1")
    assert len(await inbox.call("chat_messages", actor=ADMIN, jid=phone_jid(LEAD_PHONE))) == 1
    assert len(await inbox.published()) == 1


async def test_the_list_is_newest_first_and_an_outgoing_only_chat_has_its_time(
    inbox: Inbox,
) -> None:
    other = "+5511987650009"
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    await inbox.lead("lead-2", other, "ana", "Lia")
    await receive(inbox, LEAD_PHONE, "primeira", "W1", minutes=-5)
    sent = await inbox.call("send_chat_message", actor=ANA, jid=phone_jid(other), text="Olá Lia")
    assert sent["status"] == "pending"
    chats = await inbox.call("list_chats", actor=ANA)
    assert [c["name"] for c in chats] == ["Lia", "Rui"]
    assert chats[0]["timestamp"] is not None and chats[0]["unread_count"] == 0
    [command] = [e for e in await inbox.published() if isinstance(e, SendConsultantMessage)]
    await inbox.session.on_send(command)
    assert [m.text for m in inbox.transport.sent_to(other)] == ["Olá Lia"]

    # The simulator's delivery receipt follows the send as its own task: wait for it.
    async def delivered() -> dict[str, Any] | None:
        [message] = await inbox.call("chat_messages", actor=ANA, jid=phone_jid(other))
        return message if message["status"] == "delivered" else None

    message = await within(5, delivered)
    assert message["id"] == sent["id"]


@pytest.mark.parametrize(
    "first",
    # The simulator's delivery receipt follows the send at once: its status is often
    # stored before the 'sent' one.
    [MessageStatus.READ, MessageStatus.DELIVERED],
)
async def test_statuses_only_move_forward_and_a_late_one_is_not_announced(
    inbox: Inbox, first: MessageStatus
) -> None:
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    sent = await inbox.call("send_chat_message", actor=ANA, jid=phone_jid(LEAD_PHONE), text="Oi")
    for status in (first, MessageStatus.SENT):
        await inbox.session.publish_status(
            WhatsAppMessageStatusChanged(
                session=inbox.session.name,
                message_id=sent["id"],
                wa_message_id="WOUT",
                chat_jid=phone_jid(LEAD_PHONE),
                status=status,
            )
        )
    [message] = await inbox.call("chat_messages", actor=ANA, jid=phone_jid(LEAD_PHONE))
    assert (message["status"], message["wa_message_id"]) == (first.value, "WOUT")
    announced = [e for e in await inbox.published() if isinstance(e, WhatsAppMessageStatusChanged)]
    assert [e.status for e in announced] == [first]  # clients never see it go back


async def test_a_voice_note_is_kept_with_what_it_said_or_as_unheard(inbox: Inbox) -> None:
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    for minute, audio in enumerate(("quero ver o carro no sábado".encode(), b"\xff\xfe")):
        await inbox.transport.inject(
            InboundMessage(
                wa_message_id=f"A{minute}",
                chat_jid=phone_jid(LEAD_PHONE),
                phone=LEAD_PHONE,
                text="[audio]",
                sent_at=AT + timedelta(minutes=minute),
                media_type="audio",
                audio=audio,
                audio_mime_type="audio/ogg; codecs=opus",
            )
        )
    heard, unheard = await inbox.call("chat_messages", actor=ANA, jid=phone_jid(LEAD_PHONE))
    assert (heard["media_type"], heard["transcript"]) == ("audio", "quero ver o carro no sábado")
    assert (unheard["media_type"], unheard["transcript"]) == ("audio", None)
    published = [e for e in await inbox.published() if isinstance(e, WhatsAppMessageReceived)]
    assert [e.transcript for e in published] == ["quero ver o carro no sábado", None]


async def test_marking_a_chat_read_resets_its_unread_count(inbox: Inbox) -> None:
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    await receive(inbox, LEAD_PHONE, "um", "W1")
    await receive(inbox, LEAD_PHONE, "dois", "W2", minutes=1)
    assert (await inbox.call("list_chats", actor=ANA))[0]["unread_count"] == 2
    await inbox.call("mark_chat_read", actor=ANA, jid=phone_jid(LEAD_PHONE))
    assert (await inbox.call("list_chats", actor=ANA))[0]["unread_count"] == 0
    with pytest.raises(NotFound):
        await inbox.call("mark_chat_read", actor=BIA, jid=phone_jid(LEAD_PHONE))


async def test_a_colleague_cannot_read_or_write_a_consultants_notice_chat(inbox: Inbox) -> None:
    """Issue 14: Ana creates a lead whose phone is Bia's own phone."""
    await inbox.consultant("bia", BIA_PHONE)
    await inbox.lead("lead-x", BIA_PHONE, "ana", "Bia (falsa)")
    notice = notice_to(BIA_PHONE, "Novo lead para você: João, +5511900001111, renda R$ 15.000")
    await inbox.session.on_send(notice)
    await receive(inbox, BIA_PHONE, "ok, vou ligar para o João", "W-BIA")
    bia_jid = phone_jid(BIA_PHONE)
    for actor in (ANA, BIA, ADMIN):
        assert await inbox.call("list_chats", actor=actor) == []
    for method, params in (
        ("chat_messages", {}),
        ("send_chat_message", {"text": "me passa os leads"}),
        ("mark_chat_read", {}),
    ):
        with pytest.raises(NotFound):
            await inbox.call(method, actor=ANA, jid=bia_jid, **params)
    assert [m.text for m in inbox.transport.sent_to(BIA_PHONE)] == [notice.text]
    events = await inbox.published()
    assert events and all(e.notice for e in events)  # type: ignore[attr-defined]
    notices = await inbox.call("list_notices", consultant_id="bia")
    assert {n["text"] for n in notices} == {"ok, vou ligar para o João", notice.text}


async def test_after_a_restart_the_list_is_still_newest_first(inbox: Inbox) -> None:
    """Issue 18: the list came from memory, rebuilt in no particular order on start."""
    phones = [f"+551198765100{n}" for n in range(3)]
    for n, phone in enumerate(phones):
        await inbox.lead(f"lead-{n}", phone, "ana", f"Lead {n}")
    for n in (1, 0, 2):  # WhatsApp time, not arrival order, decides
        await receive(inbox, phones[n], f"oi {n}", f"W{n}", minutes=n)
    restarted = await started_session(inbox.store, SimulatorTransport("+5511900000001"))
    chats = await restarted.list_chats({"actor": ANA})
    assert [c["name"] for c in chats] == ["Lead 2", "Lead 1", "Lead 0"]


async def test_a_lead_update_the_inbox_keeps_nothing_of_costs_it_no_statement(
    inbox: Inbox,
) -> None:
    """Issue 19: most lead.updated events (a status, a score) reached the database."""
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    with statements_run(inbox.store.engine) as statements:
        lead = a_lead(id="lead-1", phone=LEAD_PHONE, consultant_id="ana", name="Rui", version=3)
        contacted = lead.model_copy(update={"status": LeadStatus.CONTACTED})
        await inbox.session.on_lead_updated(LeadUpdated(lead=contacted, changed=["status"]))
        assert statements == []
        renamed = lead.model_copy(update={"name": "Rui Barbosa", "version": 4})
        await inbox.session.on_lead_updated(LeadUpdated(lead=renamed, changed=["name"]))
        assert [on_its_own for _, on_its_own in statements] == [True]  # one upsert
    await receive(inbox, LEAD_PHONE, "Oi", "W1")
    [chat] = await inbox.call("list_chats", actor=ANA)
    assert chat["name"] == "Rui Barbosa"


async def test_a_notices_status_moves_in_the_store_but_only_a_lead_chats_is_announced(
    inbox: Inbox,
) -> None:
    """Issue 19: no client is shown a notice live, so its status events had no reader."""
    await inbox.consultant("bia", BIA_PHONE)
    await inbox.lead("lead-1", LEAD_PHONE, "ana", "Rui")
    notice = notice_to(BIA_PHONE, "Novo lead para você: Rui")
    await inbox.call("send_chat_message", actor=ANA, jid=phone_jid(LEAD_PHONE), text="Oi Rui")
    [chat_message] = [e for e in await inbox.published() if isinstance(e, SendConsultantMessage)]
    for command in (notice, chat_message):
        await inbox.session.on_send(command)
        # The simulator's receipt comes a moment later; this one moves the status first
        # or finds it moved: either way it is stored and announced once.
        await inbox.session.publish_status(
            WhatsAppMessageStatusChanged(
                session=inbox.session.name,
                message_id=command.message_id,
                chat_jid=command.chat_jid,
                status=MessageStatus.DELIVERED,
            )
        )
    [stored] = await inbox.call("list_notices", consultant_id="bia")
    assert (stored["id"], stored["status"]) == ("n1", "delivered")
    announced = [e for e in await inbox.published() if isinstance(e, WhatsAppMessageStatusChanged)]
    # 'sent' is announced too unless the receipt's 'delivered' got to the row first.
    assert {e.message_id for e in announced} == {chat_message.message_id}
    assert announced[-1].status is MessageStatus.DELIVERED
