"""Every statement of the assignment service. Keyword-only arguments.

The statements on every lead's path (decisions, lead tracking) run on asyncpg itself
(see `leadflow.db.raw`); the rest through the ORM session of the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from leadflow.db import for_asyncpg, outbox_insert, record_handled
from leadflow.events import UNWORKED_STATUSES, AssignmentDecided, Role, utcnow
from sqlalchemy import Integer, and_, func, literal_column, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assignment.domain import (
    Candidate,
    TrackedLead,
    Tracking,
    eligible_in_rotation_order,
    rotation_slot,
)
from assignment.models import (
    OUTBOX,
    ConsultantStats,
    KnownConsultant,
    LeadState,
    PresenceRecord,
    RotationCursor,
    WaitingLead,
)

_CONSULTANTS = KnownConsultant.__table__.c  # type: ignore[attr-defined]
ELIGIBILITY_QUERY = sa_select(
    _CONSULTANTS.id,
    _CONSULTANTS.role,
    _CONSULTANTS.active,
    _CONSULTANTS.created_at,
    _CONSULTANTS.open_leads,
    _CONSULTANTS.max_open_leads,
)


def _eligible_from(rows: Sequence[Any]) -> list[Candidate]:
    """`ELIGIBILITY_QUERY`'s rows as the eligible consultants, in rotation order."""
    candidates = [Candidate(id, Role(role), *rest) for id, role, *rest in rows]
    return eligible_in_rotation_order(candidates)


# Plain round-robin decisions, a batch of requests at a time, as one statement
# (data-modifying CTEs). As a transaction of statements per request, the
# cursor's row lock was held across three round trips and the commit: the lock, not the
# CPU, capped a replica at ~250 decisions/s, and one statement per request still handed
# the lock over once per commit. Requests that arrive together (see `Batcher`) now take
# consecutive positions under one lock and one commit. Requests handled before (the
# broker redelivered them) take no position; the request at position `before + turn`
# gets the consultant `rotation_slot` names (the rule, rendered into the SQL).
_CHOSEN_SLOT = rotation_slot(
    literal_column("before + turn", Integer), literal_column(":eligible_count", Integer)
).compile(compile_kwargs={"literal_binds": True})
DECIDE_ROUND_ROBIN = text(
    """
    WITH requested AS (
        SELECT DISTINCT ON (request_id) request_id, decision_id, body, correlation_id, n
        FROM unnest(
            CAST(:request_ids AS text[]), CAST(:decision_ids AS text[]),
            CAST(:bodies AS text[]), CAST(:correlation_ids AS text[])
        ) WITH ORDINALITY AS r(request_id, decision_id, body, correlation_id, n)
        ORDER BY request_id, n
    ), handled AS ("""
    + record_handled(OUTBOX, "SELECT request_id, CAST(:now AS timestamptz) FROM requested")
    + """), fresh AS (
        SELECT requested.*, row_number() OVER (ORDER BY n) AS turn
        FROM requested JOIN handled ON handled.event_id = requested.request_id
    ), how_many AS (
        SELECT count(*) AS k FROM fresh
    ), moved AS (
        UPDATE assignment_cursor SET position = position + (SELECT k FROM how_many)
        WHERE id = 1 AND (SELECT k FROM how_many) > 0
        RETURNING position - (SELECT k FROM how_many) AS before
    ), chosen AS (
        SELECT fresh.*,
               (CAST(:eligible AS text[]))["""
    + str(_CHOSEN_SLOT)
    + """ + 1] AS consultant_id
        FROM fresh CROSS JOIN moved
    ), counted AS (
        INSERT INTO assignment_stats (consultant_id, assigned_total, last_assigned_at)
        SELECT consultant_id, count(*), CAST(:now AS timestamptz) FROM chosen
        GROUP BY consultant_id
        ON CONFLICT (consultant_id) DO UPDATE SET
            assigned_total = assignment_stats.assigned_total + excluded.assigned_total,
            last_assigned_at = excluded.last_assigned_at
    ), staged AS ("""
    + outbox_insert(OUTBOX)
    + """
        -- Each decision's body is completed here: its consultant is known only now.
        SELECT decision_id, CAST(:routing_key AS text),
               convert_to(
                   jsonb_set(CAST(body AS jsonb), '{consultant_id}', to_jsonb(consultant_id))::text,
                   'UTF8'
               ),
               correlation_id, CAST(:now AS timestamptz)
        FROM chosen ORDER BY turn
    )
    SELECT request_id, consultant_id FROM chosen
    """
)


