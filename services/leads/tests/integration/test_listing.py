"""The listing PostgreSQL builds as JSON is, lead for lead, the listing built in Python."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from leadflow.db import asyncpg_connection
from leads import repository as repo
from leads.models import Lead
from leads.testing import LeadsUnderTest

ADMIN = {"id": "admin-1", "role": "admin"}


def same_instants(leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timestamps as instants: both texts are ISO 8601, and may differ in trailing zeros."""
    return [
        {
            **lead,
            "created_at": datetime.fromisoformat(lead["created_at"]),
            "updated_at": datetime.fromisoformat(lead["updated_at"]),
        }
        for lead in leads
    ]


@pytest.mark.parametrize(
    "search",
    [
        {"filters": {}, "q": None, "page": 1, "page_size": 50, "newest_first": True},
        {"filters": {}, "q": None, "page": 2, "page_size": 2, "newest_first": False},
        {"filters": {"consultant_id": "ana-1"}, "q": None, "page": 1, "page_size": 50,
         "newest_first": True},
        {"filters": {"status": "NEW"}, "q": "MARIA", "page": 1, "page_size": 50,
         "newest_first": True},
        {"filters": {"source": "webhook"}, "q": None, "page": 1, "page_size": 50,
         "newest_first": True},
    ],
)  # fmt: skip
async def test_a_page_built_by_postgresql_equals_the_page_built_in_python(
    leads: LeadsUnderTest, search: dict[str, Any]
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")
    ana = {"id": "ana-1", "role": "consultant"}
    for i, (name, actor) in enumerate(
        [("Maria Silva", ADMIN), ("João", ana), ("maria b", ana), ("Zé", ADMIN), ("Lu", ADMIN)]
    ):
        await leads.handlers.create_lead(
            {
                "actor": actor,
                "data": {
                    "name": name,
                    "phone": f"+55119123400{i:02d}",
                    "email": f"p{i}@example.com" if i % 2 else None,
                    "metadata": {"asset_value": 1000 * i, "tags": ["a", "b"]},
                    "source": "webhook" if i == 4 else "manual",
                },
            }
        )
    async with leads.handlers.sessions() as session:
        lead = await session.get(
            Lead, (await repo.get_lead_by_phone(session, phone="+5511912340003")).id
        )  # type: ignore[union-attr]
        assert lead is not None
        lead.ai_reasons, lead.ai_score, lead.temperature = ["hot (+80)"], 80, "HOT"
        session.add(lead)
        await session.commit()

    assert leads.handlers.autocommit is not None
    async with asyncpg_connection(leads.handlers.autocommit) as connection:
        page_json, total_in_sql = await repo.search_leads_json(connection, **search)
    async with leads.handlers.sessions() as session:
        rows, total = await repo.search_leads(session, **search)

    assert rows, "the search should find something"
    assert total_in_sql == total
    assert same_instants(orjson.loads(page_json)) == same_instants(rows)
