"""The one lead JSON (`lead_json`) is exactly what the LeadView model would produce."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest
from leadflow.events import ConsultantRef, LeadView
from leads.repository import LeadRow, lead_json

CREATED = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)


def row(**overrides: Any) -> LeadRow:
    base: dict[str, Any] = {
        "id": "l1",
        "name": "Ana",
        "phone": "+5511987654321",
        "email": None,
        "source": "website",
        "status": "NEW",
        "temperature": "HOT",
        "ai_score": 80,
        "ai_reasons": ["x (+80)"],
        "consultant_id": "c1",
        "consultant_name": "Carla",
        "consultant_email": "carla@example.com",
        "notes": None,
        "metadata": {"k": [1, 2]},
        "version": 3,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return LeadRow(**(base | overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"consultant_id": None, "consultant_name": None, "consultant_email": None},
        {"temperature": None, "ai_score": None, "ai_reasons": []},
    ],
)
def test_a_listed_lead_matches_the_lead_model_field_for_field(overrides: dict[str, Any]) -> None:
    r = row(**overrides)
    columns = {k: v for k, v in asdict(r).items() if not k.startswith("consultant_")}
    consultant = (
        ConsultantRef(id=r.consultant_id, name=r.consultant_name, email=r.consultant_email)
        if r.consultant_id
        else None
    )
    model = LeadView(**columns, consultant_id=r.consultant_id, consultant=consultant)
    assert lead_json(r) == model.model_dump(mode="json")