# A lead event arriving: records it as handled and locks the lead's tracked
# state in one round trip. `fresh` is false when it was handled before.
LOCK_LEAD_STATE = text(
    """
    WITH handled AS ("""
    + record_handled(OUTBOX)
    + """)
    SELECT EXISTS (SELECT FROM handled) AS fresh, state.consultant_id, state.status,
           state.version
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT consultant_id, status, version FROM assignment_lead_states
        WHERE lead_id = :lead_id AND EXISTS (SELECT FROM handled)
        FOR UPDATE
    ) AS state ON true
    """
)


# What a lead event changes, written in one round trip: the lead's tracked
# state (a new row, or the existing one updated: a concurrent first event for the same
# lead then fails on the key, and its delivery is retried), the open-lead counts it
# moves (ids in sorted order, the lock order of consultant rows), and the consultant
# it counts as assigned, if any.
RECORD_TRACKING = text(
    """
    WITH inserted AS (
        INSERT INTO assignment_lead_states
            (lead_id, consultant_id, status, version, assigned_at, lead_created_at)
        SELECT CAST(:lead_id AS text), CAST(:consultant_id AS text), CAST(:status AS text),
               CAST(:version AS integer), CAST(:assigned_at AS timestamptz),
               CAST(:lead_created_at AS timestamptz)
        WHERE CAST(:write_state AS boolean) AND NOT CAST(:exists AS boolean)
    ), updated AS (
        UPDATE assignment_lead_states SET
            consultant_id = CAST(:consultant_id AS text), status = CAST(:status AS text),
            version = CAST(:version AS integer),
            assigned_at = COALESCE(CAST(:assigned_at AS timestamptz), assigned_at),
            lead_created_at = CAST(:lead_created_at AS timestamptz)
        WHERE lead_id = CAST(:lead_id AS text)
          AND CAST(:write_state AS boolean) AND CAST(:exists AS boolean)
    ), moved AS (
        UPDATE assignment_consultants AS consultant
        SET open_leads = consultant.open_leads + change.delta
        FROM unnest(CAST(:moved_ids AS text[]), CAST(:moved_deltas AS integer[]))
            AS change(id, delta)
        WHERE consultant.id = change.id
    )
    INSERT INTO assignment_stats (consultant_id, assigned_total, last_assigned_at)
    SELECT CAST(:counted_id AS text), 1, CAST(:now AS timestamptz)
    WHERE CAST(:counted_id AS text) IS NOT NULL
    ON CONFLICT (consultant_id) DO UPDATE SET
        assigned_total = assignment_stats.assigned_total + 1,
        last_assigned_at = excluded.last_assigned_at
    """
)

# On every lead's path (decisions, and lead.created and lead.assigned).
_ELIGIBILITY = for_asyncpg(ELIGIBILITY_QUERY)
_DECIDE_ROUND_ROBIN = for_asyncpg(DECIDE_ROUND_ROBIN)
_LOCK_LEAD_STATE = for_asyncpg(LOCK_LEAD_STATE)
_RECORD_TRACKING = for_asyncpg(RECORD_TRACKING)


# --- the hot path, on asyncpg ----------------------------------------------------------


async def eligible_now(connection: asyncpg.Connection) -> list[Candidate]:
    """The consultants who may take a lead, in rotation order."""
    return _eligible_from(await _ELIGIBILITY.fetch(connection, {}))


async def decide_round_robin(
    connection: asyncpg.Connection,
    *,
    request_ids: Sequence[str],
    decisions: Sequence[AssignmentDecided],
    eligible_ids: Sequence[str],
    now: datetime,
) -> None:
    """`DECIDE_ROUND_ROBIN`: request i gets the next position and `decisions[i]`, its
    consultant filled in under the cursor's lock, is staged; repeats take nothing."""
    await _DECIDE_ROUND_ROBIN.execute(
        connection,
        {
            "request_ids": list(request_ids),
            "decision_ids": [decision.event_id for decision in decisions],
            "bodies": [decision.model_dump_json() for decision in decisions],
            "correlation_ids": [decision.correlation_id for decision in decisions],
            "routing_key": AssignmentDecided.name,
            "now": now,
            "eligible": list(eligible_ids),
            "eligible_count": len(eligible_ids),
        },
    )


