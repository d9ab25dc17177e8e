"""The rule-based classifier scores what a sales manager would."""

from typing import Any

import pytest
from ai.rules import classify_by_rules, price_installment
from leadflow.events import LeadSource, LeadView, Temperature
from leadflow.testing.factories import a_lead


def lead(
    source: LeadSource = LeadSource.WEBSITE, email: str | None = None, **metadata: Any
) -> LeadView:
    return a_lead(name="Ana", email=email, source=source, metadata=metadata)


def test_price_installment_matches_the_known_table_value() -> None:
    # 100,000 over 12 months at 1% a month: 8,884.88 (standard Price table)
    assert price_installment(100_000, 0.01, 12) == pytest.approx(8884.88, abs=0.01)


def test_an_affordable_urgent_well_documented_lead_is_hot() -> None:
    result = classify_by_rules(
        lead(
            email="a@b.com",
            asset_value=300_000,
            down_payment=120_000,
            monthly_income=25_000,
            term_months=360,
            city="Campinas",
            urgency="agora",
        )
    )
    assert result.temperature is Temperature.HOT and result.score >= 70
    assert any(r.startswith("capacidade de pagamento") for r in result.reasons)


def test_a_lead_with_nothing_but_a_phone_is_cold() -> None:
    result = classify_by_rules(lead(source=LeadSource.MANUAL))
    assert result.temperature is Temperature.COLD
    assert result.reasons == ["origem: cadastro manual (+5)", "dados: 1 de 8 informados (+3)"]


def test_an_unaffordable_installment_earns_no_affordability_points() -> None:
    result = classify_by_rules(lead(asset_value=1_000_000, down_payment=0, monthly_income=3_000))
    assert (
        "capacidade de pagamento: a primeira parcela de R$ 12.677,78 compromete 423% da renda (+0)"
    ) in result.reasons


def test_the_score_is_the_sum_of_its_reasons() -> None:
    result = classify_by_rules(
        lead(
            email="a@b.com",
            asset_value=200_000,
            down_payment=40_000,
            monthly_income=9_000,
            urgency="em 3 meses",
        )
    )
    assert result.score == sum(int(r.rsplit("(+", 1)[1].rstrip(")")) for r in result.reasons)


@pytest.mark.parametrize(
    "metadata",
    [
        {"collected": "x"},
        {"collected": ["asset_value", 1]},
        {"asset_value": 300_000, "monthly_income": 9_000, "term_months": 0.5},
        {"asset_value": 300_000, "monthly_income": 9_000, "term_months": 10**18},
        {"asset_value": "1e999", "monthly_income": "inf"},
    ],
)
def test_whatever_a_form_put_in_metadata_the_lead_is_still_classified(
    metadata: dict[str, Any],
) -> None:
    result = classify_by_rules(lead(**metadata))
    assert result.temperature in Temperature and 0 <= result.score <= 100


def test_collected_data_that_is_an_object_still_counts() -> None:
    facts = {"asset_value": 300_000, "down_payment": 120_000, "monthly_income": 25_000}
    nested, flat = classify_by_rules(lead(collected=facts)), classify_by_rules(lead(**facts))
    assert nested.score == flat.score > classify_by_rules(lead()).score
