"""The leads Lívia brings: wa-livia asks for the lead of a new phone, and tells when it is
qualified. The conversation itself is wa-livia's; here only the lead changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflow.db import OutboxRelay, already_handled
from leadflow.events import (
    LeadCreated,
    LeadSource,
    LeadStatus,
    LeadUpdated,
    LiviaLeadQualified,
    LiviaPaused,
    LiviaResumed,
    utcnow,
)
from leadflow.rpc import Conflict, Invalid
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import change_lead, lead_fields, new_id
from leads.models import OUTBOX, Interaction, Lead
from leads.unit_of_work import commit_with_events


def whatsapp_lead_name(push_name: str | None, phone: str) -> str:
    """A lead from WhatsApp is named as the contact named themselves, else by phone."""
    return (push_name or phone).strip()[:255] or phone


def qualified_name(current: str, collected: dict[str, Any]) -> str:
    """The full name Lívia collected replaces the WhatsApp name."""
    full_name = str(collected.get("full_name") or "").strip()
    return full_name[:255] or current


@dataclass
class LiviaLeadHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay

    async def lead_for_whatsapp(self, params: dict[str, Any]) -> dict[str, Any]:
        """The lead of a phone that wrote to Lívia, created (QUALIFYING) if it is new."""
        phone = str(params.get("phone") or "")
        if not phone.startswith("+") or not phone[1:].isdigit():
            raise Invalid("phone must be +E.164")
        for _ in range(3):
            try:
                return await self._lead_for_whatsapp_once(phone, params.get("push_name"))
            except IntegrityError:
                continue  # the same phone won a race with us: look again
        raise Conflict("the lead is being created concurrently; retry")

    async def _lead_for_whatsapp_once(self, phone: str, push_name: str | None) -> dict[str, Any]:
        async with self.sessions() as session:
            lead = await repo.get_lead_by_phone(session, phone=phone)
            if lead is None:
                lead = Lead(
                    id=new_id(),
                    name=whatsapp_lead_name(push_name, phone),
                    phone=phone,
                    source=LeadSource.WHATSAPP.value,
                    status=LeadStatus.QUALIFYING.value,
                )
                session.add(lead)
                await session.flush()
                session.add(
                    Interaction(
                        id=new_id(),
                        lead_id=lead.id,
                        kind="created",
                        changes={"source": "whatsapp", "by": "livia"},
                    )
                )
                view = await repo.lead_view(session, lead)
                await commit_with_events(session, self.relay, LeadCreated(lead=view))
            else:
                view = await repo.lead_view(session, lead)
        return {
            "id": view.id,
            "name": view.name,
            "consultant_id": view.consultant_id,
            "consultant_name": view.consultant.name if view.consultant else None,
        }

    async def on_livia_paused(self, event: LiviaPaused) -> None:
        """A person took over Lívia's conversation: the lead's timeline says so."""
        await self._audit_once(
            event.event_id, event.lead_id, "livia_paused", None, {"by": "human reply"}
        )

    async def on_livia_resumed(self, event: LiviaResumed) -> None:
        await self._audit_once(event.event_id, event.lead_id, "livia_resumed", event.actor_id, {})

    async def _audit_once(
        self,
        event_id: str,
        lead_id: str,
        kind: str,
        actor_id: str | None,
        changes: dict[str, Any],
    ) -> None:
        """An audit entry on the lead, once per event (not a change of the lead: its
        version stays)."""
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event_id):
                return
            if await repo.get_lead(session, lead_id=lead_id) is not None:
                await repo.insert_interaction(
                    session, lead_id=lead_id, actor_id=actor_id, kind=kind, changes=changes
                )
            await session.commit()

    async def on_lead_qualified(self, event: LiviaLeadQualified) -> None:
        """Lívia is done: the lead becomes QUALIFIED, to be classified and assigned."""
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            lead = await repo.get_lead(session, lead_id=event.lead_id, for_update=True)
            if lead is None:
                await session.commit()
                return
            before = lead_fields(lead)
            change = change_lead(
                before,
                {
                    **before,
                    "status": LeadStatus.QUALIFIED.value,
                    "name": qualified_name(lead.name, event.collected),
                    "metadata": {**before["metadata"], "collected": event.collected},
                },
                version=lead.version,
                now=utcnow(),
                kind="qualified",
                actor_id=None,
            )
            if change is None:
                await session.commit()
                return
            await repo.apply_change(session, lead, change)
            view = await repo.lead_view(session, lead)
            await commit_with_events(
                session, self.relay, LeadUpdated(lead=view, changed=change.changed)
            )
