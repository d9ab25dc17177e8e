"""Lívia's stage machine and her scripted replies (Brazilian Portuguese).

Code decides the stage, never the model: INTRO → QUALIFICATION → SIMULATION →
CONVERSION → TRANSFERRED, and only these transitions. Every field a message states is
taken; she asks only for what is missing, never twice for what was said. Off-topic,
rude or "transfer me now" messages do not skip a stage: only consent after the
simulation transfers the lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leadflow.events import LiviaStage

from ai.livia.extraction import FIELDS, extract, plain
from ai.livia.simulation import DEFAULT_MONTHLY_RATE, brl, simulate

ALLOWED = {
    LiviaStage.INTRO: {LiviaStage.QUALIFICATION},
    LiviaStage.QUALIFICATION: {LiviaStage.SIMULATION},
    LiviaStage.SIMULATION: {LiviaStage.CONVERSION, LiviaStage.TRANSFERRED},
    LiviaStage.CONVERSION: {LiviaStage.TRANSFERRED},
    LiviaStage.TRANSFERRED: set(),
}
QUESTIONS = {
    "full_name": "Para começar, qual é o seu nome completo?",
    "asset_type": "Você quer financiar um imóvel ou um veículo?",
    "asset_value": "Qual é o valor aproximado do {asset}?",
    "down_payment": "Quanto você pretende dar de entrada?",
    "monthly_income": "E qual é a sua renda mensal?",
    "term_months": "Em quanto tempo gostaria de pagar? Por exemplo: 30 anos ou 48 meses.",
    "city": "Em qual cidade você mora?",
    "contact_time": (
        "Qual o melhor horário para um consultor falar com você: manhã, tarde ou noite?"
    ),
}
YES = re.compile(r"\b(sim|pode|quero|claro|ok|okay|beleza|bora|aceito|pode ser|com certeza|s)\b")
NO = re.compile(r"\b(nao|agora nao|depois|ainda nao|nem)\b")


class InvalidTransition(ValueError):
    pass


def transition(current: LiviaStage, target: LiviaStage) -> LiviaStage:
    if target is not current and target not in ALLOWED[current]:
        raise InvalidTransition(f"{current.value} → {target.value} is not allowed")
    return target


@dataclass(frozen=True)
class Decision:
    reply: str | None
    stage: LiviaStage
    collected: dict[str, Any] = field(default_factory=dict)


def missing(collected: dict[str, Any]) -> list[str]:
    return [name for name in FIELDS if collected.get(name) in (None, "")]


def consent_of(text: str) -> bool | None:
    lowered = plain(text)
    if NO.search(lowered):
        return False
    if YES.search(lowered):
        return True
    return None


def question_for(name: str, collected: dict[str, Any]) -> str:
    asset = "imóvel" if collected.get("asset_type") == "property" else "veículo"
    return QUESTIONS[name].format(asset=asset)


def simulation_text(sim: dict[str, Any], income: float | None) -> str:
    lines = [
        f"Fiz uma simulação para você (tabela {sim['system']}, taxa de "
        f"{100 * sim['monthly_rate']:.2f}% ao mês):",
        f"• valor financiado: {brl(sim['principal'])} em {sim['term_months']} meses",
        f"• primeira parcela: {brl(sim['first_installment'])}",
        f"• total pago: {brl(sim['total_paid'])}",
    ]
    if sim.get("income_commitment") is not None and income:
        lines.append(f"• a parcela compromete {100 * sim['income_commitment']:.0f}% da sua renda")
    lines.append("Posso passar o seu atendimento para um dos nossos consultores? (sim/não)")
    return "\n".join(lines)


def run_simulation(collected: dict[str, Any], rates: dict[str, float]) -> dict[str, Any]:
    """Both tables, computed here: the main one by asset type, the other as an alternative."""
    asset = str(collected.get("asset_type") or "property")
    rate = rates.get(asset, DEFAULT_MONTHLY_RATE.get(asset, 0.0099))
    system = "SAC" if asset == "property" else "PRICE"
    result: dict[str, Any] = simulate(
        float(collected["asset_value"]),
        float(collected.get("down_payment") or 0),
        int(collected["term_months"]),
        rate,
        float(collected.get("monthly_income") or 0) or None,
        system=system,
    ).as_dict()
    alternative = simulate(
        float(collected["asset_value"]),
        float(collected.get("down_payment") or 0),
        int(collected["term_months"]),
        rate,
        None,
        system="PRICE" if system == "SAC" else "SAC",
    ).as_dict()
    result["alternative"] = {
        k: alternative[k] for k in ("system", "first_installment", "last_installment", "total_paid")
    }
    return result


def merge(collected: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """New facts fill gaps and correct earlier ones; nothing known is ever dropped."""
    merged = dict(collected)
    merged.update({k: v for k, v in found.items() if v not in (None, "")})
    return merged


def decide(
    stage: LiviaStage,
    collected: dict[str, Any],
    new_messages: list[str],
    rates: dict[str, float] | None = None,
) -> Decision:
    """The scripted Lívia: what she says next, the new stage, what she now knows."""
    rates = rates or DEFAULT_MONTHLY_RATE
    if stage is LiviaStage.TRANSFERRED:
        return Decision(None, stage, collected)  # silent after the hand-off
    text = "\n".join(new_messages)
    awaited = next(iter(missing(collected)), None)
    known = merge(collected, extract(text, awaited, collected))
    learned = [k for k in known if collected.get(k) != known[k]]

    if stage in (LiviaStage.SIMULATION, LiviaStage.CONVERSION):
        consent = consent_of(text)
        if consent:
            return Decision(
                "Ótimo! Vou passar o seu atendimento agora para um consultor, que vai falar com "
                "você por aqui mesmo.",
                transition(stage, LiviaStage.TRANSFERRED),
                known,
            )
        target = transition(stage, LiviaStage.CONVERSION)
        if consent is False:
            reply = (
                'Sem problemas! Se mudar de ideia, é só me dizer "quero falar com um '
                'consultor" que eu te passo na hora.'
            )
        else:
            reply = (
                "Posso passar você para um consultor agora para seguir com a proposta? (sim/não)"
            )
        return Decision(reply, target, known)

    opening = ""
    if stage is LiviaStage.INTRO:
        stage = transition(stage, LiviaStage.QUALIFICATION)
        opening = (
            "Olá! Eu sou a Lívia, assistente virtual de financiamentos. Vou te fazer "
            "algumas perguntas rápidas para simular o seu financiamento. "
        )
    still_missing = missing(known)
    if not still_missing:
        known["simulation"] = run_simulation(known, rates)
        stage = transition(stage, LiviaStage.SIMULATION)
        income = known.get("monthly_income")
        return Decision(opening + simulation_text(known["simulation"], income), stage, known)
    acknowledgement = ""
    if learned and not opening:
        first_name = str(known.get("full_name") or "").split(" ")[0]
        acknowledgement = f"Perfeito, {first_name}! " if first_name else "Anotado! "
    elif not learned and not opening:
        acknowledgement = "Posso te ajudar com a simulação do seu financiamento. "
    return Decision(opening + acknowledgement + question_for(still_missing[0], known), stage, known)
