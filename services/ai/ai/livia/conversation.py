"""Lívia's stage machine and her scripted replies (Brazilian Portuguese).

Code decides the stage, never the model: INTRO → QUALIFICATION → SIMULATION →
CONVERSION → TRANSFERRED, and only these transitions. Every field a message states is
taken; she asks only for what is missing, never twice for what was said. Off-topic,
rude or "transfer me now" messages do not skip a stage: only consent after the
simulation transfers the lead.

Questions about the simulation ("e em 60 meses?", "e se eu der 100 mil de entrada?",
"PRICE ou SAC?", "qual a taxa?") are answered with numbers computed here, as soon as she
knows the value and the term, and what they ask about is not taken as the lead's choice
(ai.livia.what_if); what the lead says they want ("quero em 60 meses") is. After the
hand-off she answers once, truthfully (who will call, from which number); a voice note
she could not hear gets a kind request for text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leadflow.events import LiviaStage

from ai.livia import texts
from ai.livia.extraction import FIELDS, interjection_length, plain
from ai.livia.simulation import DEFAULT_MONTHLY_RATE, run_simulation
from ai.livia.what_if import Reading, read

ALLOWED = {
    LiviaStage.INTRO: {LiviaStage.QUALIFICATION},
    LiviaStage.QUALIFICATION: {LiviaStage.SIMULATION},
    LiviaStage.SIMULATION: {LiviaStage.CONVERSION, LiviaStage.TRANSFERRED},
    LiviaStage.CONVERSION: {LiviaStage.TRANSFERRED},
    LiviaStage.TRANSFERRED: set(),
}
SIMULATED_FIELDS = ("asset_value", "down_payment", "monthly_income", "term_months")
YES = re.compile(
    r"\b(sim|pode|quero|claro|ok|okay|beleza|blz|bora|aceito|pode ser|com certeza|s|isso|"
    r"fechado|manda|vamos)\b"
)
NO = re.compile(r"\b(nao|agora nao|depois|ainda nao|nem)\b")
# "ainda não falaram comigo", "ninguém me ligou": the "não" is about being left without an
# answer, and what the lead wants is a person to talk to them (searched, so "ainda não" is
# found by its "não").
NOBODY_CALLED = re.compile(
    r"\b(nao|ninguem|nunca)\s+(me\s+|nao\s+)?(falaram|falou|ligaram|ligou|"
    r"chamaram|chamou|responderam|respondeu|retornaram|retornou|atenderam|atendeu|"
    r"procuraram|procurou|entraram em contato|entrou em contato)\b"
)
GREETING = re.compile(r"\b(bom dia|boa tarde|boa noite|ola|oi|oie|oii|e ai|eae)\b")
GREETING_WORDS = {"bom dia": "Bom dia", "boa tarde": "Boa tarde", "boa noite": "Boa noite"}
QUESTION = re.compile(
    r"\?|^\s*(e se|se for|se eu|quanto|qual|quais|como|e em|e com|e no|e na|da pra|posso)\b"
)
RATE_QUESTION = re.compile(r"\b(taxa|juros|juro)\b")
SYSTEMS_QUESTION = re.compile(r"\b(price|sac|tabela)\b")
THANKS_ONLY = re.compile(
    r"^\W*(ok+|okay|obrigad[oa]|obg|valeu|vlw|brigad[oa]|beleza|blz|certo|ta bom|tabom|"
    r"show|top|perfeito|combinado|entendi|otimo|👍|🙏|😊|❤️|tmj)(\W+(ok+|obrigad[oa]|valeu|"
    r"lívia|livia|entao|entendi|certo|🙏|👍|😊))*\W*$"
)


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
    # conversation | simulation | answer | handoff | consultant_assigned | after_handoff |
    # ask_for_text
    kind: str = "conversation"


@dataclass(frozen=True)
class TurnContext:
    """What the conversation side knows beyond the words: who the consultant is, voice
    notes it could not transcribe, and what Lívia already said (to vary and not repeat)."""

    consultant_name: str | None = None
    consultant_phone: str | None = None
    audio_not_transcribed: int = 0
    said_before: tuple[str, ...] = ()
    announce_consultant: bool = False

    @property
    def turn(self) -> int:
        return len(self.said_before)


def missing(collected: dict[str, Any]) -> list[str]:
    return [name for name in FIELDS if collected.get(name) in (None, "")]


def consent_of(text: str) -> bool | None:
    lowered = plain(text)
    if NOBODY_CALLED.search(lowered):
        return True
    if NO.search(lowered):
        return False
    if YES.search(lowered):
        return True
    return None


def question_for(name: str, collected: dict[str, Any], turn: int = 0) -> str:
    return texts.question(name, collected, turn)


def merge(collected: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """New facts fill gaps and correct earlier ones; nothing known is ever dropped."""
    merged = dict(collected)
    merged.update({k: v for k, v in found.items() if v not in (None, "")})
    return merged


def greeting_of(text: str) -> str | None:
    """'Boa tarde' when the lead said it; None when there was no greeting."""
    lowered = plain(text)
    for words, greeting in GREETING_WORDS.items():
        if words in lowered:
            return greeting
    return "Olá" if GREETING.search(lowered) else None


def decide(
    stage: LiviaStage,
    collected: dict[str, Any],
    new_messages: list[str],
    rates: dict[str, float] | None = None,
    context: TurnContext | None = None,
) -> Decision:
    """The scripted Lívia: what she says next, the new stage, what she now knows."""
    rates = rates or DEFAULT_MONTHLY_RATE
    context = context or TurnContext()
    text = "\n".join(m for m in new_messages if m.strip())
    if context.announce_consultant:
        reply = texts.consultant_assigned_text(
            texts.first_name(collected), context.consultant_name, context.consultant_phone
        )
        return Decision(reply, stage, collected, "consultant_assigned")
    if stage is LiviaStage.TRANSFERRED:
        return _after_handoff(collected, text, context)
    if context.audio_not_transcribed and not text:
        already = any(
            line.startswith(texts.ask_for_text(False)[:30]) for line in context.said_before
        )
        return Decision(texts.ask_for_text(already), stage, collected, "ask_for_text")

    awaited = next(iter(missing(collected)), None)
    reading = read(text, awaited, collected)
    found = reading.stated
    asking = bool(QUESTION.search(plain(text)))

    if stage in (LiviaStage.SIMULATION, LiviaStage.CONVERSION):
        return _after_simulation(stage, collected, text, reading, asking, rates, context)

    known = merge(collected, found)
    learned = [k for k in FIELDS if k in found and collected.get(k) != known.get(k)]
    opening = ""
    if stage is LiviaStage.INTRO:
        stage = transition(stage, LiviaStage.QUALIFICATION)
        opening = texts.opening(greeting_of(text), texts.first_name(known)) + " "
    asked = _changes(known, reading.asked)
    answer = _what_if_answer(known, asked, plain(text), rates) if asked else None
    if answer is None and (asking or asked):
        answer = _answer_before_simulation(text, known, rates, asked)
    still_missing = missing(known)
    if not still_missing:
        known["simulation"] = run_simulation(known, rates)
        stage = transition(stage, LiviaStage.SIMULATION)
        reply = texts.simulation_text(known, known["simulation"], answer if asked else None)
        return Decision(opening + reply, stage, known, "simulation")
    next_question = question_for(still_missing[0], known, context.turn)
    if answer:
        heard = texts.understood(known, learned)
        lead = f"{opening}{heard} " if heard else opening
        between = "\n" if "\n" in answer else " "  # after a list of figures, a new line
        return Decision(f"{lead}{answer}{between}{next_question}", stage, known, "answer")
    if opening:
        acknowledgement = texts.understood(known, learned)
        lead = f"{acknowledgement} " if acknowledgement else ""
        return Decision(opening + lead + next_question, stage, known)
    if learned:
        acknowledgement = texts.acknowledgement(known, learned, context.turn)
        return Decision(f"{acknowledgement} {next_question}", stage, known)
    if asking:
        return Decision(
            "Boa pergunta! Os detalhes o consultor te explica logo depois da simulação. "
            + next_question,
            stage,
            known,
            "answer",
        )
    if greeting := greeting_of(text):
        return Decision(f"{greeting}! {next_question}", stage, known)
    if interjection_length(re.findall(r"\w+", text)):  # "nossa, que calor": small talk
        return Decision(f"{texts.pick(SMALL_TALK, context.turn)} {next_question}", stage, known)
    return Decision(f"{texts.pick(NOT_UNDERSTOOD, context.turn)} {next_question}", stage, known)


SMALL_TALK = ("Pois é! 😊", "Né? 😄", "Imagino! 😊")


NOT_UNDERSTOOD = (
    "Não consegui entender, desculpe.",
    "Acho que não entendi direito.",
    "Posso te ajudar com a simulação do seu financiamento.",
)


def _answer_before_simulation(
    text: str, known: dict[str, Any], rates: dict[str, float], asked: dict[str, Any]
) -> str | None:
    lowered = plain(text)
    if RATE_QUESTION.search(lowered):
        return texts.rate_text(known.get("asset_type"), rates)
    if SYSTEMS_QUESTION.search(lowered):
        return (
            "Na tabela PRICE as parcelas são fixas; na SAC começam maiores e vão diminuindo, "
            "com menos juros no total. Mostro as duas assim que eu tiver os seus dados."
        )
    if asked or re.search(r"\b(parcela|prestacao|quanto fica)\b", lowered):
        return "Eu calculo a parcela para você assim que tiver os dados que faltam."
    return None


def _changes(collected: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The simulated fields `found` gives another value than `collected` has."""
    return {k: v for k, v in found.items() if k in SIMULATED_FIELDS and collected.get(k) != v}


