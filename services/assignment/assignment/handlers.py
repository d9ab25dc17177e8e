"""Assignment use cases: one transaction each, cursor and outbox included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadflow.batching import Batcher
from leadflow.bus import Delivery
from leadflow.db import (
    OutboxRelay,
    add_to_outbox,
    already_handled,
    asyncpg_connection,
    asyncpg_transaction,
    for_asyncpg,
    outbox_insert,
    record_handled,
)
from leadflow.events import (
    UNWORKED_STATUSES,
    AssignmentDecided,
    ConsultantSaved,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadCreated,
    LeadUpdated,
    PresenceSnapshot,
    Role,
    Temperature,
    utcnow,
)
from leadflow.rpc import Forbidden, NotFound
from leadflow.settings import AssignmentPolicy
from sqlalchemy import select as sa_select
from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assignment.domain import (
    COUNTED_OVERRIDES,
    Candidate,
    TrackedLead,
    Tracking,
    changes_tracking,
    eligible_in_rotation_order,
    next_in_rotation,
    open_lead_changes,
    sla_deadline,
    stats_from,
    steps_to_next,
    track,
    waiting_order,
    who_takes,
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
# (PostgreSQL: data-modifying CTEs). As a transaction of statements per request, the
# cursor's row lock was held across three round trips and the commit: the lock, not the
# CPU, capped a replica at ~250 decisions/s, and one statement per request still handed
# the lock over once per commit. Requests that arrive together (see `Batcher`) now take
# consecutive positions under one lock and one commit. Requests handled before (the
# broker redelivered them) take no position; the rotation rule is `next_in_rotation`'s:
# the request at 1-based position p gets eligible[(p - 1) % len(eligible)].
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
               (CAST(:eligible AS text[]))[(before + turn - 1) % :eligible_count + 1]
                   AS consultant_id
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


# A lead event arriving (PostgreSQL): records it as handled and locks the lead's tracked
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


# What a lead event changes, written in one round trip (PostgreSQL): the lead's tracked
# state (a new row, or the existing one updated: a concurrent first event for the same
# lead then fails on the key, and its delivery is retried), the open-lead counts it
# moves (ids in sorted order, the lock order of consultant rows), and the consultant
# it counts as assigned, if any.
RECORD_TRACKING = text(
    """
    WITH inserted AS (
        INSERT INTO assignment_lead_states (lead_id, consultant_id, status, version, assigned_at)
        SELECT CAST(:lead_id AS text), CAST(:consultant_id AS text), CAST(:status AS text),
               CAST(:version AS integer), CAST(:assigned_at AS timestamptz)
        WHERE CAST(:write_state AS boolean) AND NOT CAST(:exists AS boolean)
    ), updated AS (
        UPDATE assignment_lead_states SET
            consultant_id = CAST(:consultant_id AS text), status = CAST(:status AS text),
            version = CAST(:version AS integer),
            assigned_at = COALESCE(CAST(:assigned_at AS timestamptz), assigned_at)
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

# On every lead's path (decisions, and lead.created and lead.assigned): through asyncpg
# itself (see `leadflow.db.raw`).
_ELIGIBILITY = for_asyncpg(ELIGIBILITY_QUERY)
_DECIDE_ROUND_ROBIN = for_asyncpg(DECIDE_ROUND_ROBIN)
_LOCK_LEAD_STATE = for_asyncpg(LOCK_LEAD_STATE)
_RECORD_TRACKING = for_asyncpg(RECORD_TRACKING)


def _counted(event: LeadCreated | LeadUpdated | LeadAssigned) -> str | None:
    """The consultant this event counts as assigned in their stats: a lead created by a
    consultant, or a manual assignment. (Round-robin decisions are counted as made.)"""
    lead = event.lead
    override = (
        "creator"
        if isinstance(event, LeadCreated) and lead.consultant_id
        else event.rule
        if isinstance(event, LeadAssigned)
        else None
    )
    return lead.consultant_id if override in COUNTED_OVERRIDES else None


def _move_cursor(step: int) -> Any:
    return (
        update(RotationCursor)
        .where(col(RotationCursor.id) == 1)
        .values(position=col(RotationCursor.position) + step)
        .returning(col(RotationCursor.position))
    )


@dataclass
class AssignmentHandlers:
    """Lock order, to stay free of deadlocks across replicas: a transaction that advances
    the cursor takes its row first, and consultant rows only after it; a transaction that
    changes consultant rows without the cursor commits before it drains waiting leads."""

    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    # See `one_statement_engine`: plain round-robin decisions run as `DECIDE_ROUND_ROBIN`.
    autocommit: AsyncEngine
    policy: AssignmentPolicy = AssignmentPolicy.ROUND_ROBIN
    skip_offline: bool = False
    sla_minutes: float | None = None
    _decisions: Batcher[LeadAssignmentRequested, bool] = field(init=False)

    def __post_init__(self) -> None:
        self._decisions = Batcher(self._decide_together)

    async def on_assignment_requested(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, LeadAssignmentRequested)
        plain = self.policy is AssignmentPolicy.ROUND_ROBIN and not self.skip_offline
        if plain and await self._decisions.submit(event):
            self.relay.wake()
            return
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            assigned = await self._assign(session, event.lead_id)
            if not assigned and await session.get(WaitingLead, event.lead_id) is None:
                session.add(
                    WaitingLead(
                        lead_id=event.lead_id,
                        temperature=event.temperature.value if event.temperature else None,
                        lead_created_at=event.lead_created_at,
                    )
                )
            await session.commit()
        self.relay.wake()

    async def _decide_together(self, requests: list[LeadAssignmentRequested]) -> list[bool]:
        """For each request: True if decided here (or handled before); False if nobody is
        eligible, which the transactional path handles (the lead waits)."""
        async with asyncpg_connection(self.autocommit) as connection:
            eligible = _eligible_from(await _ELIGIBILITY.fetch(connection, {}))
            if not eligible:
                return [False] * len(requests)
            ids = [c.id for c in eligible]
            # Each consultant is filled in by the statement, under the cursor's lock.
            decisions = [
                AssignmentDecided(
                    lead_id=request.lead_id,
                    consultant_id=None,
                    rule="round_robin",
                    eligible_ids=ids,
                    correlation_id=request.correlation_id,
                )
                for request in requests
            ]
            decided = {
                "request_ids": [request.event_id for request in requests],
                "decision_ids": [decision.event_id for decision in decisions],
                "bodies": [decision.model_dump_json() for decision in decisions],
                "correlation_ids": [decision.correlation_id for decision in decisions],
                "routing_key": AssignmentDecided.name,
                "now": utcnow(),
                "eligible": ids,
                "eligible_count": len(ids),
            }
            await _DECIDE_ROUND_ROBIN.execute(connection, decided)
        return [True] * len(requests)

    async def on_consultant_saved(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, ConsultantSaved)
        consultant = event.consultant
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            row = await session.get(KnownConsultant, consultant.id)
            if row is None:
                row = KnownConsultant(
                    id=consultant.id,
                    role=consultant.role.value,
                    active=consultant.active,
                    created_at=consultant.created_at,
                )
            else:
                row.role, row.active = consultant.role.value, consultant.active
            row.max_open_leads = consultant.max_open_leads
            session.add(row)
            await session.commit()
        await self.drain_waiting()

    async def on_lead_event(self, delivery: Delivery) -> None:
        """Track each lead's consultant and column; count creator and manual assignments."""
        event = delivery.event()
        assert isinstance(event, LeadCreated | LeadUpdated | LeadAssigned)
        if isinstance(event, LeadUpdated) and not changes_tracking(event.changed):
            return
        tracking = await self._track_in_two_statements(event)
        freed = tracking is not None and any(d < 0 for d in tracking.open_changes.values())
        if freed and self.policy is AssignmentPolicy.CAPACITY:
            await self.drain_waiting()

    async def _track_in_two_statements(
        self, event: LeadCreated | LeadUpdated | LeadAssigned
    ) -> Tracking | None:
        """`on_lead_event` as lock and record statements in one transaction."""
        lead = event.lead
        now = utcnow()
        async with asyncpg_transaction(self.autocommit) as connection:
            row = await _LOCK_LEAD_STATE.fetchrow(
                connection, {"event_id": event.event_id, "lead_id": lead.id, "now": now}
            )
            assert row is not None
            if not row["fresh"]:
                return None
            exists = row["status"] is not None
            stored = (
                TrackedLead(row["consultant_id"], row["status"], row["version"]) if exists else None
            )
            tracking = track(stored, lead.consultant_id, lead.status.value, lead.version)
            counted = _counted(event)
            if tracking is None and counted is None:
                return None
            state = tracking.state if tracking else None
            moved = sorted(tracking.open_changes.items()) if tracking else []
            await _RECORD_TRACKING.execute(
                connection,
                {
                    "lead_id": lead.id,
                    "write_state": tracking is not None,
                    "exists": exists,
                    "consultant_id": state.consultant_id if state else None,
                    "status": state.status if state else None,
                    "version": state.version if state else None,
                    "assigned_at": event.occurred_at
                    if tracking is not None and tracking.assigned_now
                    else None,
                    "moved_ids": [consultant for consultant, _ in moved],
                    "moved_deltas": [delta for _, delta in moved],
                    "counted_id": counted,
                    "now": now,
                },
            )
        return tracking

    async def on_presence(self, delivery: Delivery) -> None:
        """A realtime replica's snapshot of who is connected replaces its previous one."""
        event = delivery.event()
        assert isinstance(event, PresenceSnapshot)
        async with self.sessions() as session:
            row = await session.get(PresenceRecord, event.replica_id)
            expires_at = event.occurred_at + timedelta(seconds=event.valid_for_s)
            if row is not None and row.expires_at >= expires_at:
                return  # an older snapshot, delivered late
            row = row or PresenceRecord(replica_id=event.replica_id, expires_at=expires_at)
            row.consultant_ids, row.expires_at = list(event.consultant_ids), expires_at
            session.add(row)
            await session.commit()

    async def sweep(self) -> None:
        """Periodic: reassign leads past their SLA, then hand out anything still waiting
        (a drain cut short by a crash or a deadlock is finished here)."""
        if self.sla_minutes is not None:
            await self.reassign_overdue()
        await self.drain_waiting()

    async def reassign_overdue(self, batch: int = 100) -> int:
        """Leads still unworked `sla_minutes` after assignment go to the next consultant."""
        assert self.sla_minutes is not None
        now = utcnow()
        async with self.sessions() as session:
            overdue = (
                await session.exec(
                    select(LeadState)
                    .where(col(LeadState.status).in_(UNWORKED_STATUSES))
                    .where(col(LeadState.consultant_id).is_not(None))
                    .where(col(LeadState.assigned_at) < sla_deadline(now, self.sla_minutes))
                    .order_by(col(LeadState.assigned_at))
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            moved = 0
            for state in overdue:
                if await self._assign(
                    session, state.lead_id, rule="sla", exclude=state.consultant_id
                ):
                    moved += 1
                else:
                    state.assigned_at = now  # nobody else can take it: wait another SLA
                    session.add(state)
            await session.commit()
        if moved:
            self.relay.wake()
        return moved

    async def consultant_stats(self, params: dict[str, Any]) -> dict[str, object]:
        """GET /api/consultants/{id}/stats: admins, managers, or the consultant themself."""
        consultant_id = str(params.get("id", ""))
        actor = params.get("actor") or {}
        if actor.get("role") == Role.CONSULTANT.value and actor.get("id") != consultant_id:
            raise Forbidden("consultants see their own stats only")
        async with self.sessions() as session:
            if await session.get(KnownConsultant, consultant_id) is None:
                raise NotFound("consultant not found")
            stats = await session.get(ConsultantStats, consultant_id)
            statuses = (
                await session.exec(
                    select(LeadState.status).where(LeadState.consultant_id == consultant_id)
                )
            ).all()
        return stats_from(
            stats.assigned_total if stats else 0,
            stats.last_assigned_at if stats else None,
            list(statuses),
        )

    async def _count(self, session: AsyncSession, consultant_id: str) -> None:
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
            params={
                "consultant_id": consultant_id,
                "assigned_total": 1,
                "last_assigned_at": utcnow(),
            },
        )

    async def drain_waiting(self) -> None:
        """Someone may have become eligible or freed capacity: hand out waiting leads,
        HOT first and oldest first within each temperature."""
        async with self.sessions() as session:
            # Rows another replica is draining are skipped, so no lead is handed out twice.
            waiting = list(
                (await session.exec(select(WaitingLead).with_for_update(skip_locked=True))).all()
            )
            waiting.sort(
                key=lambda w: waiting_order(
                    Temperature(w.temperature) if w.temperature else None, w.lead_created_at
                )
            )
            for lead in waiting:
                if not await self._assign(session, lead.lead_id):
                    break
                await session.delete(lead)
            await session.commit()
        self.relay.wake()

    async def _move_open_counts(self, session: AsyncSession, changes: dict[str, int]) -> None:
        for consultant_id, delta in sorted(changes.items()):
            await session.exec(
                update(KnownConsultant)
                .where(col(KnownConsultant.id) == consultant_id)
                .values(open_leads=col(KnownConsultant.open_leads) + delta)
            )

    async def _eligible(self, session: AsyncSession) -> list[Candidate]:
        # Plain rows, not ORM objects: this runs for every decision.
        return _eligible_from((await session.exec(ELIGIBILITY_QUERY)).all())  # type: ignore[call-overload]

    async def _online(self, session: AsyncSession, now: datetime) -> set[str]:
        rows = (
            await session.exec(select(PresenceRecord).where(PresenceRecord.expires_at > now))
        ).all()
        return {consultant for row in rows for consultant in row.consultant_ids}

    async def _assign(
        self,
        session: AsyncSession,
        lead_id: str,
        *,
        rule: str = "round_robin",
        exclude: str | None = None,
    ) -> bool:
        """Pick the next consultant for `lead_id` by the policy; False if nobody can take it."""
        plain = self.policy is AssignmentPolicy.ROUND_ROBIN and not self.skip_offline
        if plain and exclude is None:
            eligible = await self._eligible(session)
            if not eligible:
                return False
            # Advancing the cursor takes its row lock until commit: concurrent replicas
            # queue here, so every position is handed out exactly once. Everything that can
            # be done before taking it is done before.
            position = (await session.exec(_move_cursor(+1))).scalar_one()
            chosen = next_in_rotation(eligible, position)
        else:
            # Room and presence change with every decision: read them under the lock.
            position = (await session.exec(_move_cursor(0))).scalar_one()
            eligible = await self._eligible(session)
            online = await self._online(session, utcnow()) if self.skip_offline else None
            takes = who_takes(
                eligible,
                capacity=self.policy is AssignmentPolicy.CAPACITY,
                online=online,
                exclude=exclude,
            )
            step = steps_to_next(eligible, position, takes)
            if step is None:
                return False
            await session.exec(_move_cursor(step))
            chosen = next_in_rotation(eligible, position + step)
            await self._record_decision(session, lead_id, chosen.id)
        await self._count(session, chosen.id)
        await add_to_outbox(
            session,
            OUTBOX,
            AssignmentDecided(
                lead_id=lead_id,
                consultant_id=chosen.id,
                rule=rule,
                eligible_ids=[c.id for c in eligible],
                reassigns=exclude,
            ),
        )
        return True

    async def _record_decision(self, session: AsyncSession, lead_id: str, chosen: str) -> None:
        """Count the lead as open for `chosen` now, not when lead.assigned comes back: a
        burst of decisions must not overfill anyone's capacity in between."""
        state = await session.get(LeadState, lead_id)
        before = (state.consultant_id, state.status) if state else None
        state = state or LeadState(lead_id=lead_id, status="NEW")
        state.consultant_id, state.assigned_at = chosen, utcnow()
        session.add(state)
        await self._move_open_counts(session, open_lead_changes(before, (chosen, state.status)))
