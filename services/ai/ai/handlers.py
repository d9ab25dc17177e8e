"""Message handlers of the ai service."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.bus import Bus, Delivery
from leadflow.events import LeadClassified, LeadCreated, derived_event_id

from ai.rules import classify_by_rules


@dataclass
class AiHandlers:
    bus: Bus

    async def on_lead_created(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, LeadCreated)
        result = classify_by_rules(event.lead)
        await self.bus.publish_event(
            LeadClassified(
                # Same input event, same output id: a redelivery is ignored downstream.
                event_id=derived_event_id(event.event_id, LeadClassified.name),
                correlation_id=event.correlation_id,
                lead_id=event.lead.id,
                temperature=result.temperature,
                ai_score=result.score,
                ai_reasons=result.reasons,
                classified_by="rules",
            )
        )
