"""Pure rules of the leads service: no database, broker or HTTP here."""

from __future__ import annotations

import json
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from leadflow.contracts import LeadCreate
from leadflow.events import LeadSource, LeadStatus, Role, Temperature


def new_id() -> str:
    return uuid.uuid4().hex


def may_see(role: Role, actor_id: str, consultant_id: str | None) -> bool:
    """Admins and managers see every lead; a consultant only the leads assigned to them."""
    return role is not Role.CONSULTANT or consultant_id == actor_id


def initial_status(source: LeadSource) -> LeadStatus:
    return LeadStatus.QUALIFYING if source is LeadSource.WHATSAPP else LeadStatus.NEW


@dataclass(frozen=True)
class NewLead:
    """A lead about to be created: its row (column names) and its audit entry's changes."""

    values: dict[str, Any]
    audit: dict[str, Any]


def new_lead(
    creator_id: str | None,
    creator_role: Role | None,
    data: LeadCreate,
    lead_id: str,
    now: datetime,
) -> NewLead:
    """A lead created by a consultant is theirs from the start; anyone else's waits for
    the assigner."""
    by_consultant = creator_role is Role.CONSULTANT
    values: dict[str, Any] = {
        "id": lead_id,
        "name": data.name,
        "phone": data.phone,
        "email": data.email,
        "source": data.source.value,
        "status": initial_status(data.source).value,
        "temperature": None,
        "ai_score": None,
        "ai_reasons": [],
        "notes": data.notes,
        "metadata": data.metadata,
        "consultant_id": creator_id if by_consultant else None,
        "created_by": creator_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    return NewLead(values, {"source": data.source.value, "assigned_to_creator": by_consultant})


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"before": x, "after": y}}` for every field whose value differs."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in after
        if before.get(key) != after.get(key)
    }


@dataclass(frozen=True)
class LeadChange:
    """One change to a lead, as every use case records it: the new values (the changed
    fields, the next version and the time), and its audit entry."""

    values: dict[str, Any]
    changed: list[str]
    kind: str
    actor_id: str | None
    audit: dict[str, Any]


def change_lead(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    version: int,
    now: datetime,
    kind: str,
    actor_id: str | None,
    note: dict[str, Any] | None = None,
) -> LeadChange | None:
    """The change from `before` to `after` (fields of a lead at `version`), or None if no
    field differs. `note` goes into the audit entry beside the fields (the rule, ...)."""
    changes = changes_between(before, after)
    if not changes:
        return None
    values = {name: change["after"] for name, change in changes.items()}
    return LeadChange(
        values={**values, "version": version + 1, "updated_at": now},
        changed=sorted(changes),
        kind=kind,
        actor_id=actor_id,
        audit=jsonable({**changes, **(note or {})}),
    )


def jsonable(value: Any) -> Any:
    """Audit values as JSON-safe data."""
    return json.loads(json.dumps(value, default=str))


# A lead counts as contacted once a person moves it to one of these; until then it waits.
CONTACTED_STATUSES = [LeadStatus.CONTACTED.value, LeadStatus.PROPOSAL.value, LeadStatus.WON.value]
WAITING_STATUSES = {LeadStatus.NEW.value, LeadStatus.QUALIFYING.value, LeadStatus.QUALIFIED.value}


class LeadCount(NamedTuple):
    """How many leads share a status, a temperature and whether someone has them."""

    status: str
    temperature: str | None
    unassigned: bool
    leads: int


def count_by(rows: list[tuple[str | None, int]], keys: list[str]) -> dict[str, int]:
    """Every key present (zero when absent), so charts keep a stable shape; a NULL group
    counts under the last key."""
    counts = dict.fromkeys(keys, 0)
    for key, count in rows:
        name = key or keys[-1]
        counts[name] = counts.get(name, 0) + int(count)
    return counts


def first_contact_summary(durations_s: list[float], waiting: int) -> dict[str, Any]:
    """Seconds from arrival to first contact: how many, average, median, and how many wait."""
    durations_s = [max(0.0, seconds) for seconds in durations_s]
    return {
        "contacted": len(durations_s),
        "waiting": waiting,
        "average_seconds": round(statistics.fmean(durations_s), 1) if durations_s else None,
        "median_seconds": round(statistics.median(durations_s), 1) if durations_s else None,
    }


def dashboard_figures(
    counts: list[LeadCount], durations_s: list[float], *, own: bool, since: datetime | None
) -> dict[str, Any]:
    """The dashboard's figures about leads (`own`: a consultant's own leads only)."""
    return {
        "scope": "own" if own else "all",
        "since": since.isoformat() if since else None,
        "total": sum(row.leads for row in counts),
        "by_status": count_by(
            [(row.status, row.leads) for row in counts], [s.value for s in LeadStatus]
        ),
        "by_temperature": count_by(
            [(row.temperature, row.leads) for row in counts],
            [*(t.value for t in Temperature), "unclassified"],
        ),
        "unassigned": 0 if own else sum(row.leads for row in counts if row.unassigned),
        "first_contact": first_contact_summary(
            durations_s, sum(row.leads for row in counts if row.status in WAITING_STATUSES)
        ),
    }
