"""Reliable events on real PostgreSQL: nothing lost between commit and publish, nothing doubled."""

from __future__ import annotations

import asyncio

import pytest
from leadflow.events import AssignmentDecided, LeadAssigned, LeadClassified, Temperature
from leads.models import OUTBOX, Interaction, Lead
from sqlmodel import func, select

from services.leads.tests.support import LeadsUnderTest

ADMIN = {"id": "admin-1", "role": "admin"}


async def unpublished(leads: LeadsUnderTest) -> int:
    async with leads.sessions() as session:
        query = select(func.count()).where(OUTBOX.outbox.c.published_at.is_(None))
        return int((await session.exec(query)).one())


async def test_an_event_committed_while_the_relay_is_down_is_published_when_it_returns(
    leads: LeadsUnderTest,
) -> None:
    # The relay never ran: as if the process died right after the commit.
    result = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Rita", "phone": "+5511912345678"}}
    )
    assert await unpublished(leads) == 1 and leads.published == []

    assert await leads.relay.publish_pending() == 1  # a new relay after the restart
    assert [(d.routing_key, d.event().lead.id) for d in leads.published] == [  # type: ignore[attr-defined]
        ("lead.created", result["lead"]["id"])
    ]
    assert await unpublished(leads) == 0
    assert await leads.relay.publish_pending() == 0  # published once, not again


async def test_a_redelivered_classification_changes_the_lead_once(leads: LeadsUnderTest) -> None:
    created = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Rui", "phone": "+5511912340000"}}
    )
    lead_id = created["lead"]["id"]
    event = LeadClassified(
        lead_id=lead_id,
        temperature=Temperature.HOT,
        ai_score=80,
        ai_reasons=["test (+80)"],
        classified_by="rules",
    )
    redelivered = event
    await leads.handlers.on_lead_classified(redelivered)
    await leads.handlers.on_lead_classified(redelivered)  # the broker redelivers it

    shown = await leads.handlers.get_lead({"actor": ADMIN, "id": lead_id})
    assert (shown["temperature"], shown["ai_score"], shown["version"]) == ("HOT", 80, 2)
    assert sorted(i["kind"] for i in shown["interactions"]) == ["classified", "created"]
    await leads.relay.publish_pending()
    keys = [d.routing_key for d in leads.published]
    assert keys.count("lead.scored") == 1 and keys.count("lead.assignment_requested") == 1
    assert "lead.updated" not in keys  # a score is the board's alone (issue 19)


async def test_a_classification_that_changes_nothing_keeps_the_version_and_asks_again(
    leads: LeadsUnderTest,
) -> None:
    created = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Ada", "phone": "+5511912340009"}}
    )
    for _ in range(2):  # two classifications (two events) with the same result
        await leads.handlers.on_lead_classified(
            LeadClassified(
                lead_id=created["lead"]["id"],
                temperature=Temperature.WARM,
                ai_score=55,
                ai_reasons=["renda ok"],
                classified_by="rules",
            )
        )
    published = await leads.flush_outbox()
    updates = [d.event() for d in published if d.routing_key == "lead.scored"]
    assert [u.lead.version for u in updates] == [2]  # type: ignore[attr-defined]
    keys = [d.routing_key for d in published]
    assert keys.count("lead.assignment_requested") == 2


async def test_a_classification_is_audited_and_asks_for_a_consultant_only_when_none_has_it(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")
    unassigned = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Gil", "phone": "+5511912345001"}}
    )
    anas = await leads.handlers.create_lead(
        {
            "actor": {"id": "ana-1", "role": "consultant"},
            "data": {"name": "Hel", "phone": "+5511912345002"},
        }
    )
    for created, score in ((unassigned, 85), (anas, 20)):
        event = LeadClassified(
            lead_id=created["lead"]["id"],
            temperature=Temperature.HOT if score > 50 else Temperature.COLD,
            ai_score=score,
            ai_reasons=[f"score {score}"],
            classified_by="groq",
        )
        await leads.handlers.on_lead_classified(event)

    async with leads.sessions() as session:
        audit = (
            await session.exec(select(Interaction.changes).where(Interaction.kind == "classified"))
        ).all()
    assert {
        "temperature": {"before": None, "after": "HOT"},
        "ai_score": {"before": None, "after": 85},
        "ai_reasons": {"before": [], "after": ["score 85"]},
        "by": "groq",
    } in audit
    await leads.relay.publish_pending()
    updated = {
        d.event().lead.id: d.event().lead for d in leads.published if d.routing_key == "lead.scored"
    }  # type: ignore[attr-defined]
    hot = updated[unassigned["lead"]["id"]]
    assert (hot.temperature, hot.ai_score, hot.ai_reasons, hot.version) == (
        "HOT",
        85,
        ["score 85"],
        2,
    )
    assert updated[anas["lead"]["id"]].consultant.name == "Ana"  # type: ignore[union-attr]
    requested = [
        d.event().lead_id for d in leads.published if d.routing_key == "lead.assignment_requested"
    ]  # type: ignore[attr-defined]
    assert requested == [unassigned["lead"]["id"]]


