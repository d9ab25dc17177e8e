"""Pure rules of Lívia's side of the leads service: timing and the hand-off."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_TYPING_MS = 3000


def typing_delay_ms(reply: str, override_ms: int | None) -> int:
    """How long the typing indicator shows before a reply: min(1000 + 30·length, 3000) ms."""
    if override_ms is not None:
        return override_ms
    return min(1000 + 30 * len(reply), MAX_TYPING_MS)


def turn_is_due(pending_since: datetime | None, now: datetime, debounce_ms: int) -> bool:
    """A burst is answered once: only after `debounce_ms` without a turn for it."""
    return pending_since is not None and now - pending_since >= timedelta(milliseconds=debounce_ms)


def handoff_message(lead_name: str, consultant_name: str) -> str:
    first_name = lead_name.split()[0] if lead_name.strip() else ""
    known = first_name and not first_name.startswith("+")
    opening = f"{first_name}, prontinho!" if known else "Prontinho!"
    return (
        f"{opening} Passei o seu atendimento para {consultant_name}, "
        "que vai continuar com você por aqui mesmo. Obrigada pela conversa! 😊"
    )