@dataclass(frozen=True)
class LockedLeadState:
    """A lead event's turn: whether it is new (not handled before), and the lead's
    tracked state, locked until the transaction ends (None: not tracked yet)."""

    fresh: bool
    stored: TrackedLead | None


async def lock_lead_state(
    connection: asyncpg.Connection, *, event_id: str, lead_id: str, now: datetime
) -> LockedLeadState:
    row = await _LOCK_LEAD_STATE.fetchrow(
        connection, {"event_id": event_id, "lead_id": lead_id, "now": now}
    )
    assert row is not None  # the statement always returns its one row
    stored = (
        TrackedLead(row["consultant_id"], row["status"], row["version"])
        if row["status"] is not None
        else None
    )
    return LockedLeadState(bool(row["fresh"]), stored)


async def record_tracking(
    connection: asyncpg.Connection,
    *,
    lead_id: str,
    lead_created_at: datetime,
    tracking: Tracking | None,
    exists: bool,
    assigned_at: datetime | None,
    counted_id: str | None,
    now: datetime,
) -> None:
    """`RECORD_TRACKING`: the lead's new tracked state (if any), the open-lead counts it
    moves, and the consultant counted as assigned (if any)."""
    state = tracking.state if tracking else None
    moved = sorted(tracking.open_changes.items()) if tracking else []
    await _RECORD_TRACKING.execute(
        connection,
        {
            "lead_id": lead_id,
            "lead_created_at": lead_created_at,
            "write_state": tracking is not None,
            "exists": exists,
            "consultant_id": state.consultant_id if state else None,
            "status": state.status if state else None,
            "version": state.version if state else None,
            "assigned_at": assigned_at,
            "moved_ids": [consultant for consultant, _ in moved],
            "moved_deltas": [delta for _, delta in moved],
            "counted_id": counted_id,
            "now": now,
        },
    )


# --- the other use cases, in the caller's session ----------------------------------------


async def eligible(session: AsyncSession) -> list[Candidate]:
    # Plain rows, not ORM objects: this runs for every decision.
    return _eligible_from((await session.exec(ELIGIBILITY_QUERY)).all())  # type: ignore[call-overload]


async def move_cursor(session: AsyncSession, *, step: int) -> int:
    """Advance the rotation cursor by `step` (0: only lock it); its position after.
    The row stays locked until the transaction ends."""
    moved = await session.exec(
        update(RotationCursor)
        .where(col(RotationCursor.id) == 1)
        .values(position=col(RotationCursor.position) + step)
        .returning(col(RotationCursor.position))
    )
    return int(moved.scalar_one())


async def count_assignment(session: AsyncSession, *, consultant_id: str, now: datetime) -> None:
    """One more lead for the consultant's stats, in one statement (it runs while the
    cursor lock is held, so it must be short)."""
    stats = ConsultantStats.__table__  # type: ignore[attr-defined]
    upsert = pg_insert(stats)
    await session.exec(
        upsert.on_conflict_do_update(
            index_elements=["consultant_id"],
            set_={
                "assigned_total": stats.c.assigned_total + 1,
                "last_assigned_at": upsert.excluded.last_assigned_at,
            },
        ),
        params={"consultant_id": consultant_id, "assigned_total": 1, "last_assigned_at": now},
    )


async def move_open_counts(session: AsyncSession, *, changes: dict[str, int]) -> None:
    """Add each delta to the consultant's open leads (in id order: the lock order)."""
    for consultant_id, delta in sorted(changes.items()):
        await session.exec(
            update(KnownConsultant)
            .where(col(KnownConsultant.id) == consultant_id)
            .values(open_leads=col(KnownConsultant.open_leads) + delta)
        )


async def online_consultants(session: AsyncSession, *, now: datetime) -> set[str]:
    """Who some realtime replica saw connected, by snapshots still valid at `now`."""
    rows = (await session.exec(select(PresenceRecord).where(PresenceRecord.expires_at > now))).all()
    return {consultant for row in rows for consultant in row.consultant_ids}


