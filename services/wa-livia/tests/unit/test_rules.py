from datetime import UTC, datetime, timedelta

import pytest
from leadflow.events import LiviaStage
from wa_livia.domain import (
    Line,
    completion_figures,
    reminds_consultant,
    takes_decision,
    turn_input,
    turn_is_due,
    typing_delay_ms,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("length", "override", "expected"),
    [(0, None, 1000), (10, None, 1300), (67, None, 3000), (500, None, 3000), (500, 0, 0)],
)
def test_typing_shows_for_a_time_that_grows_with_the_reply_up_to_three_seconds(
    length: int, override: int | None, expected: int
) -> None:
    assert typing_delay_ms("x" * length, override) == expected


def test_a_turn_is_due_only_after_the_debounce_window() -> None:
    assert not turn_is_due(None, T0, 0)
    assert not turn_is_due(T0, T0 + timedelta(milliseconds=999), 1000)
    assert turn_is_due(T0, T0 + timedelta(milliseconds=1000), 1000)


def test_a_decision_is_dropped_when_a_person_took_over_or_it_would_undo_the_handoff() -> None:
    assert takes_decision(LiviaStage.SIMULATION, LiviaStage.CONVERSION, paused=False)
    assert not takes_decision(LiviaStage.SIMULATION, LiviaStage.CONVERSION, paused=True)
    assert takes_decision(LiviaStage.TRANSFERRED, LiviaStage.TRANSFERRED, paused=False)
    assert not takes_decision(LiviaStage.TRANSFERRED, LiviaStage.CONVERSION, paused=False)


def test_a_lead_writing_after_the_handoff_reminds_the_consultant_again_only_after_a_while() -> None:
    assert reminds_consultant(None, T0)
    assert not reminds_consultant(T0, T0 + timedelta(minutes=5))
    assert reminds_consultant(T0, T0 + timedelta(minutes=30))


def heard(text: str) -> Line:
    return Line("in", "lead", text)


def audio(transcript: str | None) -> Line:
    return Line("in", "lead", "[audio]", "audio", transcript)


def test_a_transcribed_audio_is_read_as_text() -> None:
    said = turn_input([heard("oi"), audio("quero um carro")])
    assert (said.new_messages, said.unheard_audio) == (["oi", "quero um carro"], 0)


def test_an_audio_nobody_could_transcribe_is_counted_for_a_request_for_text() -> None:
    said = turn_input([audio(None), heard("quero um carro"), audio("  ")])
    assert (said.new_messages, said.unheard_audio, said.empty) == (["quero um carro"], 2, False)
    assert not turn_input([audio(None)]).empty
    assert turn_input([]).empty


def test_the_completion_rate_is_none_before_the_first_conversation() -> None:
    assert completion_figures(0, 0)["completion_rate"] is None
    assert completion_figures(3, 2) == {
        "conversations": 3,
        "completed": 2,
        "completion_rate": 0.6667,
    }
