"""Events about leads and consultants, published by the leads service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events.base import Event


class LeadStatus(StrEnum):
    NEW = "NEW"
    QUALIFYING = "QUALIFYING"
    QUALIFIED = "QUALIFIED"
    CONTACTED = "CONTACTED"
    PROPOSAL = "PROPOSAL"
    WON = "WON"
    LOST = "LOST"


# Columns of a lead nobody has worked yet: the assignment SLA clock runs while it stays in
# them, and an SLA reassignment is void once the lead has left them.
UNWORKED_STATUSES = (LeadStatus.NEW.value, LeadStatus.QUALIFIED.value)


class Temperature(StrEnum):
    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"


class LeadSource(StrEnum):
    WEBSITE = "website"
    WHATSAPP = "whatsapp"
    MANUAL = "manual"
    WEBHOOK = "webhook"


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CONSULTANT = "consultant"


class ConsultantRef(BaseModel):
    id: str
    name: str
    email: str


class LeadView(BaseModel):
    """The lead object of CONTRACT.md, as clients and events carry it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    phone: str
    email: str | None = None
    source: LeadSource
    status: LeadStatus
    temperature: Temperature | None = None
    ai_score: int | None = None
    ai_reasons: list[str] = Field(default_factory=list)
    consultant_id: str | None = None
    consultant: ConsultantRef | None = None
    notes: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int
    created_at: datetime
    updated_at: datetime

    def facts(self) -> dict[str, Any]:
        """The metadata with Lívia's `collected` data merged in, read defensively: the
        metadata is whatever a client sent, so `collected` may be anything."""
        collected = self.metadata.get("collected")
        return {**self.metadata, **(collected if isinstance(collected, dict) else {})}


class ConsultantView(BaseModel):
    """A consultant as clients see it: never the password or its hash."""

    id: str
    name: str
    email: str
    role: Role
    phone: str | None = None
    active: bool
    max_open_leads: int | None = Field(
        None, description="capacity policy: no new leads while this many are open"
    )
    created_at: datetime
    updated_at: datetime


class LeadCreated(Event):
    name = "lead.created"
    lead: LeadView = Field(description="the lead as stored")


class _LeadChanged(Event):
    """The payload of a change to a lead, one definition for the events that carry one."""

    lead: LeadView = Field(description="the lead after the change")
    changed: list[str] = Field(description="the fields that changed")


class LeadUpdated(_LeadChanged):
    """A lead changed (its fields, status or notes)."""

    name = "lead.updated"


class LeadScored(_LeadChanged):
    """A classification changed the lead's temperature, score or reasons. Its own routing
    key because only the board shows these: the services that follow lead.updated keep
    nothing of them, and each would otherwise receive and drop one per lead."""

    name = "lead.scored"


class LeadAssigned(Event):
    name = "lead.assigned"
    lead: LeadView = Field(description="the lead after the assignment")
    previous_consultant_id: str | None = Field(None, description="who had it before")
    rule: str = Field(description="which rule chose the consultant")
    # Read in the assignment's own statement: wa-consultant's projection of phones
    # (consultant.saved) may lag it (see `ConsultantSession.on_lead_assigned`).
    consultant_phone: str | None = Field(
        None,
        description="the new consultant's own phone as the assignment read it, if they have "
        "one: wa-consultant sends them the lead's notice there (clients are never shown it)",
    )


class LeadAssignmentRequested(Event):
    """A lead needs a consultant (new, or one became eligible again)."""

    name = "lead.assignment_requested"
    lead_id: str
    temperature: Temperature | None = None
    lead_created_at: datetime


class ConsultantSaved(Event):
    """A consultant was created or changed; carries the whole record."""

    name = "consultant.saved"
    consultant: ConsultantView


class ConsultantSessionsRevoked(Event):
    """Access tokens stop working at once: every token of a consultant issued before
    `generation` (deactivated, role or password changed), or the one token `jti`
    (logged out). The gateway and realtime keep these in memory and refuse the tokens."""

    name = "consultant.sessions_revoked"
    consultant_id: str
    generation: int | None = Field(
        None, description="tokens of an older session generation are refused"
    )
    jti: str | None = Field(None, description="this one access token is refused")
    expires_at: int | None = Field(None, description="Unix time the revoked token expires")
