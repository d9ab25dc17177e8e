"""Pure rules of Lívia's conversations: when she speaks, what a turn holds, the hand-off.

No I/O here: the handlers load a conversation, ask these functions, and store the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadflow.events import LiviaStage

MAX_TYPING_MS = 3000
# A lead who keeps writing after the hand-off gets the same true answer again only after
# this long: one answer per burst of impatience, never a loop.
AFTER_HANDOFF_COOLDOWN = timedelta(minutes=30)
AUDIO_PLACEHOLDER = "[audio]"

ASK_FOR_TEXT = (
    "Desculpa, não consegui ouvir o seu áudio agora 🙈 Você pode me mandar por escrito, por favor?"
)


@dataclass(frozen=True)
class Line:
    """One message of a conversation, as the rules see it."""

    direction: str  # in | out
    author: str  # lead | livia | human
    text: str
    media_type: str | None = None
    transcript: str | None = None

    @property
    def heard(self) -> str | None:
        """What the lead said: the text, or an audio's transcript; None for an audio
        nobody could transcribe."""
        if self.media_type == "audio":
            return self.transcript.strip() if self.transcript and self.transcript.strip() else None
        return self.text


@dataclass(frozen=True)
class TurnPlan:
    """What to do with the messages Lívia has not answered yet."""

    new_messages: list[str]  # for the ai service to answer, oldest first
    ask_for_text: bool  # audio she could not hear, and nothing else to answer


def plan_turn(unanswered: Sequence[Line], history: Sequence[Line]) -> TurnPlan:
    """Text and transcribed audio go to the brain; audio she could not hear, alone, gets
    one kind request for text — unless her last words were already that request."""
    heard = [said for said in (line.heard for line in unanswered) if said]
    if heard:
        return TurnPlan(heard, ask_for_text=False)
    unheard = any(line.media_type == "audio" for line in unanswered)
    her_last = next((line.text for line in reversed(history) if line.author == "livia"), None)
    return TurnPlan([], ask_for_text=unheard and her_last != ASK_FOR_TEXT)


def history_text(line: Line) -> str:
    """A line as the brain reads it in the history."""
    return line.heard or line.text


def may_speak(stage: LiviaStage, paused: bool) -> bool:
    """She speaks unless a person took over or she already handed the lead off."""
    return not paused and stage is not LiviaStage.TRANSFERRED


def typing_delay_ms(reply: str, override_ms: int | None) -> int:
    """How long the typing indicator shows before a reply: min(1000 + 30·length, 3000) ms."""
    if override_ms is not None:
        return override_ms
    return min(1000 + 30 * len(reply), MAX_TYPING_MS)


def turn_is_due(pending_since: datetime | None, now: datetime, debounce_ms: int) -> bool:
    """A burst is answered once: only after `debounce_ms` without a turn for it."""
    return pending_since is not None and now - pending_since >= timedelta(milliseconds=debounce_ms)


def display_phone(phone: str) -> str:
    """A `+E.164` number the way a Brazilian reads it: +55 11 90000-0001."""
    digits = phone.lstrip("+")
    if digits.startswith("55") and len(digits) in (12, 13):
        area, local = digits[2:4], digits[4:]
        return f"+55 {area} {local[:-4]}-{local[-4:]}"
    return phone if phone.startswith("+") else f"+{digits}"


def first_name(lead_name: str) -> str | None:
    """The name to greet a lead by; None when all we know is their phone."""
    words = lead_name.split()
    return words[0] if words and not words[0].startswith("+") else None


def _from_number(consultant_number: str | None) -> str:
    if consultant_number:
        return f"pelo WhatsApp da nossa equipe de consultores, o {display_phone(consultant_number)}"
    return "pelo WhatsApp da nossa equipe de consultores"


def handoff_message(lead_name: str, consultant_name: str, consultant_number: str | None) -> str:
    """Lívia's last message: who takes over, and from which number (not hers)."""
    name = first_name(lead_name)
    opening = f"{name}, prontinho!" if name else "Prontinho!"
    return (
        f"{opening} Passei o seu atendimento para {consultant_name}, que vai falar com você "
        f"{_from_number(consultant_number)}. Obrigada pela conversa! 😊"
    )


def after_handoff_reply(
    lead_name: str, consultant_name: str | None, consultant_number: str | None
) -> str:
    """The one short, true answer to a lead who writes after the hand-off."""
    name = first_name(lead_name)
    opening = f"Oi, {name}!" if name else "Oi!"
    who = consultant_name or "um dos nossos consultores"
    return (
        f"{opening} Quem está com o seu atendimento agora é {who}, que vai falar com você "
        f"{_from_number(consultant_number)}. Já avisei que você está aguardando. 😊"
    )


def answers_after_handoff(last_answer_at: datetime | None, now: datetime) -> bool:
    """Whether a message after the hand-off gets the answer (and the reminder) now."""
    return last_answer_at is None or now - last_answer_at >= AFTER_HANDOFF_COOLDOWN
