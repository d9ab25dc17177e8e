"""Assignment use cases: one transaction each, cursor and outbox included."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from leadflow.batching import Batcher
from leadflow.contracts import DashboardQuery
from leadflow.db import (
    OutboxRelay,
    add_to_outbox,
    already_handled,
    asyncpg_connection,
    asyncpg_transaction,
)
from leadflow.events import (
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
from leadflow.rpc import Forbidden, NotFound, parse
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from assignment import repository as repo
from assignment.config import AssignmentPolicy
from assignment.domain import (
    COUNTED_OVERRIDES,
    Tracking,
    changes_tracking,
    figures_per_consultant,
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
    KnownConsultant,
    LeadState,
)


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

    async def on_assignment_requested(self, event: LeadAssignmentRequested) -> None:
        plain = self.policy is AssignmentPolicy.ROUND_ROBIN and not self.skip_offline
        if plain and await self._decisions.submit(event):
            self.relay.wake()
            return
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            if not await self._assign(session, event.lead_id):
                await repo.keep_waiting(
                    session,
                    lead_id=event.lead_id,
                    temperature=event.temperature.value if event.temperature else None,
                    lead_created_at=event.lead_created_at,
                )
            await session.commit()
        self.relay.wake()

    async def _decide_together(self, requests: list[LeadAssignmentRequested]) -> list[bool]:
        """For each request: True if decided here (or handled before); False if nobody is
        eligible, which the transactional path handles (the lead waits)."""
        async with asyncpg_connection(self.autocommit) as connection:
            eligible = await repo.eligible_now(connection)
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
            await repo.decide_round_robin(
                connection,
                request_ids=[request.event_id for request in requests],
                decisions=decisions,
                eligible_ids=ids,
                now=utcnow(),
            )
        return [True] * len(requests)

    async def on_consultant_saved(self, event: ConsultantSaved) -> None:
        consultant = event.consultant
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            row = await repo.get_consultant(session, consultant_id=consultant.id)
            if row is None:
                row = KnownConsultant(
                    id=consultant.id,
                    role=consultant.role.value,
                    active=consultant.active,
                    created_at=consultant.created_at,
                )
            else:
                row.role, row.active = consultant.role.value, consultant.active
            row.name = consultant.name
            row.max_open_leads = consultant.max_open_leads
            session.add(row)
            await session.commit()
        await self.drain_waiting()

    async def on_lead_event(self, event: LeadCreated | LeadUpdated | LeadAssigned) -> None:
        """Track each lead's consultant and column; count creator and manual assignments."""
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
            locked = await repo.lock_lead_state(
                connection, event_id=event.event_id, lead_id=lead.id, now=now
            )
            if not locked.fresh:
                return None
            tracking = track(locked.stored, lead.consultant_id, lead.status.value, lead.version)
            counted = _counted(event)
            if tracking is None and counted is None:
                return None
            await repo.record_tracking(
                connection,
                lead_id=lead.id,
                lead_created_at=lead.created_at,
                tracking=tracking,
                exists=locked.stored is not None,
                assigned_at=event.occurred_at if tracking and tracking.assigned_now else None,
                counted_id=counted,
                now=now,
            )
        return tracking

    async def on_presence(self, event: PresenceSnapshot) -> None:
        """A realtime replica's snapshot of who is connected replaces its previous one."""
        async with self.sessions() as session:
            await repo.save_presence(
                session,
                replica_id=event.replica_id,
                consultant_ids=list(event.consultant_ids),
                expires_at=event.occurred_at + timedelta(seconds=event.valid_for_s),
            )
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
            overdue = await repo.overdue_leads(
                session, deadline=sla_deadline(now, self.sla_minutes), limit=batch
            )
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
            if await repo.get_consultant(session, consultant_id=consultant_id) is None:
                raise NotFound("consultant not found")
            stats, statuses = await repo.consultant_stats(session, consultant_id=consultant_id)
        return stats_from(
            stats.assigned_total if stats else 0,
            stats.last_assigned_at if stats else None,
            statuses,
        )

    async def consultant_figures(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The dashboard's per-consultant figures over leads that arrived since `since`:
        everyone's for admins and managers, a consultant's own row for them."""
        query = parse(DashboardQuery, params)
        async with self.sessions() as session:
            rows = await repo.consultant_figures(
                session, only=query.only_consultant, since=query.since
            )
        return figures_per_consultant(rows)

    async def drain_waiting(self) -> None:
        """Someone may have become eligible or freed capacity: hand out waiting leads,
        HOT first and oldest first within each temperature."""
        async with self.sessions() as session:
            # Rows another replica is draining are skipped, so no lead is handed out twice.
            waiting = await repo.waiting_leads(session)
            waiting.sort(
                key=lambda w: waiting_order(
                    Temperature(w.temperature) if w.temperature else None, w.lead_created_at
                )
            )
            for lead in waiting:
                if not await self._assign(session, lead.lead_id):
                    break
                await repo.stop_waiting(session, lead=lead)
            await session.commit()
        self.relay.wake()

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
            eligible = await repo.eligible(session)
            if not eligible:
                return False
            # Advancing the cursor takes its row lock until commit: concurrent replicas
            # queue here, so every position is handed out exactly once. Everything that can
            # be done before taking it is done before.
            position = await repo.move_cursor(session, step=+1)
            chosen = next_in_rotation(eligible, position)
        else:
            # Room and presence change with every decision: read them under the lock.
            position = await repo.move_cursor(session, step=0)
            eligible = await repo.eligible(session)
            online = (
                await repo.online_consultants(session, now=utcnow()) if self.skip_offline else None
            )
            takes = who_takes(
                eligible,
                capacity=self.policy is AssignmentPolicy.CAPACITY,
                online=online,
                exclude=exclude,
            )
            step = steps_to_next(eligible, position, takes)
            if step is None:
                return False
            await repo.move_cursor(session, step=step)
            chosen = next_in_rotation(eligible, position + step)
            await self._record_decision(session, lead_id, chosen.id)
        await repo.count_assignment(session, consultant_id=chosen.id, now=utcnow())
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
        state = await repo.get_lead_state(session, lead_id=lead_id)
        before = (state.consultant_id, state.status) if state else None
        state = state or LeadState(lead_id=lead_id, status="NEW")
        state.consultant_id, state.assigned_at = chosen, utcnow()
        session.add(state)
        await repo.move_open_counts(
            session, changes=open_lead_changes(before, (chosen, state.status))
        )
