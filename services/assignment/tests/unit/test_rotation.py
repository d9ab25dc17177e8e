"""Round-robin is exact: N·k assignments give each of N consultants exactly k."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from assignment.domain import (
    Candidate,
    eligible_in_rotation_order,
    is_newer,
    next_in_rotation,
    open_lead_changes,
    stats_from,
    steps_to_next,
    waiting_order,
    who_takes,
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


def rotate(
    eligible: list[Candidate], position: int, count: int, takes: Any
) -> tuple[list[str], int]:
    """Hand out `count` leads the way the service does: advance by steps_to_next."""
    chosen = []
    for _ in range(count):
        step = steps_to_next(eligible, position, takes)
        assert step is not None
        position += step
        chosen.append(next_in_rotation(eligible, position).id)
    return chosen, position


@given(
    n=st.integers(1, 10),
    k=st.integers(1, 10),
    start=st.integers(0, 10_000),
    full=st.sets(st.integers(0, 9)),
)
def test_capacity_rotation_is_exact_among_those_with_room(
    n: int, k: int, start: int, full: set[int]
) -> None:
    pool = [
        Candidate(
            f"c{i}", Role.CONSULTANT, True, T0 + timedelta(minutes=i), 3, 3 if i in full else None
        )
        for i in range(n)
    ]
    eligible = eligible_in_rotation_order(pool)
    with_room = [c.id for c in eligible if c.has_room]
    takes = who_takes(eligible, capacity=True, online=None)
    if not with_room:
        assert steps_to_next(eligible, start, takes) is None
        return
    chosen, _ = rotate(eligible, start, len(with_room) * k, takes)
    assert Counter(chosen) == dict.fromkeys(with_room, k)


@given(
    n=st.integers(1, 8),
    online=st.sets(st.integers(0, 9)),
    start=st.integers(0, 1000),
)
def test_skip_offline_rotates_over_those_online_or_everyone_when_nobody_is(
    n: int, online: set[int], start: int
) -> None:
    eligible = eligible_in_rotation_order([consultant(i) for i in range(n)])
    present = {f"c{i}" for i in online if i < n}
    takes = who_takes(eligible, capacity=False, online={f"c{i}" for i in online})
    expected = present or {c.id for c in eligible}
    chosen, _ = rotate(eligible, start, 2 * len(expected), takes)
    assert Counter(chosen) == dict.fromkeys(expected, 2)


@given(n=st.integers(2, 8), start=st.integers(0, 1000), excluded=st.integers(0, 7))
def test_an_sla_reassignment_never_goes_back_to_the_consultant_who_let_it_wait(
    n: int, start: int, excluded: int
) -> None:
    eligible = eligible_in_rotation_order([consultant(i) for i in range(n)])
    takes = who_takes(eligible, capacity=False, online=None, exclude=f"c{excluded}")
    chosen, _ = rotate(eligible, start, n, takes)
    assert f"c{excluded}" not in chosen


def test_nobody_to_take_it_when_the_only_consultant_is_excluded() -> None:
    eligible = [consultant(0)]
    takes = who_takes(eligible, capacity=False, online=None, exclude="c0")
    assert steps_to_next(eligible, 5, takes) is None


@given(
    before=st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from([None, "a", "b"]), st.sampled_from(["NEW", "CONTACTED", "WON", "LOST"])
        ),
    ),
    after=st.tuples(
        st.sampled_from([None, "a", "b"]), st.sampled_from(["NEW", "CONTACTED", "WON", "LOST"])
    ),
)
def test_open_counts_move_with_the_lead(
    before: tuple[str | None, str] | None, after: tuple[str | None, str]
) -> None:
    def open_of(state: tuple[str | None, str] | None) -> Counter[str]:
        if state is None or state[0] is None or state[1] in ("WON", "LOST"):
            return Counter()
        return Counter({state[0]: 1})

    changes = open_lead_changes(before, after)
    expected = open_of(after)
    expected.subtract(open_of(before))
    assert changes == {c: d for c, d in expected.items() if d}
