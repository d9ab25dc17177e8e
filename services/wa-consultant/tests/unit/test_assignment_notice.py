from typing import Any

from leadflow.events import LeadAssigned, LeadSource, LeadStatus, LeadView, Temperature
from leadflow.testing.factories import a_lead
from wa_consultant.domain import assignment_notice, assignment_notice_command


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


def test_a_redelivered_assignment_yields_the_same_notice_and_one_without_a_phone_none() -> None:
    assigned = LeadAssigned(lead=lead(), rule="round_robin", consultant_phone="+5511988887777")
    notice = assignment_notice_command(assigned)
    redelivered = assignment_notice_command(
        LeadAssigned.model_validate_json(assigned.model_dump_json())
    )
    assert notice is not None and notice == redelivered
    assert (notice.chat_jid, notice.notice, notice.lead_id) == (
        "5511988887777@s.whatsapp.net",
        True,
        assigned.lead.id,
    )
    assert notice.text == assignment_notice(assigned.lead)
    other = LeadAssigned(lead=lead(), rule="round_robin", consultant_phone="+5511988887777")
    assert assignment_notice_command(other).message_id != notice.message_id  # type: ignore[union-attr]
    assert assignment_notice_command(assigned.model_copy(update={"consultant_phone": None})) is None
