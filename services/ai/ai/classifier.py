"""Classification: Groq when configured and healthy, the explicit rules otherwise."""

from __future__ import annotations

import json
from typing import Literal

from leadflow.events import LeadView, Temperature
from pydantic import BaseModel, Field

from ai.groq_gateway import ANSWERED_BY, GroqJson
from ai.rules import Classification, classify_by_rules

SYSTEM_PROMPT = (
    "You classify leads of a Brazilian financing company (real estate and vehicles). "
    'Answer with a JSON object: {"temperature": "HOT"|"WARM"|"COLD", '
    '"score": 0-100, "reasons": [short human-readable reasons with their points]}. '
    "HOT: affordable (installment up to 30% of income), solid down payment, urgent. "
    "COLD: little data, unaffordable or no intent. Write the reasons in Brazilian "
    "Portuguese, for a Brazilian sales team. `computed` holds the figures the company "
    "already told the lead (installment, share of income, down payment share): use exactly "
    "these numbers, never compute your own."
)


class GroqClassification(BaseModel):
    temperature: Literal["HOT", "WARM", "COLD"]
    score: int = Field(ge=0, le=100)
    reasons: list[str] = Field(min_length=1, max_length=10)


class Classifier:
    def __init__(self, groq: GroqJson | None) -> None:
        self.groq = groq

    async def classify(self, lead: LeadView) -> tuple[Classification, str]:
        """(classification, who decided: `groq` or `rules`)."""
        if self.groq is not None:
            rules = classify_by_rules(lead)
            facts = {
                "source": lead.source.value,
                "has_email": bool(lead.email),
                "data": lead.facts(),
                # one computation: what Lívia told the lead, as the rules score it
                "computed": rules.reasons,
            }
            answer = await self.groq.ask(
                "classification", SYSTEM_PROMPT, json.dumps(facts, default=str), GroqClassification
            )
            if answer is not None:
                ANSWERED_BY.labels("classification", "groq").inc()
                return Classification(
                    Temperature(answer.temperature), answer.score, [r[:200] for r in answer.reasons]
                ), "groq"
        ANSWERED_BY.labels("classification", "rules").inc()
        return classify_by_rules(lead), "rules"
