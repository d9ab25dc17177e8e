from typing import Any

from leadflow.events import LeadSource, LeadStatus, LeadView, Temperature
from leadflow.testing.factories import a_lead
from leads.domain import assignment_notice


def lead(**fields: Any) -> LeadView:
    """A lead Lívia qualified, for the notice its consultant gets."""
    base = {"name": "Marina Lopes", "source": LeadSource.WHATSAPP, "status": LeadStatus.QUALIFIED}
    return a_lead(**(base | fields))


def test_the_notice_names_the_lead_its_phone_temperature_and_what_they_want() -> None:
    text = assignment_notice(
        lead(
            temperature=Temperature.HOT,
            metadata={
                "collected": {
                    "asset_type": "property",
                    "asset_value": 450000,
                    "down_payment": 90000,
                    "monthly_income": 15000,
                    "city": "Campinas",
                }
            },
        )
    )
    assert text == (
        "Novo lead para você: Marina Lopes (+5511987654321) — HOT. "
        "imóvel de R$ 450.000, entrada R$ 90.000, renda R$ 15.000, Campinas"
    )


def test_without_data_the_notice_falls_back_to_the_first_reason_or_nothing() -> None:
    assert assignment_notice(lead(ai_reasons=["source: whatsapp (+15)"])).endswith(
        "— sem classificação. source: whatsapp (+15)"
    )
    assert assignment_notice(lead()) == (
        "Novo lead para você: Marina Lopes (+5511987654321) — sem classificação"
    )


def test_a_notice_is_written_whatever_the_metadata_holds() -> None:
    for metadata in ({"collected": "x"}, {"collected": [1]}, {"asset_value": 10**400}):
        notice = assignment_notice(lead(metadata=metadata))
        assert notice.startswith("Novo lead para você: Marina Lopes")
