"""The leads Lívia brings: wa-livia asks for the lead of a new phone, tells when it is
qualified, and when a person took her place or she was resumed. The conversation itself
is wa-livia's; here only the lead and its timeline change."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from leadflow.contracts import LeadCreate
from leadflow.db import asyncpg_connection, asyncpg_transaction
from leadflow.events import (
    LeadSource,
    LeadStatus,
    LiviaLeadQualified,
    LiviaPaused,
    LiviaResumed,
    utcnow,
)
from leadflow.rpc import Invalid

from leads import repository as repo
from leads.domain import new_id, new_lead
from leads.handlers import LeadsHandlers, change_of, write_update


def whatsapp_lead_name(push_name: str | None, phone: str) -> str:
    """A lead from WhatsApp is named as the contact named themselves, else by phone."""
    return (push_name or phone).strip()[:255] or phone


def qualified_name(current: str, collected: dict[str, Any]) -> str:
    """The full name Lívia collected replaces the WhatsApp name."""
    full_name = str(collected.get("full_name") or "").strip()
    return full_name[:255] or current


@dataclass
class LiviaLeadHandlers:
    leads: LeadsHandlers

    async def lead_for_whatsapp(self, params: dict[str, Any]) -> dict[str, Any]:
        """The lead of a phone that wrote to Lívia, created (QUALIFYING) if it is new."""
        phone = str(params.get("phone") or "")
        if not phone.startswith("+") or not phone[1:].isdigit():
            raise Invalid("phone must be +E.164")
        data = LeadCreate(
            name=whatsapp_lead_name(params.get("push_name"), phone),
            phone=phone,
            source=LeadSource.WHATSAPP,
        )
        new = new_lead(None, None, data, new_id(), utcnow())
        new = replace(new, audit={"source": "whatsapp", "by": "livia"})
        lead, _ = await self.leads.create_or_find(new, None, None)
        return {
            "id": lead.id,
            "name": lead.name,
            "consultant_id": lead.consultant_id,
            "consultant_name": lead.consultant_name,
        }

    async def on_lead_qualified(self, event: LiviaLeadQualified) -> None:
        """Lívia is done: the lead becomes QUALIFIED, to be classified and assigned."""
        async with asyncpg_transaction(self.leads.autocommit) as connection:
            found = await repo.find_lead(connection, key=event.lead_id, event_id=event.event_id)
            if found is None:  # handled before, or no such lead
                return
            lead = found.lead
            qualified = {
                "status": LeadStatus.QUALIFIED.value,
                "name": qualified_name(lead.name, event.collected),
                "metadata": {**(lead.metadata or {}), "collected": event.collected},
            }
            change = change_of(lead, qualified, "qualified")
            if change is None:
                return
            await write_update(connection, lead, change)
        self.leads.relay.wake()

    async def on_livia_paused(self, event: LiviaPaused) -> None:
        """A person took over Lívia's conversation: the lead's timeline says so."""
        await self._on_timeline(event, "livia_paused", {"by": "human reply"})

    async def on_livia_resumed(self, event: LiviaResumed) -> None:
        await self._on_timeline(event, "livia_resumed", {})

    async def _on_timeline(
        self, event: LiviaPaused | LiviaResumed, kind: str, changes: dict[str, Any]
    ) -> None:
        """An entry on the lead's timeline, not a change of the lead: its version stays."""
        async with asyncpg_connection(self.leads.autocommit) as connection:
            await repo.audit_once(
                connection,
                event_id=event.event_id,
                lead_id=event.lead_id,
                kind=kind,
                actor_id=event.actor_id if isinstance(event, LiviaResumed) else None,
                changes=changes,
            )
