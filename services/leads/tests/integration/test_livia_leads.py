"""The leads Lívia brings, on real PostgreSQL: found or created by phone, then qualified."""

from __future__ import annotations

from typing import Any

import pytest
from leadflow.bus import Delivery
from leadflow.events import LiviaLeadQualified, LiviaPaused, LiviaResumed
from leadflow.rpc import Invalid

from services.leads.tests.support import LeadsUnderTest

PHONE = "+5511955554444"
ADMIN = {"id": "admin-1", "role": "admin"}


def of(published: list[Delivery], name: str) -> list[Any]:
    return [d.event() for d in published if d.routing_key == name]


async def test_a_new_phone_becomes_one_qualifying_whatsapp_lead(leads: LeadsUnderTest) -> None:
    first = await leads.livia_leads.lead_for_whatsapp({"phone": PHONE, "push_name": "Marina"})
    again = await leads.livia_leads.lead_for_whatsapp({"phone": PHONE, "push_name": "M."})
    assert again == first and first["name"] == "Marina" and first["consultant_id"] is None
    [created] = of(await leads.flush_outbox(), "lead.created")
    assert (created.lead.id, created.lead.phone, created.lead.source, created.lead.status) == (
        first["id"],
        PHONE,
        "whatsapp",
        "QUALIFYING",
    )


async def test_a_known_phone_keeps_its_lead_and_consultant(leads: LeadsUnderTest) -> None:
    await leads.add_consultant("carla-1", "Carla Souza", "carla@example.com")
    created = await leads.handlers.create_lead(
        {
            "actor": {"id": "carla-1", "role": "consultant"},
            "data": {"name": "Marina Lopes", "phone": PHONE, "source": "manual"},
        }
    )
    lead = await leads.livia_leads.lead_for_whatsapp({"phone": PHONE, "push_name": "Mari"})
    assert lead == {
        "id": created["lead"]["id"],
        "name": "Marina Lopes",
        "consultant_id": "carla-1",
        "consultant_name": "Carla Souza",
    }


async def test_a_phone_that_is_not_e164_is_refused(leads: LeadsUnderTest) -> None:
    with pytest.raises(Invalid):
        await leads.livia_leads.lead_for_whatsapp({"phone": "11 5555", "push_name": None})


async def test_a_lead_livia_qualified_is_qualified_once_with_what_she_collected(
    leads: LeadsUnderTest,
) -> None:
    lead = await leads.livia_leads.lead_for_whatsapp({"phone": PHONE, "push_name": "Marina"})
    qualified = LiviaLeadQualified(
        lead_id=lead["id"],
        conversation_id="conv-1",
        collected={"full_name": "Marina Lopes", "asset_type": "property"},
    )
    await leads.livia_leads.on_lead_qualified(qualified)
    await leads.livia_leads.on_lead_qualified(qualified)  # redelivered
    [update] = of(await leads.flush_outbox(), "lead.updated")
    assert (update.lead.status, update.lead.name, update.lead.version) == (
        "QUALIFIED",
        "Marina Lopes",
        2,
    )
    assert update.lead.metadata["collected"]["asset_type"] == "property"


async def test_pausing_and_resuming_livia_show_on_the_leads_timeline_once_each(
    leads: LeadsUnderTest,
) -> None:
    lead = await leads.livia_leads.lead_for_whatsapp({"phone": PHONE, "push_name": "Marina"})
    paused = LiviaPaused(lead_id=lead["id"], conversation_id="conv-1")
    await leads.livia_leads.on_livia_paused(paused)
    await leads.livia_leads.on_livia_paused(paused)  # redelivered
    await leads.livia_leads.on_livia_resumed(
        LiviaResumed(lead_id=lead["id"], conversation_id="conv-1", actor_id="manager-1")
    )
    shown = await leads.handlers.get_lead({"actor": ADMIN, "id": lead["id"]})
    timeline = sorted((i["kind"], i["actor_id"]) for i in shown["interactions"])
    assert timeline == [("created", None), ("livia_paused", None), ("livia_resumed", "manager-1")]
    assert shown["version"] == 1  # the lead itself did not change
