"""Pure fanout rules: which frames an event makes, who may receive them, what to replay.

Visibility: a consultant receives a frame only about a lead assigned to them; admins and
managers receive everything. The consultant session's events say whose chat they are
(wa-consultant decides it) and never reach a client when they are a notice to a
consultant. Lívia's events name a phone, not a lead, so each replica keeps an index
phone → lead owner fed by the lead events it sees; a chat whose lead it does not know yet
is shown to admins and managers only (never wrongly to a consultant).
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from leadflow.auth import AccessClaims
from leadflow.events import (
    Event,
    LeadAssigned,
    LeadCreated,
    LeadScored,
    LeadUpdated,
    LeadView,
    LiviaLeadWaiting,
    LiviaStageChanged,
    Role,
    SessionName,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
    WhatsAppSessionStatusChanged,
)
from leadflow.whatsapp import jid_phone

KANBAN = "kanban"
ADMIN = "admin"


@dataclass(frozen=True)
class Frame:
    id: str
    event: str
    room: str
    data: dict[str, Any]
    ts: str
    lead_owner: str | None
    lead_scoped: bool

    def encode(self) -> str:
        return json.dumps(
            {"id": self.id, "event": self.event, "data": self.data, "ts": self.ts},
            ensure_ascii=False,
            separators=(",", ":"),
        )


@dataclass
class LeadOwners:
    """phone → (lead id, consultant id) of the leads this replica has seen; bounded."""

    capacity: int = 100_000
    by_phone: OrderedDict[str, tuple[str, str | None]] = field(default_factory=OrderedDict)

    def learn(self, lead: LeadView) -> None:
        self.by_phone.pop(lead.phone, None)
        self.by_phone[lead.phone] = (lead.id, lead.consultant_id)
        if len(self.by_phone) > self.capacity:
            self.by_phone.popitem(last=False)

    def owner_of_chat(self, chat_jid: str) -> tuple[str | None, str | None]:
        """(lead id, consultant id) of a chat's phone, or (None, None) if unknown."""
        return self.by_phone.get(jid_phone(chat_jid), (None, None))


def _lead_frame(event: Event, name: str, room: str, lead: LeadView, suffix: str = "") -> Frame:
    return Frame(
        id=event.event_id + suffix,
        event=name,
        room=room,
        data=lead.model_dump(mode="json"),
        ts=event.occurred_at.isoformat(),
        lead_owner=lead.consultant_id,
        lead_scoped=True,
    )


def frames_for(event: Event, owners: LeadOwners) -> list[Frame]:
    """The client frames one broker event becomes (and what the replica learns from it)."""
    if isinstance(event, LeadCreated | LeadUpdated | LeadScored | LeadAssigned):
        owners.learn(event.lead)
    if isinstance(event, LeadCreated):
        return [_lead_frame(event, "kanban:lead_created", KANBAN, event.lead)]
    # A classification is a change like any other to the board: the same frame.
    if isinstance(event, LeadUpdated | LeadScored):
        return [_lead_frame(event, "kanban:lead_updated", KANBAN, event.lead)]
    if isinstance(event, LeadAssigned):
        frames = [_lead_frame(event, "kanban:lead_assigned", KANBAN, event.lead)]
        if event.lead.consultant_id:
            frames.append(
                Frame(
                    id=event.event_id + ":n",
                    event="notification",
                    room=f"consultant:{event.lead.consultant_id}",
                    data={"type": "lead_assigned", "lead": event.lead.model_dump(mode="json")},
                    ts=event.occurred_at.isoformat(),
                    lead_owner=event.lead.consultant_id,
                    lead_scoped=True,
                )
            )
        if event.rule == "sla" and event.previous_consultant_id:
            # The consultant who let it wait learns it has gone, and to whom; no more than
            # that, since the lead is no longer theirs to see.
            frames.append(
                Frame(
                    id=event.event_id + ":r",
                    event="notification",
                    room=f"consultant:{event.previous_consultant_id}",
                    data={
                        "type": "lead_reassigned",
                        "reason": "sla",
                        "lead_id": event.lead.id,
                        "lead_name": event.lead.name,
                        "consultant_id": event.lead.consultant_id,
                    },
                    ts=event.occurred_at.isoformat(),
                    lead_owner=None,
                    lead_scoped=False,
                )
            )
        return frames
    if isinstance(event, WhatsAppMessageReceived | WhatsAppMessageStatusChanged):
        if event.notice:
            return []  # a notice to a consultant is not a lead chat: no client frame
        lead_id, owner = chat_owner(event, owners)
    if isinstance(event, WhatsAppMessageReceived):
        data = {
            "id": event.wa_message_id,
            "session": event.session.value,
            "chat_jid": event.chat_jid,
            "phone": event.phone,
            "direction": "out" if event.from_me else "in",
            "text": event.text,
            "media_type": event.media_type,
            "transcript": event.transcript,
            "timestamp": event.sent_at.isoformat(),
            "sender": event.push_name or event.phone,
            "lead_id": lead_id,
        }
        return [_chat_frame(event, "whatsapp:message", event.chat_jid, data, owner)]
    if isinstance(event, WhatsAppMessageStatusChanged):
        data = {
            "id": event.message_id,
            "wa_message_id": event.wa_message_id,
            "session": event.session.value,
            "chat_jid": event.chat_jid,
            "status": event.status.value,
            "reason": event.reason,
            "lead_id": lead_id,
        }
        return [_chat_frame(event, "whatsapp:message_status", event.chat_jid, data, owner)]
    if isinstance(event, WhatsAppSessionStatusChanged):
        # The pairing code stays out of frames: only an admin fetches it, over REST.
        data = {
            "name": event.session.value,
            "status": event.status.value,
            "phone": event.phone,
            "since": event.since.isoformat(),
        }
        return [
            Frame(
                event.event_id,
                "whatsapp:session",
                ADMIN,
                data,
                event.occurred_at.isoformat(),
                None,
                False,
            )
        ]
    if isinstance(event, LiviaStageChanged):
        data = {
            "lead_id": event.lead_id,
            "conversation_id": event.conversation_id,
            "previous_stage": event.previous_stage.value if event.previous_stage else None,
            "stage": event.stage.value,
        }
        return [
            Frame(
                event.event_id,
                "livia:stage_changed",
                KANBAN,
                data,
                event.occurred_at.isoformat(),
                event.consultant_id,
                True,
            )
        ]
    if isinstance(event, LiviaLeadWaiting) and event.consultant_id:
        # A lead Lívia handed off wrote again: their consultant is reminded.
        return [
            Frame(
                id=event.event_id,
                event="notification",
                room=f"consultant:{event.consultant_id}",
                data={
                    "type": "lead_waiting",
                    "lead_id": event.lead_id,
                    "lead_name": event.lead_name,
                    "text": event.text,
                },
                ts=event.occurred_at.isoformat(),
                lead_owner=event.consultant_id,
                lead_scoped=True,
            )
        ]
    return []


