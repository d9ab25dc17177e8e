"""wa-consultant's chat list: a chat shows to staff, and to a consultant once it is their lead's."""

from __future__ import annotations

from datetime import UTC, datetime

from wa_consultant.chats import ChatIndex

PHONE = "+5511987654321"
JID = "5511987654321@s.whatsapp.net"
AT = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_a_chat_shows_to_a_consultant_only_once_its_lead_is_theirs() -> None:
    chats = ChatIndex()
    chats.record(JID, PHONE, "Cliente", "Oi", AT, incoming=True)
    assert [c["id"] for c in chats.listing("admin-1", "admin")] == [JID]
    assert chats.listing("ana", "consultant") == []
    chats.link_lead(PHONE, "lead-1", "ana")
    [chat] = chats.listing("ana", "consultant")
    assert (chat["lead_id"], chat["unread_count"], chat["last_message"]) == ("lead-1", 1, "Oi")
    assert chats.listing("bia", "consultant") == []
