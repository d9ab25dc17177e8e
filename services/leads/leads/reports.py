"""The dashboard's figures about leads: read-only queries over leads and their audit
trail, and the pure arithmetic that turns their rows into the numbers the console shows.
Per-consultant figures are the assignment service's, Lívia's are wa-livia's: the gateway
composes the three.

Kept apart from `repository.py` (the use cases' statements): nothing here changes data.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from leadflow.contracts import Actor
from leadflow.events import LeadStatus, Temperature
from leadflow.rpc import parse
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.models import Interaction, Lead

LEADS_TABLE = Lead.__table__  # type: ignore[attr-defined]
INTERACTIONS_TABLE = Interaction.__table__  # type: ignore[attr-defined]
LEADS, INTERACTIONS = LEADS_TABLE.c, INTERACTIONS_TABLE.c

# A lead counts as contacted once a person moves it to one of these.
CONTACTED_STATUSES = (LeadStatus.CONTACTED, LeadStatus.PROPOSAL, LeadStatus.WON)


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


def count_by(rows: list[tuple[str | None, int]], keys: list[str]) -> dict[str, int]:
    """Every key present (zero when absent), so charts keep a stable shape; a NULL group
    counts under the last key."""
    counts = dict.fromkeys(keys, 0)
    for key, count in rows:
        name = key or keys[-1]
        counts[name] = counts.get(name, 0) + int(count)
    return counts


class DashboardHandlers:
    """`dashboard` RPC: admins and managers see every lead's numbers; a consultant their own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def dashboard(self, params: dict[str, Any]) -> dict[str, Any]:
        query = parse(DashboardQuery, params)
        own = not query.actor.is_staff
        scope: list[ColumnElement[bool]] = []
        if own:
            scope.append(LEADS.consultant_id == query.actor.id)
        if query.since is not None:
            scope.append(LEADS.created_at >= query.since)
        unworked = [LeadStatus.NEW, LeadStatus.QUALIFYING, LeadStatus.QUALIFIED]
        async with self.sessions() as orm_session:
            connection = await orm_session.connection()  # Core statements, no ORM
            by_status = await _grouped(connection, LEADS.status, scope)
            by_temperature = await _grouped(connection, LEADS.temperature, scope)
            durations = await _first_contacts(connection, scope)
            waiting = await _count(connection, LEADS.status.in_(unworked), *scope)
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
            "first_contact": first_contact_summary(durations, waiting),
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
