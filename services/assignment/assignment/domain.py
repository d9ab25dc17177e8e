"""Pure assignment rules: who is eligible, who is next, which waiting lead goes first."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadflow.events import Role, Temperature

TEMPERATURE_PRIORITY = {Temperature.HOT: 0, Temperature.WARM: 1, Temperature.COLD: 2, None: 3}


@dataclass(frozen=True)
class Candidate:
    id: str
    role: Role
    active: bool
    created_at: datetime
    open_leads: int = 0
    max_open_leads: int | None = None

    @property
    def has_room(self) -> bool:
        return self.max_open_leads is None or self.open_leads < self.max_open_leads


def eligible_in_rotation_order(candidates: list[Candidate]) -> list[Candidate]:
    """Active consultants with role `consultant`, in the fixed order of creation."""
    return sorted(
        (c for c in candidates if c.active and c.role is Role.CONSULTANT),
        key=lambda c: (c.created_at, c.id),
    )


def rotation_slot(position: Any, count: Any) -> Any:
    """The rotation rule: the cursor's 1-based `position` falls on the consultant at this
    0-based index of the `count` eligible, so positions p+1 .. p+N·k give each of N
    exactly k. Plain arithmetic: `DECIDE_ROUND_ROBIN` is built by applying it to SQL
    expressions, so the statement and the Python path share this one definition."""
    return (position - 1) % count


def next_in_rotation(eligible: list[Candidate], position: int) -> Candidate:
    """The consultant at cursor `position`."""
    if not eligible:
        raise ValueError("nobody is eligible")
    return eligible[rotation_slot(position, len(eligible))]


def steps_to_next(
    eligible: list[Candidate], position: int, takes: Callable[[Candidate], bool]
) -> int | None:
    """How far the cursor, now at `position`, advances to the next consultant who `takes`
    the lead, skipping those who don't; None when nobody does.

    The rotation stays over the whole eligible list, so over every lap each consultant
    who takes leads gets exactly one, whoever was skipped.
    """
    for step in range(1, len(eligible) + 1):
        if takes(next_in_rotation(eligible, position + step)):
            return step
    return None


def who_takes(
    eligible: list[Candidate],
    *,
    capacity: bool,
    online: Collection[str] | None,
    exclude: str | None = None,
) -> Callable[[Candidate], bool]:
    """The policies as one predicate: room under `max_open_leads` (capacity), connected
    right now (when `online` is given: unless nobody who could take it is), not `exclude`."""

    def could(candidate: Candidate) -> bool:
        return candidate.id != exclude and (not capacity or candidate.has_room)

    present = set(online or ()) & {c.id for c in eligible if could(c)}
    if online is None or not present:
        return could
    return lambda candidate: could(candidate) and candidate.id in present


def waiting_order(
    temperature: Temperature | None, lead_created_at: datetime
) -> tuple[int, datetime]:
    """Sort key for leads waiting for a consultant: HOT first, oldest first within."""
    return TEMPERATURE_PRIORITY[temperature], lead_created_at


CLOSED_STATUSES = {"WON", "LOST"}
COUNTED_OVERRIDES = {"manual", "creator"}


def open_lead_changes(
    before: tuple[str | None, str] | None, after: tuple[str | None, str]
) -> dict[str, int]:
    """How each consultant's open-lead count moves when a lead's (consultant, status)
    goes from `before` to `after`."""
    changes: dict[str, int] = {}

    def move(state: tuple[str | None, str], sign: int) -> None:
        consultant, status = state
        if consultant is not None and status not in CLOSED_STATUSES:
            changes[consultant] = changes.get(consultant, 0) + sign

    if before is not None:
        move(before, -1)
    move(after, +1)
    return {consultant: delta for consultant, delta in changes.items() if delta}


@dataclass(frozen=True)
class TrackedLead:
    """What the assignment service keeps of a lead: who has it, its column, its version."""

    consultant_id: str | None
    status: str
    version: int


@dataclass(frozen=True)
class Tracking:
    """A lead event's effect: the new tracked state, whether the consultant changed (the
    lead was assigned at the event's time), and how open-lead counts move."""

    state: TrackedLead
    assigned_now: bool
    open_changes: dict[str, int]


def track(
    stored: TrackedLead | None, consultant_id: str | None, status: str, version: int
) -> Tracking | None:
    """The effect of a lead event carrying (consultant, status, version); None when it is
    older news than what is stored (events arrive out of order across replicas)."""
    if not is_newer(stored.version if stored else None, version):
        return None
    had = stored.consultant_id if stored else None
    # A lead is never unassigned: a consultant the decision already recorded stays when
    # an older-news event (e.g. lead.created) comes in after it.
    keep = consultant_id or had
    before = (stored.consultant_id, stored.status) if stored else None
    return Tracking(
        TrackedLead(keep, status, version), keep != had, open_lead_changes(before, (keep, status))
    )


# What the assigner keeps of a lead (see `track`). A lead.updated that changed neither,
# such as a notes edit, carries the same consultant and status as the lead's
# previous event: it is dropped before any database work. Later events have higher
# versions, so the tracked state is the same as if it had been applied.
TRACKED_FIELDS = frozenset({"consultant_id", "status"})


def changes_tracking(changed: Collection[str]) -> bool:
    """Whether a lead.updated that changed these fields matters to the assigner."""
    return not TRACKED_FIELDS.isdisjoint(changed)


def sla_deadline(now: datetime, sla_minutes: float) -> datetime:
    """Leads assigned before this and still unworked are due for reassignment."""
    return now - timedelta(minutes=sla_minutes)


def is_newer(stored_version: int | None, incoming_version: int) -> bool:
    """Lead events may arrive out of order across replicas; keep the newest state only."""
    return stored_version is None or incoming_version > stored_version


def figures_per_consultant(
    rows: Iterable[tuple[str, str, bool, str | None, int]],
) -> list[dict[str, Any]]:
    """The dashboard's rows from (consultant id, name, active, lead status, how many), in
    their order: assigned, open, won and lost each. An inactive consultant with no lead in
    scope is noise, so left out."""
    figures: dict[str, dict[str, Any]] = {}
    for consultant_id, name, active, status, count in rows:
        row = figures.setdefault(
            consultant_id,
            {"id": consultant_id, "name": name, "active": active}
            | dict.fromkeys(("assigned", "open", "won", "lost"), 0),
        )
        if status is not None:
            row["assigned"] += count
            row[status.lower() if status in CLOSED_STATUSES else "open"] += count
    return [row for row in figures.values() if row["active"] or row["assigned"]]


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
