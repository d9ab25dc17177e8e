"""Pure assignment rules: who is eligible, who is next, which waiting lead goes first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadflow.events import Role, Temperature

TEMPERATURE_PRIORITY = {Temperature.HOT: 0, Temperature.WARM: 1, Temperature.COLD: 2, None: 3}


@dataclass(frozen=True)
class Candidate:
    id: str
    role: Role
    active: bool
    created_at: datetime


def eligible_in_rotation_order(candidates: list[Candidate]) -> list[Candidate]:
    """Active consultants with role `consultant`, in the fixed order of creation."""
    return sorted(
        (c for c in candidates if c.active and c.role is Role.CONSULTANT),
        key=lambda c: (c.created_at, c.id),
    )


def next_in_rotation(eligible: list[Candidate], position: int) -> Candidate:
    """The consultant at cursor `position` (1-based, as the cursor hands them out).

    With N eligible consultants, positions p+1 .. p+N·k give each exactly k.
    """
    if not eligible:
        raise ValueError("nobody is eligible")
    return eligible[(position - 1) % len(eligible)]


def waiting_order(
    temperature: Temperature | None, lead_created_at: datetime
) -> tuple[int, datetime]:
    """Sort key for leads waiting for a consultant: HOT first, oldest first within."""
    return TEMPERATURE_PRIORITY[temperature], lead_created_at


CLOSED_STATUSES = {"WON", "LOST"}
COUNTED_OVERRIDES = {"manual", "creator"}


def is_newer(stored_version: int | None, incoming_version: int) -> bool:
    """Lead events may arrive out of order across replicas; keep the newest state only."""
    return stored_version is None or incoming_version > stored_version


def stats_from(
    assigned_total: int, last_assigned_at: datetime | None, statuses: list[str]
) -> dict[str, object]:
    """The stats CONTRACT.md shows for one consultant."""
    won = sum(1 for s in statuses if s == "WON")
    lost = sum(1 for s in statuses if s == "LOST")
    return {
        "assigned_total": assigned_total,
        "open": len(statuses) - won - lost,
        "won": won,
        "lost": lost,
        "last_assigned_at": last_assigned_at.isoformat() if last_assigned_at else None,
    }
