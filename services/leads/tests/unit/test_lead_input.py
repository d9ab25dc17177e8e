"""Validation and normalisation of new leads (CONTRACT.md "Leads")."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leads.domain import PHONE_PATTERN, LeadInput, changes_between, normalise_phone
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("+1 415-555-2671", "+14155552671"),
        ("44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_stored_as_plus_digits(raw: str, stored: str) -> None:
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize("raw", ["", "abc", "+0123456", "+1", "1234567890123456", "+55 11 9x"])
def test_phones_outside_the_contract_pattern_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


@given(st.text(alphabet="0123456789 -()+", max_size=25))
def test_a_normalised_phone_always_matches_the_contract_pattern(raw: str) -> None:
    try:
        phone = normalise_phone(raw)
    except ValueError:
        return
    assert phone.startswith("+") and PHONE_PATTERN.match(phone)
    assert re.sub(r"\D", "", raw) == phone[1:]


@given(st.from_regex(r"\A[1-9][0-9]{7,13}\Z"), st.sampled_from(["", "+"]))
def test_normalisation_is_idempotent(digits: str, plus: str) -> None:
    try:
        once = normalise_phone(plus + digits)
    except ValueError:
        return
    assert normalise_phone(once) == once


def test_names_are_trimmed_and_must_not_be_blank() -> None:
    assert LeadInput(name="  Maria  ", phone="+5511987654321").name == "Maria"
    with pytest.raises(ValidationError, match="1 to 255"):
        LeadInput(name="   ", phone="+5511987654321")
    with pytest.raises(ValidationError, match="1 to 255"):
        LeadInput(name="x" * 256, phone="+5511987654321")


@given(st.text(min_size=1, max_size=300))
def test_any_accepted_name_is_trimmed_and_within_bounds(name: str) -> None:
    try:
        accepted = LeadInput(name=name, phone="+5511987654321").name
    except ValidationError:
        assert not 1 <= len(name.strip()) <= 255
        return
    assert accepted == name.strip() and 1 <= len(accepted) <= 255


def test_an_interaction_records_only_what_changed() -> None:
    assert changes_between({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": {"before": 2, "after": 3}}