async def test_a_decision_moves_the_lead_once_audits_it_and_names_the_consultants_phone(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com", phone="+5511988887777")
    created = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Ivo", "phone": "+5511912345003"}}
    )
    lead_id = created["lead"]["id"]
    decision = AssignmentDecided(
        lead_id=lead_id, consultant_id="ana-1", rule="round_robin", eligible_ids=["ana-1", "bo-2"]
    )
    redelivered = decision

    await leads.handlers.on_assignment_decided(redelivered)
    await leads.handlers.on_assignment_decided(redelivered)  # the broker redelivers it

    shown = await leads.handlers.get_lead({"actor": ADMIN, "id": lead_id})
    assert (shown["consultant_id"], shown["version"]) == ("ana-1", 2)
    audit = [i["changes"] for i in shown["interactions"] if i["kind"] == "assigned"]
    assert audit == [
        {
            "consultant_id": {"before": None, "after": "ana-1"},
            "rule": "round_robin",
            "eligible": ["ana-1", "bo-2"],
        }
    ]
    await leads.relay.publish_pending()
    [assigned] = [d.event() for d in leads.published if d.routing_key == "lead.assigned"]
    assert isinstance(assigned, LeadAssigned)
    assert assigned.lead.consultant is not None and assigned.lead.consultant.name == "Ana"
    assert (assigned.lead.version, assigned.consultant_phone) == (2, "+5511988887777")
    # Her notice is wa-consultant's to write and send (issue 14): leads stages no command.
    assert [d.routing_key for d in leads.published if d.routing_key.startswith("whatsapp")] == []


async def test_an_sla_reassignment_of_a_lead_worked_meanwhile_changes_nothing(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")
    await leads.add_consultant("bo-2", "Bo", "bo@example.com")
    created = await leads.handlers.create_lead(
        {
            "actor": {"id": "ana-1", "role": "consultant"},
            "data": {"name": "Jo", "phone": "+5511912345004"},
        }
    )
    async with leads.sessions() as session:
        lead = await session.get(Lead, created["lead"]["id"])
        assert lead is not None
        lead.status = "CONTACTED"  # Ana worked it after the sweep looked
        session.add(lead)
        await session.commit()
    decision = AssignmentDecided(
        lead_id=created["lead"]["id"], consultant_id="bo-2", rule="sla", reassigns="ana-1"
    )

    await leads.handlers.on_assignment_decided(decision)

    shown = await leads.handlers.get_lead({"actor": ADMIN, "id": created["lead"]["id"]})
    assert (shown["consultant_id"], shown["version"]) == ("ana-1", 1)


async def test_the_same_phone_twice_returns_the_existing_lead(leads: LeadsUnderTest) -> None:
    first = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Eva", "phone": "+55 11 91111-2222"}}
    )
    again = await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Eva B", "phone": "5511911112222"}}
    )
    assert (first["created"], again["created"]) == (True, False)
    assert again["lead"]["id"] == first["lead"]["id"] and again["lead"]["name"] == "Eva"


async def test_concurrent_creations_with_one_phone_store_one_lead_one_audit_one_event(
    leads: LeadsUnderTest,
) -> None:
    results = await asyncio.gather(
        *(
            leads.handlers.create_lead(
                {"actor": ADMIN, "data": {"name": f"Ivo {i}", "phone": "+5511912347777"}}
            )
            for i in range(8)
        )
    )

    assert sorted(r["created"] for r in results) == [False] * 7 + [True]
    assert len({r["lead"]["id"] for r in results}) == 1
    async with leads.sessions() as session:
        kinds = (await session.exec(select(Interaction.kind))).all()
    assert kinds == ["created"]
    assert await unpublished(leads) == 1


async def test_a_consultants_new_lead_is_theirs_in_the_answer_and_in_the_event(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")

    result = await leads.handlers.create_lead(
        {
            "actor": {"id": "ana-1", "role": "consultant"},
            "data": {"name": "Bia", "phone": "+5511912346666"},
        }
    )

    expected = {"id": "ana-1", "name": "Ana", "email": "ana@example.com"}
    assert result["lead"]["consultant_id"] == "ana-1" and result["lead"]["consultant"] == expected
    await leads.relay.publish_pending()
    [created] = [d.event() for d in leads.published if d.routing_key == "lead.created"]
    assert created.lead.consultant is not None  # type: ignore[attr-defined]
    assert created.lead.consultant.model_dump() == expected  # type: ignore[attr-defined]
    async with leads.sessions() as session:
        [changes] = (await session.exec(select(Interaction.changes))).all()
    assert changes == {"source": "manual", "assigned_to_creator": True}


class BrokerDown(Exception):
    pass


async def test_a_publish_that_fails_leaves_the_events_for_the_next_attempt(
    leads: LeadsUnderTest,
) -> None:
    await leads.handlers.create_lead(
        {"actor": ADMIN, "data": {"name": "Lia", "phone": "+5511912349999"}}
    )
    real_publish = leads.relay.bus.publish
    calls = 0

    async def flaky_publish(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise BrokerDown("connection reset")
        await real_publish(*args, **kwargs)  # type: ignore[arg-type]

    leads.relay.bus.publish = flaky_publish  # type: ignore[method-assign]
    with pytest.raises(BrokerDown):
        await leads.relay.publish_pending()
    assert await unpublished(leads) == 1 and leads.published == []
    assert await leads.relay.publish_pending() == 1
    assert [d.routing_key for d in leads.published] == ["lead.created"]
    assert await unpublished(leads) == 0
