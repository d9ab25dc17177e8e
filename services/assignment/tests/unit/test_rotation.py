"""Round-robin is exact: N·k assignments give each of N consultants exactly k."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from assignment.domain import (
    Candidate,
    eligible_in_rotation_order,
    is_newer,
    next_in_rotation,
    stats_from,
    waiting_order,
)
from hypothesis import given
from hypothesis import strategies as st
from leadflow.events import Role, Temperature

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def consultant(i: int, *, role: Role = Role.CONSULTANT, active: bool = True) -> Candidate:
    return Candidate(id=f"c{i}", role=role, active=active, created_at=T0 + timedelta(minutes=i))


@given(n=st.integers(1, 12), k=st.integers(1, 20), start=st.integers(0, 10_000))
def test_any_run_of_n_times_k_positions_is_exactly_fair(n: int, k: int, start: int) -> None:
    eligible = eligible_in_rotation_order([consultant(i) for i in range(n)])
    counts = Counter(next_in_rotation(eligible, p).id for p in range(start + 1, start + 1 + n * k))
    assert sorted(counts.values()) == [k] * n


def test_only_active_consultants_with_role_consultant_are_eligible_in_creation_order() -> None:
    pool = [
        consultant(3),
        consultant(1),
        consultant(2, active=False),
        consultant(4, role=Role.MANAGER),
        consultant(0, role=Role.ADMIN),
    ]
    assert [c.id for c in eligible_in_rotation_order(pool)] == ["c1", "c3"]


@given(
    st.lists(st.tuples(st.sampled_from([*Temperature, None]), st.integers(0, 1000)), max_size=30)
)
def test_waiting_leads_go_hot_first_then_oldest_first(
    leads: list[tuple[Temperature | None, int]],
) -> None:
    ordered = sorted(
        leads, key=lambda lead: waiting_order(lead[0], T0 + timedelta(seconds=lead[1]))
    )
    rank = {Temperature.HOT: 0, Temperature.WARM: 1, Temperature.COLD: 2, None: 3}
    keys = [(rank[t], s) for t, s in ordered]
    assert keys == sorted(keys)


def test_stats_count_open_won_and_lost_from_the_lead_columns() -> None:
    last = datetime(2026, 11, 24, 12, tzinfo=UTC)
    stats = stats_from(7, last, ["NEW", "WON", "LOST", "PROPOSAL", "WON"])
    assert stats == {
        "assigned_total": 7,
        "open": 2,
        "won": 2,
        "lost": 1,
        "last_assigned_at": "2026-11-24T12:00:00+00:00",
    }


def test_an_older_lead_event_never_overwrites_a_newer_state() -> None:
    assert is_newer(None, 1) and is_newer(2, 3)
    assert not is_newer(3, 3) and not is_newer(4, 2)
