"""A client never receives an event about a lead it may not see."""

from leadflow.events import (
    LeadAssigned,
    LeadCreated,
    LeadScored,
    LeadView,
    LiviaLeadWaiting,
    Role,
    Temperature,
)
from leadflow.testing.factories import a_lead, claims
from realtime.domain import LeadOwners, frames_for, may_join, may_receive


def lead(owner: str | None) -> LeadView:
    return a_lead(consultant_id=owner)


def test_consultants_receive_only_their_own_leads_and_staff_receive_all() -> None:
    [mine] = frames_for(LeadCreated(lead=lead("me")), LeadOwners())
    [theirs] = frames_for(LeadCreated(lead=lead("other")), LeadOwners())
    [unassigned] = frames_for(LeadCreated(lead=lead(None)), LeadOwners())
    consultant = claims(Role.CONSULTANT)
    assert may_receive(consultant, mine)
    assert not may_receive(consultant, theirs) and not may_receive(consultant, unassigned)
    for role in (Role.ADMIN, Role.MANAGER):
        assert all(may_receive(claims(role), f) for f in (mine, theirs, unassigned))


def test_an_assignment_notifies_the_assigned_consultants_room() -> None:
    kanban, note = frames_for(LeadAssigned(lead=lead("c7"), rule="round_robin"), LeadOwners())
    assert (kanban.event, kanban.room) == ("kanban:lead_assigned", "kanban")
    assert (note.event, note.room, note.data["type"]) == (
        "notification",
        "consultant:c7",
        "lead_assigned",
    )


def test_a_classification_updates_the_card_on_the_board_of_its_consultant_and_staff() -> None:
    scored = a_lead(consultant_id="me", temperature=Temperature.HOT, ai_score=85, version=2)
    [card] = frames_for(LeadScored(lead=scored, changed=["temperature", "ai_score"]), LeadOwners())
    assert (card.event, card.room, card.data["temperature"], card.data["ai_score"]) == (
        "kanban:lead_updated",
        "kanban",
        "HOT",
        85,
    )
    assert may_receive(claims(Role.CONSULTANT), card)
    assert not may_receive(claims(Role.CONSULTANT, "other"), card)
    assert may_receive(claims(Role.MANAGER), card)


def test_a_consultant_may_not_join_the_admin_room_or_another_consultants_room() -> None:
    consultant = claims(Role.CONSULTANT)
    assert may_join(consultant, "kanban") and may_join(consultant, "consultant:me")
    assert not may_join(consultant, "admin") and not may_join(consultant, "consultant:other")
    assert may_join(claims(Role.MANAGER), "admin")


def test_a_lead_writing_after_the_handoff_reminds_only_their_consultant() -> None:
    waiting = LiviaLeadWaiting(
        lead_id="l1",
        conversation_id="c1",
        consultant_id="c7",
        lead_name="Marina",
        text="ainda não falaram comigo",
    )
    [note] = frames_for(waiting, LeadOwners())
    assert (note.event, note.room, note.data["type"], note.data["text"]) == (
        "notification",
        "consultant:c7",
        "lead_waiting",
        "ainda não falaram comigo",
    )
    assert may_receive(claims(Role.CONSULTANT, "c7"), note)
    assert not may_receive(claims(Role.CONSULTANT, "c8"), note)
    assert frames_for(waiting.model_copy(update={"consultant_id": None}), LeadOwners()) == []
