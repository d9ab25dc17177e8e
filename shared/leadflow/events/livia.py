"""Lívia's conversation turns: the leads service asks, the ai service decides."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from leadflow.events.base import Event


class LiviaStage(StrEnum):
    INTRO = "INTRO"
    QUALIFICATION = "QUALIFICATION"
    SIMULATION = "SIMULATION"
    CONVERSION = "CONVERSION"
    TRANSFERRED = "TRANSFERRED"


class ConversationLine(BaseModel):
    direction: str = Field(description="in (from the lead) or out (from Lívia)")
    text: str


class LiviaTurnRequested(Event):
    """The lead said something Lívia should answer (a burst arrives as one turn)."""

    name = "livia.turn_requested"
    lead_id: str
    conversation_id: str
    chat_jid: str
    stage: LiviaStage
    collected: dict[str, Any] = Field(default_factory=dict)
    history: list[ConversationLine] = Field(default_factory=list, description="oldest first")
    new_messages: list[str] = Field(description="the unanswered messages of this turn")


class LiviaTurnDecided(Event):
    name = "livia.turn_decided"
    lead_id: str
    conversation_id: str
    chat_jid: str
    reply: str
    stage: LiviaStage
    collected: dict[str, Any]
    answered_by: str = Field(description="`groq` or `script`")


class LiviaStageChanged(Event):
    """A Lívia conversation moved to another stage (published by the leads service)."""

    name = "livia.stage_changed"
    lead_id: str
    conversation_id: str
    previous_stage: LiviaStage | None = None
    stage: LiviaStage
    consultant_id: str | None = Field(None, description="the lead's consultant, for visibility")
