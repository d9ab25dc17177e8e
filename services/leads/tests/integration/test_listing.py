"""The listing PostgreSQL builds as JSON is, lead for lead, each lead's own JSON, filtered,
searched, sorted and paged as a user expects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from leadflow.db import asyncpg_connection
from leadflow.events import LeadClassified, Temperature
from leads import repository as repo

from services.leads.tests.support import LeadsUnderTest

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
async def test_a_page_built_by_postgresql_is_each_matching_lead_as_the_api_shows_it(
    leads: LeadsUnderTest, search: dict[str, Any]
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")
    ana = {"id": "ana-1", "role": "consultant"}
    ids = []
    for i, (name, actor) in enumerate(
        [("Maria Silva", ADMIN), ("João", ana), ("maria b", ana), ("Zé", ADMIN), ("Lu", ADMIN)]
    ):
        created = await leads.handlers.create_lead(
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
        ids.append(created["lead"]["id"])
    await leads.handlers.on_lead_classified(
        LeadClassified(
            lead_id=ids[3],
            temperature=Temperature.HOT,
            ai_score=80,
            ai_reasons=["hot (+80)"],
            classified_by="rules",
        )
    )

    every_lead = []
    for lead_id in ids:  # each as GET /api/leads/{id} shows it
        shown = await leads.handlers.get_lead({"actor": ADMIN, "id": lead_id})
        every_lead.append({k: v for k, v in shown.items() if k != "interactions"})
    async with asyncpg_connection(leads.handlers.autocommit) as connection:
        page_json, total = await repo.search_leads_json(connection, **search)

    matching = [lead for lead in every_lead if matches(lead, search["filters"], search["q"])]
    matching.sort(key=lambda lead: lead["id"])
    matching.sort(
        key=lambda lead: datetime.fromisoformat(lead["created_at"]),
        reverse=search["newest_first"],
    )
    first = (search["page"] - 1) * search["page_size"]
    expected = matching[first : first + search["page_size"]]
    assert expected, "the search should find something"
    assert total == len(matching)
    assert same_instants(orjson.loads(page_json)) == same_instants(expected)


def matches(lead: dict[str, Any], filters: dict[str, Any], q: str | None) -> bool:
    """The search's rule, as a user reads it: every filter equal, `q` anywhere in the
    name, phone or e-mail, whatever the case."""
    if any(lead[name] != value for name, value in filters.items()):
        return False
    searched = [lead["name"].lower(), lead["phone"], (lead["email"] or "").lower()]
    return not q or any(q.lower() in text for text in searched)