def _after_simulation(
    stage: LiviaStage,
    collected: dict[str, Any],
    text: str,
    reading: Reading,
    asking: bool,
    rates: dict[str, float],
    context: TurnContext,
) -> Decision:
    lowered = plain(text)
    if _changes(collected, reading.stated):
        # A correction or a new choice ("quero em 60 meses"): simulated again and kept.
        known = merge(collected, reading.stated)
        known["simulation"] = run_simulation(known, rates)
        return Decision(
            texts.simulation_text(known, known["simulation"]),
            transition(stage, LiviaStage.CONVERSION),
            known,
            "simulation",
        )
    asked = _changes(collected, reading.asked)
    if asking or asked:
        answer = _simulation_answer(collected, lowered, asked, rates)
        if answer:
            target = transition(stage, LiviaStage.CONVERSION)
            again = texts.pick(texts.CONSENT_AGAIN, context.turn)
            return Decision(f"{answer}\n{again}", target, collected, "answer")
    known = merge(collected, reading.stated)
    consent = None if asking else consent_of(text)
    if consent:
        return Decision(
            texts.handoff_text(context.consultant_name, context.consultant_phone),
            transition(stage, LiviaStage.TRANSFERRED),
            known,
            "handoff",
        )
    target = transition(stage, LiviaStage.CONVERSION)
    if consent is False:
        reply = (
            'Sem problemas! Se mudar de ideia, é só me dizer "quero falar com um consultor" '
            "que eu te passo na hora."
        )
    elif asking:
        reply = "Essa o consultor te responde melhor. " + texts.pick(
            texts.CONSENT_AGAIN, context.turn
        )
    else:
        reply = texts.pick(texts.CONSENT_AGAIN, context.turn)
    return Decision(reply, target, known)


