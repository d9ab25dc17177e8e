"""The rule-based classifier: explicit, documented scoring, no I/O.

Points (total capped at 100):
- affordability: monthly installment (Price table, 1% a month) vs monthly income —
  up to 30% of income: 30 points; up to 40%: 15; above: 0.
- down payment share of the asset value — 30% or more: 20; 20%: 15; 10%: 8.
- stated urgency (metadata `urgency`/`timeline`): now/immediate: 15; months: 8.
- source — whatsapp: 15 (they talked to us); website/webhook: 10; manual: 5.
- completeness — 4 points each for email, asset value, down payment, income, term, city.
Temperature: 70+ HOT, 40+ WARM, else COLD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflow.events import LeadSource, LeadView, Temperature

HOT_FROM = 70
WARM_FROM = 40
ASSUMED_MONTHLY_RATE = 0.01
ASSUMED_TERM_MONTHS = 360
URGENT_WORDS = ("now", "urgent", "immediate", "imediato", "agora", "urgente", "hoje", "já")
SOON_WORDS = ("month", "mes", "mês", "meses", "soon", "breve")
SOURCE_POINTS = {
    LeadSource.WHATSAPP: 15,
    LeadSource.WEBSITE: 10,
    LeadSource.WEBHOOK: 10,
    LeadSource.MANUAL: 5,
}


@dataclass(frozen=True)
class Classification:
    temperature: Temperature
    score: int
    reasons: list[str]


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def price_installment(principal: float, monthly_rate: float, months: int) -> float:
    """Fixed monthly installment of the Price (French) amortisation table."""
    if monthly_rate == 0:
        return principal / months
    factor = (1 + monthly_rate) ** months
    return principal * monthly_rate * factor / (factor - 1)


def classify_by_rules(lead: LeadView) -> Classification:
    data = {**lead.metadata, **(lead.metadata.get("collected") or {})}
    points: list[tuple[int, str]] = []

    value, down = _number(data, "asset_value"), _number(data, "down_payment") or 0.0
    income = _number(data, "monthly_income")
    term = int(_number(data, "term_months") or ASSUMED_TERM_MONTHS)
    if value and income:
        installment = price_installment(max(value - down, 0.0), ASSUMED_MONTHLY_RATE, term)
        share = installment / income
        earned = 30 if share <= 0.30 else 15 if share <= 0.40 else 0
        points.append((earned, f"affordability: installment is {share:.0%} of income"))
    if value:
        share = down / value
        earned = 20 if share >= 0.30 else 15 if share >= 0.20 else 8 if share >= 0.10 else 0
        points.append((earned, f"down payment: {share:.0%} of the value"))

    urgency = str(data.get("urgency") or data.get("timeline") or "").lower()
    if any(word in urgency for word in URGENT_WORDS):
        points.append((15, "urgency: wants it now"))
    elif any(word in urgency for word in SOON_WORDS):
        points.append((8, "urgency: within months"))

    points.append((SOURCE_POINTS[lead.source], f"source: {lead.source.value}"))

    known = [bool(lead.email)] + [
        data.get(k) not in (None, "")
        for k in ("asset_value", "down_payment", "monthly_income", "term_months", "city")
    ]
    points.append((4 * sum(known), f"completeness: {sum(known)} of {len(known)} details known"))

    score = max(0, min(100, sum(p for p, _ in points)))
    temperature = (
        Temperature.HOT
        if score >= HOT_FROM
        else Temperature.WARM
        if score >= WARM_FROM
        else Temperature.COLD
    )
    return Classification(temperature, score, [f"{reason} (+{p})" for p, reason in points])
