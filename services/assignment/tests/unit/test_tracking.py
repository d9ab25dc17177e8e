"""How a lead event changes what assignment tracks of the lead, and the open-lead counts."""

from __future__ import annotations

from assignment.domain import TrackedLead, Tracking, track


def test_a_first_event_for_an_assigned_lead_opens_it_for_its_consultant() -> None:
    assert track(None, "ana", "NEW", 1) == Tracking(TrackedLead("ana", "NEW", 1), True, {"ana": 1})


def test_a_first_event_for_an_unassigned_lead_changes_no_count() -> None:
    assert track(None, None, "NEW", 1) == Tracking(TrackedLead(None, "NEW", 1), False, {})


def test_older_news_changes_nothing() -> None:
    assert track(TrackedLead("ana", "CONTACTED", 3), "ana", "NEW", 2) is None
    assert track(TrackedLead("ana", "CONTACTED", 3), "ana", "NEW", 3) is None


def test_an_event_without_a_consultant_keeps_the_recorded_one() -> None:
    tracking = track(TrackedLead("ana", "NEW", 1), None, "CONTACTED", 2)
    assert tracking == Tracking(TrackedLead("ana", "CONTACTED", 2), False, {})


def test_winning_a_lead_frees_its_consultant_and_a_reassignment_moves_the_count() -> None:
    won = track(TrackedLead("ana", "NEGOTIATING", 4), "ana", "WON", 5)
    assert won is not None and won.open_changes == {"ana": -1} and not won.assigned_now
    moved = track(TrackedLead("ana", "NEW", 2), "bo", "NEW", 3)
    assert moved == Tracking(TrackedLead("bo", "NEW", 3), True, {"ana": -1, "bo": 1})