def _what_if_answer(
    known: dict[str, Any], asked: dict[str, Any], lowered: str, rates: dict[str, float]
) -> str | None:
    """The simulation a question asks about, once the value and the term are known."""
    scenario = merge(known, asked)
    if any(scenario.get(name) in (None, "") for name in ("asset_value", "term_months")):
        return None
    system = "PRICE" if "price" in lowered else "SAC" if "sac" in lowered else None
    what_if = run_simulation(scenario, rates, system=system)
    return texts.what_if_text(_change_words(asked), what_if, redone="simulation" in known)


def _simulation_answer(
    collected: dict[str, Any], lowered: str, asked: dict[str, Any], rates: dict[str, float]
) -> str | None:
    """A question about the simulation, answered with the code's numbers; None if it is not one."""
    if asked:
        return _what_if_answer(collected, asked, lowered, rates)
    if RATE_QUESTION.search(lowered):
        return texts.rate_text(collected.get("asset_type"), rates)
    sim = collected.get("simulation") or run_simulation(collected, rates)
    if SYSTEMS_QUESTION.search(lowered):
        main = sim["system"]
        other = run_simulation(collected, rates, system="PRICE" if main == "SAC" else "SAC")
        return texts.systems_text(sim, other)
    if re.search(r"\b(parcela|prestacao|quanto fica|quanto vai ficar|total)\b", lowered):
        return (
            f"Na simulação que fiz: {texts.installment_line(sim)}, total de "
            f"{texts.brl(sim['total_paid'])}."
        )
    return None


def _change_words(changed: dict[str, Any]) -> str:
    parts = []
    if "term_months" in changed:
        parts.append(f"em {texts.months_text(int(changed['term_months']))}")
    if "down_payment" in changed:
        down = float(changed["down_payment"])
        parts.append(f"com entrada de {texts.brl(down)}" if down else "sem entrada")
    if "asset_value" in changed:
        parts.append(f"com valor de {texts.brl(float(changed['asset_value']))}")
    if "monthly_income" in changed:
        parts.append(f"com renda de {texts.brl(float(changed['monthly_income']))}")
    return " e ".join(parts)


def _after_handoff(collected: dict[str, Any], text: str, context: TurnContext) -> Decision:
    """One short, true answer; nothing to say to a mere thank-you (no loop)."""
    if not text and not context.audio_not_transcribed:
        return Decision(None, LiviaStage.TRANSFERRED, collected)
    if text and THANKS_ONLY.match(plain(text)):
        return Decision(None, LiviaStage.TRANSFERRED, collected)
    first = texts.after_handoff_text(context.consultant_name, context.consultant_phone, False)
    repeated = any(line == first for line in context.said_before[-3:])
    reply = texts.after_handoff_text(context.consultant_name, context.consultant_phone, repeated)
    return Decision(reply, LiviaStage.TRANSFERRED, collected, "after_handoff")
