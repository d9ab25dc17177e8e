"""How a lead event changes what assignment tracks of the lead, and the open-lead counts."""

from __future__ import annotations

from collections import Counter
from random import Random

from assignment.domain import (
    TrackedLead,
    Tracking,
    changes_tracking,
    figures_per_consultant,
    track,
)
from hypothesis import given
from hypothesis import strategies as st

STATUSES = ["NEW", "CONTACTED", "QUALIFIED", "NEGOTIATING", "WON", "LOST"]


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


# A lead's events, as the leads service writes them: version 1 is its creation; each
# later version either moves it (new status or consultant, never back to nobody) or
# changes only what the assigner does not track (a classification, a rename).
lead_histories = st.lists(
    st.tuples(st.booleans(), st.sampled_from([None, "ana", "bo"]), st.sampled_from(STATUSES)),
    max_size=12,
)


def events_of(
    history: list[tuple[bool, str | None, str]],
) -> list[tuple[list[str], str | None, str, int]]:
    """(changed fields, consultant, status, version) per event, in version order."""
    consultant, status = None, "NEW"
    events: list[tuple[list[str], str | None, str, int]] = [([], consultant, status, 1)]
    for version, (moves, next_consultant, next_status) in enumerate(history, start=2):
        if moves:
            consultant, status = next_consultant or consultant, next_status
            events.append((["consultant_id", "status"], consultant, status, version))
        else:
            events.append((["temperature", "ai_score"], consultant, status, version))
    return events


def fold(
    events: list[tuple[list[str], str | None, str, int]],
) -> tuple[str | None, str, Counter[str]]:
    stored: TrackedLead | None = None
    open_counts: Counter[str] = Counter()
    for _, consultant, status, version in events:
        tracking = track(stored, consultant, status, version)
        if tracking is not None:
            stored = tracking.state
            open_counts.update(tracking.open_changes)
    assert stored is not None
    return stored.consultant_id, stored.status, +open_counts


@given(lead_histories, st.randoms(use_true_random=False))
def test_dropping_updates_that_change_nothing_tracked_ends_in_the_same_state(
    history: list[tuple[bool, str | None, str]], random: Random
) -> None:
    events = events_of(history)
    random.shuffle(events)  # replicas deliver out of order
    kept = [e for e in events if e[3] == 1 or changes_tracking(e[0])]
    assert fold(kept) == fold(events)


def test_only_status_and_consultant_changes_matter_to_the_assigner() -> None:
    assert changes_tracking(["status"]) and changes_tracking(["consultant_id", "name"])
    assert not changes_tracking(["temperature", "ai_score", "ai_reasons"])
    assert not changes_tracking([])


def test_the_dashboard_counts_leads_by_column_and_leaves_out_idle_inactive_consultants() -> None:
    rows = [
        ("ana", "Ana", True, "NEW", 2),
        ("ana", "Ana", True, "WON", 1),
        ("ana", "Ana", True, "LOST", 1),
        ("bia", "Bia", True, None, 0),  # no lead in scope: still shown, with zeros
        ("caio", "Caio", False, None, 0),  # inactive and idle: left out
        ("davi", "Davi", False, "PROPOSAL", 1),  # inactive, still holding a lead
    ]
    figures = figures_per_consultant(rows)
    assert [(row["id"], row["active"]) for row in figures] == [
        ("ana", True), ("bia", True), ("davi", False),
    ]  # fmt: skip
    counts = [(row["assigned"], row["open"], row["won"], row["lost"]) for row in figures]
    assert counts == [(4, 2, 1, 1), (0, 0, 0, 0), (1, 1, 0, 0)]
