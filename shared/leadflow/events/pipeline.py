"""Events of the classification and assignment services."""

from __future__ import annotations

from pydantic import Field

from leadflow.events.base import Event
from leadflow.events.leads import Temperature


class LeadClassified(Event):
    name = "lead.classified"
    lead_id: str
    temperature: Temperature
    ai_score: int = Field(ge=0, le=100)
    ai_reasons: list[str] = Field(description="score components with their points")
    classified_by: str = Field(description="`groq` or `rules`")


class AssignmentDecided(Event):
    name = "assignment.decided"
    lead_id: str
    consultant_id: str | None = Field(description="null when nobody is eligible")
    rule: str = Field(description="e.g. round_robin, creator, manual")
    eligible_ids: list[str] = Field(default_factory=list, description="who else could have")
    reassigns: str | None = Field(
        None, description="rule sla: the consultant the lead is taken from, if still theirs"
    )


class PresenceSnapshot(Event):
    """Who is connected to one realtime replica: sent on every change and as a heartbeat.

    A snapshot replaces the replica's previous one; a replica that stops sending (crashed)
    is forgotten once its snapshot is older than `valid_for_s`.
    """

    name = "presence.snapshot"
    replica_id: str
    consultant_ids: list[str] = Field(description="consultants with at least one connection")
    valid_for_s: float = Field(gt=0, description="how long this snapshot holds without renewal")