def chat_owner(
    event: WhatsAppMessageReceived | WhatsAppMessageStatusChanged, owners: LeadOwners
) -> tuple[str | None, str | None]:
    """(lead id, consultant id) of a message's chat. The consultant inbox decides it and
    says so in its events (wa-consultant's one rule); Lívia's chats go by the lead's phone."""
    if event.session is SessionName.CONSULTANT:
        return event.lead_id, event.consultant_id
    return owners.owner_of_chat(event.chat_jid)


def _chat_frame(
    event: Event, name: str, chat_jid: str, data: dict[str, Any], owner: str | None
) -> Frame:
    return Frame(
        id=event.event_id,
        event=name,
        room=f"chat:{chat_jid}",
        data=data,
        ts=event.occurred_at.isoformat(),
        lead_owner=owner,
        lead_scoped=True,
    )


def may_join(claims: AccessClaims, room: str) -> bool:
    if room == KANBAN:
        return True
    if room == ADMIN:
        return claims.role in (Role.ADMIN, Role.MANAGER)
    if room.startswith("consultant:"):
        return room == f"consultant:{claims.consultant_id}" or claims.role is not Role.CONSULTANT
    return room.startswith("chat:") and len(room) > len("chat:")


def may_receive(claims: AccessClaims, frame: Frame) -> bool:
    """A consultant never receives a frame about a lead that is not theirs."""
    if claims.role is not Role.CONSULTANT or not frame.lead_scoped:
        return True
    return frame.lead_owner == claims.consultant_id


REPLAY_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class ReplayBuffer:
    """The last frames of this replica, for clients resuming after a drop: at most
    `capacity` frames and `max_bytes` of their encoded size (a lead carries its metadata,
    so a count alone does not bound the memory)."""

    capacity: int = 5000
    max_bytes: int = REPLAY_MAX_BYTES
    frames: deque[Frame] = field(default_factory=deque)
    sizes: deque[int] = field(default_factory=deque)
    size: int = 0

    def append(self, frame: Frame, encoded_size: int | None = None) -> None:
        size = len(frame.encode()) if encoded_size is None else encoded_size
        self.frames.append(frame)
        self.sizes.append(size)
        self.size += size
        while self.frames and (len(self.frames) > self.capacity or self.size > self.max_bytes):
            self.frames.popleft()
            self.size -= self.sizes.popleft()

    def after(self, last_event_id: str) -> list[Frame] | None:
        """Frames since `last_event_id`, or None if it fell out of the buffer (a gap)."""
        for index in range(len(self.frames) - 1, -1, -1):
            if self.frames[index].id == last_event_id:
                return list(self.frames)[index + 1 :]
        return None

    def forget(self) -> None:
        """After a gap in this replica's own feed: every id before it is a resync."""
        self.frames.clear()


GAP_IN_BUFFER = "gap larger than the replay buffer"
FEED_INTERRUPTED = "this server's event feed was interrupted; events may be missing"


def resync_frame(reason: str = GAP_IN_BUFFER) -> Frame:
    """Tells a client it may have missed events (a gap larger than the replay buffer, or
    a lost feed): refetch."""
    return Frame("", "resync", "", {"reason": reason}, "", None, False)


@dataclass
class RecentIds:
    """The last `capacity` event ids seen, to let each through once: the outbox relay
    publishes at least once, and a redelivered event must not become a second frame."""

    capacity: int = 20_000
    order: deque[str] = field(default_factory=deque)
    ids: set[str] = field(default_factory=set)

    def first_time(self, event_id: str) -> bool:
        """True the first time `event_id` is seen (and remembers it), False after."""
        if event_id in self.ids:
            return False
        self.ids.add(event_id)
        self.order.append(event_id)
        if len(self.order) > self.capacity:
            self.ids.discard(self.order.popleft())
        return True
