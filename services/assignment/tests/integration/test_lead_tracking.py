"""Lead events on real PostgreSQL: the stats a consultant sees follow each lead once."""

from __future__ import annotations

from datetime import UTC, datetime

from assignment.models import KnownConsultant
from assignment.testing import Assigner, add_consultants, delivery
from leadflow.events import LeadCreated, LeadSource, LeadStatus, LeadUpdated, LeadView

ADMIN = {"id": "admin", "role": "admin"}


def lead(lead_id: str, consultant: str | None, status: LeadStatus, version: int) -> LeadView:
    now = datetime.now(UTC)
    return LeadView(
        id=lead_id,
        name="Lia",
        phone="+5511912345678",
        source=LeadSource.MANUAL,
        status=status,
        consultant_id=consultant,
        version=version,
        created_at=now,
        updated_at=now,
    )


async def stats(assigner: Assigner, consultant: str) -> dict[str, object]:
    found = await assigner.handlers.consultant_stats({"id": consultant, "actor": ADMIN})
    return {key: found[key] for key in ("assigned_total", "open", "won", "lost")}


async def test_a_consultants_own_lead_is_counted_once_and_closing_it_frees_them(
    assigner: Assigner,
) -> None:
    [ana] = await add_consultants(assigner, 1)
    created = delivery(LeadCreated(lead=lead("lead-1", ana, LeadStatus.NEW, 1)))

    await assigner.handlers.on_lead_event(created)
    await assigner.handlers.on_lead_event(created)  # the broker redelivers it
    assert await stats(assigner, ana) == {"assigned_total": 1, "open": 1, "won": 0, "lost": 0}

    won = LeadUpdated(lead=lead("lead-1", ana, LeadStatus.WON, 3), changed=["status"])
    older = LeadUpdated(lead=lead("lead-1", None, LeadStatus.CONTACTED, 2), changed=["status"])
    await assigner.handlers.on_lead_event(delivery(won))
    await assigner.handlers.on_lead_event(delivery(older))  # late: changes nothing
    assert await stats(assigner, ana) == {"assigned_total": 1, "open": 0, "won": 1, "lost": 0}
    async with assigner.handlers.sessions() as session:
        row = await session.get(KnownConsultant, ana)
    assert row is not None and row.open_leads == 0
