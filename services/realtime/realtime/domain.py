"""Pure fanout rules: which frames an event makes, and who may receive them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from leadflow.auth import AccessClaims
from leadflow.events import Event, LeadAssigned, LeadCreated, LeadUpdated, LeadView, Role

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


def frames_for(event: Event) -> list[Frame]:
    """The client frames one broker event becomes."""
    if isinstance(event, LeadCreated):
        return [_lead_frame(event, "kanban:lead_created", KANBAN, event.lead)]
    if isinstance(event, LeadUpdated):
        return [_lead_frame(event, "kanban:lead_updated", KANBAN, event.lead)]
    if isinstance(event, LeadAssigned):
        frames = [_lead_frame(event, "kanban:lead_assigned", KANBAN, event.lead)]
        if event.lead.consultant_id:
            note = _lead_frame(
                event, "notification", f"consultant:{event.lead.consultant_id}", event.lead, ":n"
            )
            frames.append(
                Frame(
                    id=note.id,
                    event=note.event,
                    room=note.room,
                    data={"type": "lead_assigned", "lead": note.data},
                    ts=note.ts,
                    lead_owner=note.lead_owner,
                    lead_scoped=True,
                )
            )
        return frames
    return []


def may_join(claims: AccessClaims, room: str) -> bool:
    if room == KANBAN:
        return True
    if room == ADMIN:
        return claims.role in (Role.ADMIN, Role.MANAGER)
    if room.startswith("consultant:"):
        return room == f"consultant:{claims.consultant_id}" or claims.role is not Role.CONSULTANT
    return room.startswith("chat:")


def may_receive(claims: AccessClaims, frame: Frame) -> bool:
    """A consultant never receives a frame about a lead that is not theirs."""
    if claims.role is not Role.CONSULTANT or not frame.lead_scoped:
        return True
    return frame.lead_owner == claims.consultant_id
