"""The dashboard's figures: read-only queries over leads and their audit trail, and the
pure arithmetic that turns their rows into the numbers the console shows.

Kept apart from `repository.py` (the use cases' statements): nothing here changes data.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from leadflow.contracts import Actor
from leadflow.events import LeadSource, LeadStatus, Role, Temperature
from leadflow.rpc import parse
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.models import Consultant, Interaction, Lead

LEADS_TABLE = Lead.__table__  # type: ignore[attr-defined]
CONSULTANTS_TABLE = Consultant.__table__  # type: ignore[attr-defined]
INTERACTIONS_TABLE = Interaction.__table__  # type: ignore[attr-defined]
LEADS, CONSULTANTS, INTERACTIONS = LEADS_TABLE.c, CONSULTANTS_TABLE.c, INTERACTIONS_TABLE.c

# A lead counts as contacted once a person moves it to one of these.
CONTACTED_STATUSES = (LeadStatus.CONTACTED, LeadStatus.PROPOSAL, LeadStatus.WON)
CLOSED_STATUSES = (LeadStatus.WON, LeadStatus.LOST)
# The audit entry Lívia's hand-off writes when a conversation reaches TRANSFERRED.
LIVIA_COMPLETED_KIND = "qualified"


class DashboardQuery(BaseModel):
    actor: Actor
    since: datetime | None = None


def first_contact_summary(durations_s: list[float], waiting: int) -> dict[str, Any]:
    """Seconds from arrival to first contact: how many, average, median, and how many wait."""
    return {
        "contacted": len(durations_s),
        "waiting": waiting,
        "average_seconds": round(statistics.fmean(durations_s), 1) if durations_s else None,
        "median_seconds": round(statistics.median(durations_s), 1) if durations_s else None,
    }


def completion_rate(started: int, completed: int) -> float | None:
    """Share of Lívia's conversations that reached the hand-off; None before the first."""
    return round(completed / started, 4) if started else None


def count_by(rows: list[tuple[str | None, int]], keys: list[str]) -> dict[str, int]:
    """Every key present (zero when absent), so charts keep a stable shape; a NULL group
    counts under the last key."""
    counts = dict.fromkeys(keys, 0)
    for key, count in rows:
        name = key or keys[-1]
        counts[name] = counts.get(name, 0) + int(count)
    return counts


class DashboardHandlers:
    """`dashboard` RPC: admins and managers see everyone's numbers; a consultant their own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def dashboard(self, params: dict[str, Any]) -> dict[str, Any]:
        query = parse(DashboardQuery, params)
        own = query.actor.role is Role.CONSULTANT
        scope: list[ColumnElement[bool]] = []
        if own:
            scope.append(LEADS.consultant_id == query.actor.id)
        if query.since is not None:
            scope.append(LEADS.created_at >= query.since)
        unworked = [LeadStatus.NEW, LeadStatus.QUALIFYING, LeadStatus.QUALIFIED]
        from_livia = [LEADS.source == LeadSource.WHATSAPP.value, *scope]
        async with self.sessions() as orm_session:
            connection = await orm_session.connection()  # Core statements, no ORM
            by_status = await _grouped(connection, LEADS.status, scope)
            by_temperature = await _grouped(connection, LEADS.temperature, scope)
            consultants = await _per_consultant(connection, scope, query.actor.id if own else None)
            durations = await _first_contacts(connection, scope)
            waiting = await _count(connection, LEADS.status.in_(unworked), *scope)
            started = await _count(connection, *from_livia)
            completed = await _count(connection, *from_livia, _handed_off())
            unassigned = (
                0 if own else await _count(connection, LEADS.consultant_id.is_(None), *scope)
            )
        total = sum(count for _, count in by_status)
        return {
            "scope": "own" if own else "all",
            "since": query.since.isoformat() if query.since else None,
            "total": total,
            "by_status": count_by(by_status, [s.value for s in LeadStatus]),
            "by_temperature": count_by(
                by_temperature, [*(t.value for t in Temperature), "unclassified"]
            ),
            "unassigned": unassigned,
            "consultants": consultants,
            "first_contact": first_contact_summary(durations, waiting),
            "livia": {
                "conversations": started,
                "completed": completed,
                "completion_rate": completion_rate(started, completed),
            },
        }


async def _grouped(
    connection: AsyncConnection, column: Any, scope: list[ColumnElement[bool]]
) -> list[tuple[str | None, int]]:
    statement = select(column, func.count()).where(*scope).group_by(column)
    return [(key, int(count)) for key, count in (await connection.execute(statement)).all()]


async def _count(connection: AsyncConnection, *conditions: ColumnElement[bool]) -> int:
    """How many leads meet `conditions`."""
    statement = select(func.count()).select_from(LEADS_TABLE).where(*conditions)
    return int((await connection.execute(statement)).scalar_one())


async def _per_consultant(
    connection: AsyncConnection, scope: list[ColumnElement[bool]], only: str | None
) -> list[dict[str, Any]]:
    """Assigned, open, won and lost per consultant, including those with no lead yet."""

    def counting(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    closed = [s.value for s in CLOSED_STATUSES]
    statement = (
        select(
            CONSULTANTS.id,
            CONSULTANTS.name,
            CONSULTANTS.active,
            func.count(LEADS.id).label("assigned"),
            counting(and_(LEADS.id.is_not(None), LEADS.status.not_in(closed))).label("open"),
            counting(LEADS.status == LeadStatus.WON.value).label("won"),
            counting(LEADS.status == LeadStatus.LOST.value).label("lost"),
        )
        .select_from(CONSULTANTS_TABLE)
        .outerjoin(LEADS_TABLE, and_(LEADS.consultant_id == CONSULTANTS.id, *scope))
        .group_by(CONSULTANTS.id, CONSULTANTS.name, CONSULTANTS.active)
        .order_by(CONSULTANTS.name)
        .where(
            CONSULTANTS.id == only
            if only is not None
            else CONSULTANTS.role == Role.CONSULTANT.value
        )
    )
    rows = (await connection.execute(statement)).mappings().all()
    # An inactive consultant with no lead in scope is noise.
    return [dict(row) for row in rows if row["active"] or row["assigned"]]


async def _first_contacts(
    connection: AsyncConnection, scope: list[ColumnElement[bool]]
) -> list[float]:
    """Per contacted lead, seconds from its arrival to the first move into a worked status."""
    new_status = INTERACTIONS.changes[("status", "after")].as_string()
    statement = (
        select(LEADS.created_at, func.min(INTERACTIONS.created_at))
        .join(INTERACTIONS_TABLE, INTERACTIONS.lead_id == LEADS.id)
        .where(
            INTERACTIONS.kind == "updated",
            new_status.in_([s.value for s in CONTACTED_STATUSES]),
            *scope,
        )
        .group_by(LEADS.id, LEADS.created_at)
    )
    return [
        max(0.0, (contacted - arrived).total_seconds())
        for arrived, contacted in (await connection.execute(statement)).all()
    ]


def _handed_off() -> ColumnElement[bool]:
    """The lead has the audit entry of Lívia's hand-off."""
    return (
        select(INTERACTIONS.id)
        .where(INTERACTIONS.lead_id == LEADS.id, INTERACTIONS.kind == LIVIA_COMPLETED_KIND)
        .exists()
    )