async def save_presence(
    session: AsyncSession, *, replica_id: str, consultant_ids: list[str], expires_at: datetime
) -> None:
    """A replica's snapshot replaces its previous one, unless that one is newer (an older
    snapshot delivered late changes nothing)."""
    table = PresenceRecord.__table__  # type: ignore[attr-defined]
    upsert = pg_insert(table).values(
        replica_id=replica_id, consultant_ids=consultant_ids, expires_at=expires_at
    )
    await session.exec(
        upsert.on_conflict_do_update(
            index_elements=["replica_id"],
            set_={"consultant_ids": upsert.excluded.consultant_ids, "expires_at": expires_at},
            where=table.c.expires_at < upsert.excluded.expires_at,
        )
    )


async def get_consultant(session: AsyncSession, *, consultant_id: str) -> KnownConsultant | None:
    return await session.get(KnownConsultant, consultant_id)


async def get_lead_state(session: AsyncSession, *, lead_id: str) -> LeadState | None:
    return await session.get(LeadState, lead_id)


async def overdue_leads(
    session: AsyncSession, *, deadline: datetime, limit: int
) -> list[LeadState]:
    """Unworked leads assigned before `deadline`, oldest first, locked (rows another
    replica holds are skipped)."""
    rows = await session.exec(
        select(LeadState)
        .where(col(LeadState.status).in_(UNWORKED_STATUSES))
        .where(col(LeadState.consultant_id).is_not(None))
        .where(col(LeadState.assigned_at) < deadline)
        .order_by(col(LeadState.assigned_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def consultant_stats(
    session: AsyncSession, *, consultant_id: str
) -> tuple[ConsultantStats | None, list[str]]:
    """The consultant's assignment counts and the status of each lead they have."""
    stats = await session.get(ConsultantStats, consultant_id)
    statuses = await session.exec(
        select(LeadState.status).where(LeadState.consultant_id == consultant_id)
    )
    return stats, list(statuses.all())


async def consultant_figures(
    session: AsyncSession, *, only: str | None, since: datetime | None
) -> list[tuple[str, str, bool, str | None, int]]:
    """Per consultant (`only` them, or everyone with role consultant), by name: how many of
    their leads that arrived since `since` are in each status (a None status: no lead)."""
    states = LeadState.__table__.c  # type: ignore[attr-defined]
    in_scope = [states.consultant_id == _CONSULTANTS.id]
    if since is not None:
        in_scope.append(states.lead_created_at >= since)
    statement = (
        sa_select(
            _CONSULTANTS.id,
            _CONSULTANTS.name,
            _CONSULTANTS.active,
            states.status,
            func.count(states.lead_id),
        )
        .select_from(KnownConsultant.__table__)  # type: ignore[attr-defined]
        .outerjoin(LeadState.__table__, and_(*in_scope))  # type: ignore[attr-defined]
        .where(_CONSULTANTS.id == only if only else _CONSULTANTS.role == Role.CONSULTANT.value)
        .group_by(_CONSULTANTS.id, _CONSULTANTS.name, _CONSULTANTS.active, states.status)
        .order_by(_CONSULTANTS.name, _CONSULTANTS.id)
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [(id, name, active, status, int(count)) for id, name, active, status, count in rows]


async def keep_waiting(
    session: AsyncSession, *, lead_id: str, temperature: str | None, lead_created_at: datetime
) -> None:
    """The lead waits for someone to become eligible (once, however often asked)."""
    table = WaitingLead.__table__  # type: ignore[attr-defined]
    await session.exec(
        pg_insert(table)
        .values(
            lead_id=lead_id,
            temperature=temperature,
            lead_created_at=lead_created_at,
            requested_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["lead_id"])
    )


async def waiting_leads(session: AsyncSession) -> list[WaitingLead]:
    """Every waiting lead no other replica is draining, locked."""
    rows = await session.exec(select(WaitingLead).with_for_update(skip_locked=True))
    return list(rows.all())


async def stop_waiting(session: AsyncSession, *, lead: WaitingLead) -> None:
    await session.delete(lead)
