"""Assignment use cases: one transaction each, cursor and outbox included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflow.bus import Delivery
from leadflow.db import OutboxRelay, add_to_outbox, already_handled
from leadflow.events import (
    AssignmentDecided,
    ConsultantSaved,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadCreated,
    LeadUpdated,
    Role,
    Temperature,
    utcnow,
)
from leadflow.rpc import Forbidden, NotFound
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assignment.domain import (
    COUNTED_OVERRIDES,
    Candidate,
    eligible_in_rotation_order,
    is_newer,
    next_in_rotation,
    stats_from,
    waiting_order,
)
from assignment.models import (
    OUTBOX,
    ConsultantStats,
    KnownConsultant,
    LeadState,
    RotationCursor,
    WaitingLead,
)


def _move_cursor(step: int) -> Any:
    return (
        update(RotationCursor)
        .where(col(RotationCursor.id) == 1)
        .values(position=col(RotationCursor.position) + step)
        .returning(col(RotationCursor.position))
    )


@dataclass
class AssignmentHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay

    async def on_assignment_requested(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, LeadAssignmentRequested)
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
            session.add(row)
            await session.flush()
            await self._drain_waiting(session)
            await session.commit()
        self.relay.wake()

    async def on_lead_event(self, delivery: Delivery) -> None:
        """Track each lead's consultant and column; count creator and manual assignments."""
        event = delivery.event()
        assert isinstance(event, LeadCreated | LeadUpdated | LeadAssigned)
        lead = event.lead
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            state = await session.get(LeadState, lead.id)
            if is_newer(state.version if state else None, lead.version):
                state = state or LeadState(lead_id=lead.id, status=lead.status.value)
                state.consultant_id, state.status = lead.consultant_id, lead.status.value
                state.version = lead.version
                session.add(state)
            override = (
                "creator"
                if isinstance(event, LeadCreated) and lead.consultant_id
                else event.rule
                if isinstance(event, LeadAssigned)
                else None
            )
            if override in COUNTED_OVERRIDES and lead.consultant_id:
                await self._count(session, lead.consultant_id)
            await session.commit()

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
        stats = await session.get(ConsultantStats, consultant_id) or ConsultantStats(
            consultant_id=consultant_id
        )
        stats.assigned_total += 1
        stats.last_assigned_at = utcnow()
        session.add(stats)

    async def _drain_waiting(self, session: AsyncSession) -> None:
        """Someone may have become eligible: hand out waiting leads, HOT and oldest first."""
        waiting = list((await session.exec(select(WaitingLead))).all())
        waiting.sort(
            key=lambda w: waiting_order(
                Temperature(w.temperature) if w.temperature else None, w.lead_created_at
            )
        )
        for lead in waiting:
            if not await self._assign(session, lead.lead_id):
                return
            await session.delete(lead)

    async def _assign(self, session: AsyncSession, lead_id: str) -> bool:
        """Pick the next eligible consultant for `lead_id`; False if nobody is eligible."""
        rows = (await session.exec(select(KnownConsultant))).all()
        eligible = eligible_in_rotation_order(
            [Candidate(r.id, Role(r.role), r.active, r.created_at) for r in rows]
        )
        if not eligible:
            return False
        # Advancing the cursor takes its row lock until commit: concurrent replicas queue
        # here, so every position is handed out exactly once. Everything that can be done
        # before taking it is done before.
        position = (await session.exec(_move_cursor(+1))).scalar_one()
        chosen = next_in_rotation(eligible, position)
        await self._count(session, chosen.id)
        await add_to_outbox(
            session,
            OUTBOX,
            AssignmentDecided(
                lead_id=lead_id,
                consultant_id=chosen.id,
                rule="round_robin",
                eligible_ids=[c.id for c in eligible],
            ),
        )
        return True
