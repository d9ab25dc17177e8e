"""Message handlers of the ai service: classify leads, answer Lívia's turns."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.bus import Bus, Delivery
from leadflow.events import (
    LeadClassified,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    LiviaTurnDecided,
    LiviaTurnRequested,
    derived_event_id,
)

from ai.classifier import Classifier
from ai.livia.brain import Livia


@dataclass
class AiHandlers:
    bus: Bus
    classifier: Classifier
    livia: Livia

    async def on_lead_event(self, delivery: Delivery) -> None:
        """Classify new leads, and leads Lívia has just qualified."""
        event = delivery.event()
        assert isinstance(event, LeadCreated | LeadUpdated)
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

    async def on_turn_requested(self, delivery: Delivery) -> None:
        turn = delivery.event()
        assert isinstance(turn, LiviaTurnRequested)
        decision, by = await self.livia.answer(
            turn.stage, dict(turn.collected), list(turn.history), list(turn.new_messages)
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
            )
        )
