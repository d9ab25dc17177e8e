from datetime import UTC, datetime, timedelta

import pytest
from leadflow.events import LiviaStage
from wa_livia.domain import (
    ASK_FOR_TEXT,
    Line,
    after_handoff_reply,
    answers_after_handoff,
    display_phone,
    handoff_message,
    may_speak,
    plan_turn,
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


def test_she_is_silent_when_paused_or_after_the_handoff() -> None:
    assert may_speak(LiviaStage.SIMULATION, paused=False)
    assert not may_speak(LiviaStage.SIMULATION, paused=True)
    assert not may_speak(LiviaStage.TRANSFERRED, paused=False)


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+5511900000001", "+55 11 90000-0001"),
        ("+551133334444", "+55 11 3333-4444"),
        ("+14155550100", "+14155550100"),
    ],
)
def test_a_number_is_shown_the_brazilian_way(phone: str, shown: str) -> None:
    assert display_phone(phone) == shown


def test_the_handoff_greets_by_first_name_and_says_who_writes_from_which_number() -> None:
    text = handoff_message("Marina Lopes", "Carla Souza", "+5511900000001")
    assert text.startswith("Marina, prontinho!") and "Carla Souza" in text
    assert "+55 11 90000-0001" in text and "por aqui mesmo" not in text
    assert handoff_message("+5511987654321", "Carla", None).startswith("Prontinho! ")
    assert "equipe de consultores" in handoff_message("", "Carla", None)


def test_the_answer_after_the_handoff_names_who_will_call_and_from_where() -> None:
    text = after_handoff_reply("Marina Lopes", "Carla Souza", "+5511900000001")
    assert text.startswith("Oi, Marina!") and "Carla Souza" in text
    assert "+55 11 90000-0001" in text
    assert "um dos nossos consultores" in after_handoff_reply("Marina", None, None)


def test_after_the_handoff_she_answers_again_only_after_a_while() -> None:
    assert answers_after_handoff(None, T0)
    assert not answers_after_handoff(T0, T0 + timedelta(minutes=5))
    assert answers_after_handoff(T0, T0 + timedelta(minutes=30))


def heard(text: str) -> Line:
    return Line("in", "lead", text)


def audio(transcript: str | None) -> Line:
    return Line("in", "lead", "[audio]", "audio", transcript)


def test_a_transcribed_audio_is_answered_as_text() -> None:
    plan = plan_turn([heard("oi"), audio("quero um carro")], [])
    assert (plan.new_messages, plan.ask_for_text) == (["oi", "quero um carro"], False)


def test_an_audio_she_could_not_hear_is_skipped_when_there_is_text_too() -> None:
    plan = plan_turn([audio(None), heard("quero um carro")], [])
    assert (plan.new_messages, plan.ask_for_text) == (["quero um carro"], False)


def test_an_audio_she_could_not_hear_alone_gets_one_request_for_text() -> None:
    assert plan_turn([audio(None)], []).ask_for_text
    assert plan_turn([audio("  ")], []).ask_for_text
    asked = [Line("out", "livia", ASK_FOR_TEXT)]
    assert not plan_turn([audio(None)], asked).ask_for_text  # once, not in a loop
    assert plan_turn([audio(None)], [*asked, heard("oi"), Line("out", "livia", "Olá")]).ask_for_text
