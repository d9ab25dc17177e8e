"""Round-robin decisions on real PostgreSQL: exact under concurrency, once per request."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from assignment.models import ConsultantStats
from assignment.testing import Assigner, add_consultants
from leadflow.events import LeadAssignmentRequested, Temperature


def request(lead: str) -> LeadAssignmentRequested:
    return LeadAssignmentRequested(
        lead_id=lead, temperature=Temperature.WARM, lead_created_at=datetime.now(UTC)
    )


async def test_concurrent_requests_are_shared_exactly_and_in_rotation_order(
    assigner: Assigner,
) -> None:
    consultants = await add_consultants(assigner, 3)

    await asyncio.gather(
        *(assigner.handlers.on_assignment_requested(request(f"lead-{i}")) for i in range(60))
    )

    decisions = await assigner.decisions()
    assert len(decisions) == 60 and len({d.lead_id for d in decisions}) == 60
    assert Counter(d.consultant_id for d in decisions) == {c: 20 for c in consultants}
    # Published in the order they were decided: the rotation, lap after lap.
    assert [d.consultant_id for d in decisions] == consultants * 20
    assert all(d.rule == "round_robin" and d.eligible_ids == consultants for d in decisions)
    async with assigner.handlers.sessions() as session:
        totals = {c: (await session.get(ConsultantStats, c)) for c in consultants}
    assert {c: s.assigned_total if s else 0 for c, s in totals.items()} == {
        c: 20 for c in consultants
    }


async def test_a_redelivered_request_is_decided_once(assigner: Assigner) -> None:
    first, second, _third = await add_consultants(assigner, 3)
    repeated = request("lead-a")

    await assigner.handlers.on_assignment_requested(repeated)
    await assigner.handlers.on_assignment_requested(repeated)  # the broker redelivers it
    await assigner.handlers.on_assignment_requested(request("lead-b"))

    decisions = await assigner.decisions()
    assert [(d.lead_id, d.consultant_id) for d in decisions] == [
        ("lead-a", first),
        ("lead-b", second),  # the redelivery did not use up a turn
    ]


async def test_a_request_delivered_twice_at_once_is_decided_once(assigner: Assigner) -> None:
    first, second, third = await add_consultants(assigner, 3)
    twice = request("lead-a")

    await asyncio.gather(
        assigner.handlers.on_assignment_requested(twice),
        assigner.handlers.on_assignment_requested(twice),  # two replicas' deliveries race
        assigner.handlers.on_assignment_requested(request("lead-b")),
    )
    await assigner.handlers.on_assignment_requested(request("lead-c"))

    decisions = await assigner.decisions()
    assert sorted(d.lead_id for d in decisions) == ["lead-a", "lead-b", "lead-c"]
    assert [d.consultant_id for d in decisions] == [first, second, third]


async def test_with_nobody_eligible_the_lead_waits_for_the_first_consultant(
    assigner: Assigner,
) -> None:
    await assigner.handlers.on_assignment_requested(request("lead-early"))
    assert await assigner.decisions() == []

    [consultant] = await add_consultants(assigner, 1)

    [decision] = await assigner.decisions()
    assert (decision.lead_id, decision.consultant_id) == ("lead-early", consultant)


async def test_a_drained_lead_and_the_next_requests_continue_one_rotation(
    assigner: Assigner,
) -> None:
    await assigner.handlers.on_assignment_requested(request("lead-waiting"))
    # The first consultant saved drains the waiting lead (the transactional path, position
    # 1); the requests after it are decided by the batch statement (positions 2, 3, 4).
    first, second, third = await add_consultants(assigner, 3)
    for lead in ("lead-b", "lead-c", "lead-d"):
        await assigner.handlers.on_assignment_requested(request(lead))

    decisions = await assigner.decisions()
    assert [(d.lead_id, d.consultant_id) for d in decisions] == [
        ("lead-waiting", first),
        ("lead-b", second),
        ("lead-c", third),
        ("lead-d", first),
    ]
