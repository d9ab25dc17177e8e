"""The request bodies the gateway and the leads service both validate (leadflow.contracts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leadflow.contracts import (
    METADATA_MAX_BYTES,
    PHONE_PATTERN,
    ConsultantCreate,
    LeadCreate,
    LeadPatch,
    normalise_phone,
)
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("(11) 98765-1111", "+5511987651111"),  # São Paulo, not +1 198...
        ("11 98765-1111", "+5511987651111"),
        ("(21) 3456-7890", "+552134567890"),  # a landline
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),  # a form that dropped the "+"
        ("+1 415-555-2671", "+14155552671"),
        ("44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_read_as_brazilians_type_them_and_stored_as_e164(raw: str, stored: str) -> None:
    assert normalise_phone(raw) == stored


def test_a_number_without_country_code_is_read_in_the_configured_country() -> None:
    assert normalise_phone("912 345 678", "PT") == "+351912345678"
    lead = LeadCreate.model_validate(
        {"name": "Rui", "phone": "912 345 678"}, context={"default_country": "PT"}
    )
    assert lead.phone == "+351912345678"


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "+0123456", "+1", "1234567890123456", "+55 11 9x", "+1 555 123 4567", "(11) 1234"],
)
def test_a_number_that_is_not_valid_for_its_country_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


@given(st.text(alphabet="0123456789 -()+", max_size=25))
def test_a_normalised_phone_always_matches_the_contract_pattern(raw: str) -> None:
    try:
        phone = normalise_phone(raw)
    except ValueError:
        return
    assert phone.startswith("+") and PHONE_PATTERN.match(phone)
    assert normalise_phone(phone) == phone


def test_invalid_phones_are_refused_naming_the_field_for_leads_and_consultants() -> None:
    with pytest.raises(ValidationError) as lead_error:
        LeadCreate.model_validate({"name": "A", "phone": "+1 555 123 4567"})
    with pytest.raises(ValidationError) as consultant_error:
        ConsultantCreate.model_validate(
            {"name": "C", "email": "c@example.com", "password": "password-1", "phone": "123"}
        )
    assert [e["loc"] for e in lead_error.value.errors()] == [("phone",)]
    assert [e["loc"] for e in consultant_error.value.errors()] == [("phone",)]
    consultant = ConsultantCreate.model_validate(
        {"name": "C", "email": "c@example.com", "password": "password-1", "phone": "11987650000"}
    )
    assert consultant.phone == "+5511987650000"


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (nested(199), "levels deep"),
        (nested(9), "levels deep"),
        ({"n": 2**64}, "64 bits"),
        ({"n": [1, {"m": -(2**63) - 1}]}, "64 bits"),
        ({f"k{i}": i for i in range(300)}, "keys"),
        ({"blob": "x" * METADATA_MAX_BYTES}, "bytes"),
    ],
)
def test_metadata_beyond_its_bounds_is_refused(metadata: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as error:
        LeadCreate.model_validate({"name": "A", "phone": "+5511987654321", "metadata": metadata})
    assert error.value.errors()[0]["loc"] == ("metadata",)
    with pytest.raises(ValidationError, match=problem):
        LeadPatch.model_validate({"version": 1, "metadata": metadata})


def test_metadata_within_its_bounds_is_kept_as_sent() -> None:
    metadata = {"utm": {"source": "google"}, "collected": {"simulation": {"n": 2**63 - 1}}}
    lead = LeadCreate.model_validate({"name": "A", "phone": "+5511987654321", "metadata": metadata})
    assert lead.metadata == metadata and nested(8)  # eight levels are fine
    LeadCreate.model_validate({"name": "A", "phone": "+5511987654321", "metadata": nested(8)})


def test_a_patch_needs_a_positive_version() -> None:
    for version in (0, -1, 2**64):
        with pytest.raises(ValidationError):
            LeadPatch.model_validate({"version": version, "notes": "x"})
    assert LeadPatch.model_validate({"version": 1, "notes": "x"}).changes() == {"notes": "x"}


def test_names_are_trimmed_and_must_not_be_blank() -> None:
    assert LeadCreate(name="  Maria  ", phone="+5511987654321").name == "Maria"
    for name in ("   ", "x" * 256):
        with pytest.raises(ValidationError, match="1 to 255"):
            LeadCreate(name=name, phone="+5511987654321")
