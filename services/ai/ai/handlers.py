"""Message handlers of the ai service: classify leads, answer Lívia's turns, transcribe."""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass
from typing import Any

from leadflow.bus import Bus
from leadflow.events import (
    MAX_AUDIO_BYTES,
    AudioTranscription,
    LeadClassified,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    LiviaTurnDecided,
    LiviaTurnRequested,
    NotTranscribedReason,
    TranscribeAudio,
    derived_event_id,
)
from leadflow.rpc import Invalid, parse

from ai.classifier import Classifier
from ai.groq_gateway import GroqSpeech, not_transcribed
from ai.livia.brain import Livia
from ai.livia.conversation import TurnContext


@dataclass
class AiHandlers:
    bus: Bus
    classifier: Classifier
    livia: Livia
    speech: GroqSpeech | None = None
    transcribe_deadline_s: float = 4.5  # under the caller's RPC deadline: it always hears back

    async def transcribe(self, params: dict[str, Any]) -> AudioTranscription:
        """A voice note's text, or `transcribed=false` and why (the caller asks for text)."""
        request = parse(TranscribeAudio, params)
        try:
            audio = base64.b64decode(request.audio_b64, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("audio_b64: not valid base64") from None
        if not audio:
            raise Invalid("audio_b64: the audio is empty")
        if len(audio) > MAX_AUDIO_BYTES:
            return not_transcribed(NotTranscribedReason.TOO_LARGE)
        if self.speech is None:
            return not_transcribed(NotTranscribedReason.UNAVAILABLE)
        try:
            async with asyncio.timeout(self.transcribe_deadline_s):
                return await self.speech.transcribe(audio, request.mime_type, request.language)
        except TimeoutError:
            return not_transcribed(NotTranscribedReason.FAILED)

    async def on_lead_event(self, event: LeadCreated | LeadUpdated) -> None:
        """Classify new leads, and leads Lívia has just qualified."""
        if isinstance(event, LeadUpdated) and not (
            "status" in event.changed and event.lead.status is LeadStatus.QUALIFIED
        ):
            return
        result, by = await self.classifier.classify(event.lead)
        await self.bus.publish_event(
            LeadClassified(
                # Same input event, same output id: a redelivery is ignored downstream.
                event_id=derived_event_id(event.event_id, LeadClassified.name),
                correlation_id=event.correlation_id,
                lead_id=event.lead.id,
                temperature=result.temperature,
                ai_score=result.score,
                ai_reasons=result.reasons,
                classified_by=by,
            )
        )

    async def on_turn_requested(self, turn: LiviaTurnRequested) -> None:
        """Lívia's answer to the lead's new messages, decided in code (worded by Groq)."""
        context = TurnContext(
            consultant_name=turn.consultant_name,
            consultant_phone=turn.consultant_phone,
            audio_not_transcribed=turn.audio_not_transcribed,
            said_before=tuple(line.text for line in turn.history if line.direction == "out"),
            announce_consultant=turn.announce_consultant,
        )
        decision, by = await self.livia.answer(
            turn.stage, dict(turn.collected), list(turn.history), list(turn.new_messages), context
        )
        if decision.reply is None and decision.stage is turn.stage:
            return  # nothing to say (after the hand-off)
        await self.bus.publish_event(
            LiviaTurnDecided(
                event_id=derived_event_id(turn.event_id, LiviaTurnDecided.name),
                correlation_id=turn.correlation_id,
                lead_id=turn.lead_id,
                conversation_id=turn.conversation_id,
                chat_jid=turn.chat_jid,
                reply=decision.reply or "",
                stage=decision.stage,
                collected=decision.collected,
                answered_by=by,
                kind=decision.kind,
            )
        )
