"""The dashboard's figures about leads, on real PostgreSQL: everyone's for an admin, their
own for a consultant."""

from __future__ import annotations

from services.leads.tests.support import LeadsUnderTest

ADMIN = {"id": "admin-1", "role": "admin"}
ANA = {"id": "ana-1", "role": "consultant"}


async def test_the_dashboard_counts_the_funnel_and_first_contact_in_each_scope(
    leads: LeadsUnderTest,
) -> None:
    await leads.add_consultant("ana-1", "Ana", "ana@example.com")
    created = [
        await leads.handlers.create_lead(
            {"actor": actor, "data": {"name": name, "phone": f"+551191234000{i}"}}
        )
        for i, (name, actor) in enumerate([("Lu", ANA), ("Zé", ANA), ("Bo", ADMIN)])
    ]
    contacted = {"status": "CONTACTED", "version": 1}
    await leads.handlers.update_lead(
        {"actor": ANA, "id": created[0]["lead"]["id"], "data": contacted}
    )

    everyone = await leads.handlers.dashboard({"actor": ADMIN})
    assert (everyone["scope"], everyone["total"], everyone["unassigned"]) == ("all", 3, 1)
    assert (everyone["by_status"]["NEW"], everyone["by_status"]["CONTACTED"]) == (2, 1)
    assert everyone["by_temperature"]["unclassified"] == 3
    assert (everyone["first_contact"]["contacted"], everyone["first_contact"]["waiting"]) == (1, 2)

    own = await leads.handlers.dashboard({"actor": ANA})
    assert (own["scope"], own["total"], own["unassigned"]) == ("own", 2, 0)
    assert own["first_contact"]["waiting"] == 1
    later = await leads.handlers.dashboard({"actor": ADMIN, "since": "2999-01-01T00:00:00Z"})
    assert later["total"] == 0 and later["first_contact"]["average_seconds"] is None
