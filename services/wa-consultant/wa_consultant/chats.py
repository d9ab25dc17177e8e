"""The consultant session's chat list, in memory for speed and bounded (LRU).

Rebuilt from the messages the leads service stored when the service starts, kept current
from the session's own traffic, and linked to leads (and their consultant, for
visibility) from the lead events it sees.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.whatsapp import phone_jid

STAFF = ("admin", "manager")


@dataclass
class Chat:
    jid: str
    phone: str
    name: str | None = None
    last_message: str = ""
    timestamp: datetime | None = None
    unread_count: int = 0
    lead_id: str | None = None
    owner: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.jid,
            "name": self.name or self.phone,
            "phone": self.phone,
            "last_message": self.last_message,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "unread_count": self.unread_count,
            "lead_id": self.lead_id,
        }


class ChatIndex:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.chats: OrderedDict[str, Chat] = OrderedDict()  # least recently active first
        self.leads_by_phone: dict[str, tuple[str, str | None]] = {}

    def record(
        self,
        jid: str,
        phone: str,
        name: str | None,
        text: str,
        timestamp: datetime | None,
        *,
        incoming: bool,
    ) -> None:
        chat = self.chats.pop(jid, None) or Chat(jid=jid, phone=phone)
        chat.name = name or chat.name
        if timestamp is None or chat.timestamp is None or timestamp >= chat.timestamp:
            chat.last_message = text
            chat.timestamp = timestamp or chat.timestamp
        chat.unread_count += 1 if incoming else 0
        if phone in self.leads_by_phone:
            chat.lead_id, chat.owner = self.leads_by_phone[phone]
        self.chats[jid] = chat
        while len(self.chats) > self.capacity:
            self.chats.popitem(last=False)

    def link_lead(self, phone: str, lead_id: str, owner: str | None) -> None:
        self.leads_by_phone[phone] = (lead_id, owner)
        chat = self.chats.get(phone_jid(phone))
        if chat is not None:
            chat.lead_id, chat.owner = lead_id, owner

    def restore(self, row: dict[str, Any]) -> None:
        """One chat as the leads service stored it (rebuilding the index at start)."""
        timestamp = datetime.fromisoformat(row["timestamp"]) if row.get("timestamp") else None
        self.chats[row["jid"]] = Chat(
            jid=row["jid"],
            phone=row["phone"],
            name=row.get("name"),
            last_message=row.get("last_message") or "",
            timestamp=timestamp,
            unread_count=int(row.get("unread_count") or 0),
            lead_id=row.get("lead_id"),
            owner=row.get("owner"),
        )
        if row.get("lead_id"):
            self.leads_by_phone[row["phone"]] = (row["lead_id"], row.get("owner"))
        while len(self.chats) > self.capacity:
            self.chats.popitem(last=False)

    def mark_read(self, jid: str) -> None:
        if jid in self.chats:
            self.chats[jid].unread_count = 0

    def listing(self, actor_id: str, role: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest activity first; a consultant sees the chats of their own leads only.

        The index is kept in order of activity, so a page is read off its end without
        sorting every chat on every request.
        """
        page: list[dict[str, Any]] = []
        for chat in reversed(self.chats.values()):
            if role in STAFF or (chat.owner is not None and chat.owner == actor_id):
                page.append(chat.public())
                if len(page) == limit:
                    break
        return page
