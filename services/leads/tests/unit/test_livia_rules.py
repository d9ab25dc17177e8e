from datetime import UTC, datetime, timedelta

import pytest
from leads.livia import handoff_message, turn_is_due, typing_delay_ms


@pytest.mark.parametrize(
    ("length", "override", "expected"),
    [
        (0, None, 1000),
        (10, None, 1300),
        (66, None, 2980),
        (67, None, 3000),
        (500, None, 3000),
        (500, 0, 0),
        (1, 250, 250),
    ],
)
def test_typing_shows_for_a_time_that_grows_with_the_reply_up_to_three_seconds(
    length: int, override: int | None, expected: int
) -> None:
    assert typing_delay_ms("x" * length, override) == expected


def test_a_turn_is_due_only_after_the_debounce_window() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert not turn_is_due(None, start, 0)
    assert not turn_is_due(start, start + timedelta(milliseconds=999), 1000)
    assert turn_is_due(start, start + timedelta(milliseconds=1000), 1000)


def test_the_handoff_greets_by_first_name_and_names_the_consultant() -> None:
    text = handoff_message("Marina Lopes", "Carla Souza")
    assert text.startswith("Marina, ") and "Carla Souza" in text
    assert handoff_message("+5511987654321", "Carla").startswith("Prontinho! ")
    assert handoff_message("", "Carla").startswith("Prontinho! ")
