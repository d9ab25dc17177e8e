"""Pure rules of Lívia's conversations: when she speaks, what a turn holds, the hand-off.

No I/O here: the handlers load a conversation, ask these functions, and store the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadflow.events import LiviaStage

MAX_TYPING_MS = 3000
# A lead who keeps writing after the hand-off is answered by Lívia each time (the ai
# service words it, and says nothing to a mere thank-you); their consultant is reminded
# again only after this long, so a burst of impatience is one reminder, not ten.
REMINDER_INTERVAL = timedelta(minutes=30)


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
class TurnInput:
    """What the lead said since Lívia last spoke, as the brain is to read it."""

    new_messages: list[str]  # text and transcribed voice notes, oldest first
    unheard_audio: int  # voice notes nobody could transcribe

    @property
    def empty(self) -> bool:
        return not self.new_messages and not self.unheard_audio


def turn_input(unanswered: Sequence[Line]) -> TurnInput:
    """Text and transcripts go to the brain as words; a voice note that could not be
    transcribed is counted, so she can ask for it in writing."""
    heard = [line.heard for line in unanswered]
    return TurnInput(
        [said for said in heard if said],
        sum(1 for line, said in zip(unanswered, heard, strict=True) if said is None),
    )


def history_text(line: Line) -> str:
    """A line as the brain reads it in the history."""
    return line.heard or line.text


def takes_decision(stage: LiviaStage, decided: LiviaStage, paused: bool) -> bool:
    """A decision is applied unless a person took over, or it comes from a turn asked
    before the hand-off and would undo it."""
    return not paused and (stage is not LiviaStage.TRANSFERRED or decided is LiviaStage.TRANSFERRED)


def typing_delay_ms(reply: str, override_ms: int | None) -> int:
    """How long the typing indicator shows before a reply: min(1000 + 30·length, 3000) ms."""
    if override_ms is not None:
        return override_ms
    return min(1000 + 30 * len(reply), MAX_TYPING_MS)


def turn_is_due(pending_since: datetime | None, now: datetime, debounce_ms: int) -> bool:
    """A burst is answered once: only after `debounce_ms` without a turn for it."""
    return pending_since is not None and now - pending_since >= timedelta(milliseconds=debounce_ms)


def reminds_consultant(last_reminder_at: datetime | None, now: datetime) -> bool:
    """Whether a lead writing after the hand-off reminds their consultant now."""
    return last_reminder_at is None or now - last_reminder_at >= REMINDER_INTERVAL


def completion_figures(started: int, completed: int) -> dict[str, int | float | None]:
    """The dashboard's Lívia figures: conversations, how many she handed off, and the share
    (None before the first conversation)."""
    rate = round(completed / started, 4) if started else None
    return {"conversations": started, "completed": completed, "completion_rate": rate}
