"""Lead events on real PostgreSQL: the stats a consultant sees follow each lead once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from assignment.models import KnownConsultant, LeadState
from assignment.testing import Assigner, add_consultants
from leadflow.events import (
    LeadAssigned,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    LeadView,
)
from leadflow.testing.factories import NOW, a_lead

ADMIN = {"id": "admin", "role": "admin"}


def lead(lead_id: str, consultant: str | None, status: LeadStatus, version: int) -> LeadView:
    return a_lead(id=lead_id, consultant_id=consultant, status=status, version=version)


async def stats(assigner: Assigner, consultant: str) -> dict[str, object]:
    found = await assigner.handlers.consultant_stats({"id": consultant, "actor": ADMIN})
    return {key: found[key] for key in ("assigned_total", "open", "won", "lost")}


async def test_a_consultants_own_lead_is_counted_once_and_closing_it_frees_them(
    assigner: Assigner,
) -> None:
    [ana] = await add_consultants(assigner, 1)
    created = LeadCreated(lead=lead("lead-1", ana, LeadStatus.NEW, 1))

    await assigner.handlers.on_lead_event(created)
    await assigner.handlers.on_lead_event(created)  # the broker redelivers it
    assert await stats(assigner, ana) == {"assigned_total": 1, "open": 1, "won": 0, "lost": 0}

    won = LeadUpdated(lead=lead("lead-1", ana, LeadStatus.WON, 3), changed=["status"])
    older = LeadUpdated(lead=lead("lead-1", None, LeadStatus.CONTACTED, 2), changed=["status"])
    await assigner.handlers.on_lead_event(won)
    await assigner.handlers.on_lead_event(older)  # late: changes nothing
    assert await stats(assigner, ana) == {"assigned_total": 1, "open": 0, "won": 1, "lost": 0}
    async with assigner.handlers.sessions() as session:
        row = await session.get(KnownConsultant, ana)
    assert row is not None and row.open_leads == 0


async def open_leads(assigner: Assigner, consultant: str) -> int:
    async with assigner.handlers.sessions() as session:
        row = await session.get(KnownConsultant, consultant)
    assert row is not None
    return row.open_leads


async def test_a_manual_reassignment_moves_the_open_lead_and_counts_for_the_new_consultant(
    assigner: Assigner,
) -> None:
    ana, bo = await add_consultants(assigner, 2)
    await assigner.handlers.on_lead_event(LeadCreated(lead=lead("lead-2", None, LeadStatus.NEW, 1)))
    to_ana = LeadAssigned(lead=lead("lead-2", ana, LeadStatus.NEW, 2), rule="round_robin")
    to_bo = LeadAssigned(
        lead=lead("lead-2", bo, LeadStatus.NEW, 3), previous_consultant_id=ana, rule="manual"
    )
    classified = LeadUpdated(lead=lead("lead-2", bo, LeadStatus.NEW, 4), changed=["temperature"])
    for event in (to_ana, to_bo, to_bo, classified):  # to_bo is delivered twice
        await assigner.handlers.on_lead_event(event)

    # Round-robin decisions are counted when made (not here); the manual one here, once.
    assert await stats(assigner, ana) == {"assigned_total": 0, "open": 0, "won": 0, "lost": 0}
    assert await stats(assigner, bo) == {"assigned_total": 1, "open": 1, "won": 0, "lost": 0}
    assert (await open_leads(assigner, ana), await open_leads(assigner, bo)) == (0, 1)
    async with assigner.handlers.sessions() as session:
        state = await session.get(LeadState, "lead-2")
    assert state is not None and (state.consultant_id, state.version) == (bo, 3)
    assert state.assigned_at == to_bo.occurred_at


async def test_the_dashboard_counts_each_consultants_leads_that_arrived_since_a_moment(
    assigner: Assigner,
) -> None:
    ana, bo = await add_consultants(assigner, 2)
    old = a_lead(id="lead-old", consultant_id=ana, created_at=NOW - timedelta(days=30))
    events = [
        LeadCreated(lead=old),
        LeadCreated(lead=lead("lead-new", ana, LeadStatus.NEW, 1)),
        LeadUpdated(lead=lead("lead-new", ana, LeadStatus.WON, 2), changed=["status"]),
        LeadCreated(lead=lead("lead-bo", bo, LeadStatus.NEW, 1)),
    ]
    for event in events:
        await assigner.handlers.on_lead_event(event)

    def counts(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
        return {row["id"]: (row["assigned"], row["open"], row["won"]) for row in rows}

    since = (NOW - timedelta(days=1)).isoformat()
    everyone = await assigner.handlers.consultant_figures({"actor": ADMIN, "since": since})
    assert counts(everyone) == {ana: (1, 0, 1), bo: (1, 1, 0)}
    assert [row["name"] for row in everyone] == ["C0", "C1"]
    all_time = await assigner.handlers.consultant_figures({"actor": ADMIN})
    assert counts(all_time)[ana] == (2, 1, 1)
    own = await assigner.handlers.consultant_figures(
        {"actor": {"id": bo, "role": "consultant"}, "since": since}
    )
    assert counts(own) == {bo: (1, 1, 0)}
