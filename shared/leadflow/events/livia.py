"""Lívia's conversations: wa-livia keeps them and asks for turns, the ai service decides
what she says, and the leads service learns when a lead is qualified."""

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
    consultant_name: str | None = Field(
        None, description="the lead's consultant, once assigned: named in the hand-off replies"
    )
    consultant_phone: str | None = Field(
        None,
        description="the number consultants write from (+E.164): Lívia tells the lead to "
        "expect the consultant there, not on her own number",
    )
    audio_not_transcribed: int = Field(
        0,
        ge=0,
        description="voice notes of this turn that could not be transcribed: with no text, "
        "Lívia asks for the answer in writing",
    )
    announce_consultant: bool = Field(
        False,
        description="the consultant was just assigned: Lívia tells the lead who they are and "
        "the number they will write from (consultant_name, consultant_phone); no messages "
        "needed",
    )


class LiviaTurnDecided(Event):
    name = "livia.turn_decided"
    lead_id: str
    conversation_id: str
    chat_jid: str
    reply: str
    stage: LiviaStage
    collected: dict[str, Any]
    answered_by: str = Field(description="`groq` or `script`")
    kind: str = Field(
        "conversation",
        description="what the reply is: conversation | simulation | answer (a question "
        "answered with computed numbers) | handoff | consultant_assigned | after_handoff (the "
        "lead wrote after the hand-off: notify the consultant again) | ask_for_text (a voice "
        "note not heard)",
    )


class LiviaStageChanged(Event):
    """A Lívia conversation moved to another stage (published by wa-livia)."""

    name = "livia.stage_changed"
    lead_id: str
    conversation_id: str
    previous_stage: LiviaStage | None = None
    stage: LiviaStage
    consultant_id: str | None = Field(None, description="the lead's consultant, for visibility")


class LiviaLeadQualified(Event):
    """Lívia finished qualifying a lead: it is to become QUALIFIED, classified and assigned."""

    name = "livia.lead_qualified"
    lead_id: str
    conversation_id: str
    collected: dict[str, Any] = Field(description="what she collected, the simulation included")


class LiviaPaused(Event):
    """A person answered from Lívia's phone: she stays quiet in this conversation until an
    admin or manager resumes her."""

    name = "livia.paused"
    lead_id: str
    conversation_id: str


class LiviaResumed(Event):
    """An admin or manager let Lívia continue a conversation a person had taken over."""

    name = "livia.resumed"
    lead_id: str
    conversation_id: str
    actor_id: str = Field(description="who resumed her")


class LiviaLeadWaiting(Event):
    """A lead Lívia handed off wrote to her again: their consultant is reminded."""

    name = "livia.lead_waiting"
    lead_id: str
    conversation_id: str
    consultant_id: str | None = Field(None, description="the consultant to remind, if assigned")
    lead_name: str
    text: str = Field(description="what the lead wrote (or the transcript of their audio)")
