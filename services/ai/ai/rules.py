"""The rule-based classifier: explicit, documented scoring, no I/O; reasons in pt-BR.

Points (total capped at 100):
- capacidade de pagamento: the installment Lívia told the lead (her simulation, stored with
  what she collected) or, for leads she did not simulate, the same computation with the
  same rates (term 360 months when unknown) — up to 30% of income: 30 points; up to 40%:
  15; above: 0. The percentage in the reason is written exactly as Lívia wrote it.
- entrada: down payment share of the asset value — 30% or more: 20; 20%: 15; 10%: 8.
- urgência (metadata `urgency`/`timeline`): now/immediate: 15; months: 8.
- origem — whatsapp: 15 (they talked to us); website/webhook: 10; manual: 5.
- dados — 3 points for each of the eight details Lívia asks for (24 at most).
Temperature: 70+ HOT, 40+ WARM, else COLD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from leadflow.events import LeadSource, LeadView, Temperature

from ai.livia.extraction import FIELDS
from ai.livia.simulation import run_simulation
from ai.livia.texts import brl, percent

HOT_FROM = 70
WARM_FROM = 40
ASSUMED_TERM_MONTHS = 360
URGENT_WORDS = ("now", "urgent", "immediate", "imediato", "agora", "urgente", "hoje", "já")
SOON_WORDS = ("month", "mes", "mês", "meses", "soon", "breve")
SOURCE_POINTS = {
    LeadSource.WHATSAPP: 15,
    LeadSource.WEBSITE: 10,
    LeadSource.WEBHOOK: 10,
    LeadSource.MANUAL: 5,
}
SOURCE_NAMES = {
    LeadSource.WHATSAPP: "WhatsApp",
    LeadSource.WEBSITE: "site",
    LeadSource.WEBHOOK: "integração",
    LeadSource.MANUAL: "cadastro manual",
}
POINTS_PER_DETAIL = 3


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
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < math.inf else None


def price_installment(principal: float, monthly_rate: float, months: int) -> float:
    """Fixed monthly installment of the Price (French) amortisation table."""
    if monthly_rate == 0:
        return principal / months
    factor = (1 + monthly_rate) ** months
    return principal * monthly_rate * factor / (factor - 1)


def simulation_of(data: dict[str, Any]) -> dict[str, Any] | None:
    """The simulation Lívia told the lead, else the same computation on the lead's data."""
    told = data.get("simulation")
    if isinstance(told, dict) and told.get("income_commitment") is not None:
        return told
    value, income = _number(data, "asset_value"), _number(data, "monthly_income")
    if not value or not income:
        return None
    return run_simulation(
        {
            "asset_type": data.get("asset_type") or "property",
            "asset_value": value,
            "down_payment": _number(data, "down_payment") or 0.0,
            "monthly_income": income,
            # Whatever a form sent, 1 month to 50 years (0.5 or 10**18 broke the maths).
            "term_months": min(
                600, max(1, int(_number(data, "term_months") or ASSUMED_TERM_MONTHS))
            ),
        }
    )


def classify_by_rules(lead: LeadView) -> Classification:
    data = lead.facts()
    points: list[tuple[int, str]] = []

    value, down = _number(data, "asset_value"), _number(data, "down_payment") or 0.0
    simulation = simulation_of(data)
    if simulation is not None:
        share = float(simulation["income_commitment"])
        earned = 30 if share <= 0.30 else 15 if share <= 0.40 else 0
        which = "a primeira parcela" if simulation["system"] == "SAC" else "a parcela"
        points.append(
            (
                earned,
                f"capacidade de pagamento: {which} de {brl(simulation['first_installment'])} "
                f"compromete {percent(share)} da renda",
            )
        )
    if value:
        share = down / value
        earned = 20 if share >= 0.30 else 15 if share >= 0.20 else 8 if share >= 0.10 else 0
        said = "sem entrada" if not down else f"{percent(share)} do valor"
        points.append((earned, f"entrada: {said}"))

    urgency = str(data.get("urgency") or data.get("timeline") or "").lower()
    if any(word in urgency for word in URGENT_WORDS):
        points.append((15, "urgência: quer agora"))
    elif any(word in urgency for word in SOON_WORDS):
        points.append((8, "urgência: nos próximos meses"))

    points.append((SOURCE_POINTS[lead.source], f"origem: {SOURCE_NAMES[lead.source]}"))

    known = sum(
        1
        for name in FIELDS
        if data.get(name) not in (None, "") or (name == "full_name" and lead.name.strip())
    )
    points.append(
        (
            POINTS_PER_DETAIL * known,
            f"dados: {known} de {len(FIELDS)} informados",
        )
    )

    score = max(0, min(100, sum(p for p, _ in points)))
    temperature = (
        Temperature.HOT
        if score >= HOT_FROM
        else Temperature.WARM
        if score >= WARM_FROM
        else Temperature.COLD
    )
    return Classification(temperature, score, [f"{reason} (+{p})" for p, reason in points])
