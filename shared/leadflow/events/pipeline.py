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
