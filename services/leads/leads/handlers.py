"""Use cases of the leads service: each opens a unit of work, applies the rules, commits.

RPC methods answer the gateway; event handlers apply the pipeline's decisions. Every
change writes its events to the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from leadflow.contracts import LeadCreate, LeadPatch
from leadflow.db import OutboxRelay, asyncpg_connection, asyncpg_transaction
from leadflow.events import (
    UNWORKED_STATUSES,
    AssignmentDecided,
    Event,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadClassified,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    LeadView,
    Role,
    SendConsultantMessage,
    utcnow,
)
from leadflow.rpc import Conflict, Forbidden, Invalid, NotFound, parse
from leadflow.whatsapp import phone_jid
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import (
    LeadChange,
    assignment_notice,
    change_lead,
    lead_fields,
    may_see,
    new_id,
    new_lead,
)
from leads.models import IdempotencyRecord, Lead
from leads.unit_of_work import Actor, commit_with_events


@dataclass
class LeadsHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    # See `one_statement_engine`: creating a lead and listing leads are one statement
    # each, and a classification two in one transaction.
    autocommit: AsyncEngine

    async def _commit(self, session: AsyncSession, *events: Event) -> None:
        await commit_with_events(session, self.relay, *events)

    # --- leads ----------------------------------------------------------------------

    async def create_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """`{"lead": ..., "created": bool}`; a known phone returns the existing lead."""
        actor = parse(Actor, params["actor"]) if params.get("actor") else None
        data = parse(LeadCreate, params["data"])
        key = params.get("idempotency_key")
        scoped_key = f"{actor.id if actor else 'anonymous'}:{key}" if key else None
        for _ in range(3):
            try:
                return await self._create_lead_once(actor, data, scoped_key)
            except IntegrityError:
                continue  # a concurrent request with the same phone or key won; look again
        raise Conflict("the lead is being created concurrently; retry")

    async def _create_lead_once(
        self, actor: Actor | None, data: LeadCreate, scoped_key: str | None
    ) -> dict[str, Any]:
        if scoped_key is None:
            created = await self._create_in_one_statement(actor, data)
            if created is not None:
                return created
            # The phone is known: the transactional path finds the lead and decides
            # whether this caller may see it.
        async with self.sessions() as session:
            if scoped_key and (record := await session.get(IdempotencyRecord, scoped_key)):
                lead = await repo.get_lead_or_raise(session, lead_id=record.lead_id)
                return await self._visible_result(session, actor, lead, created=True)
            existing = await repo.get_lead_by_phone(session, phone=data.phone)
            if existing is not None:
                return await self._visible_result(session, actor, existing, created=False)
            new = new_lead(
                actor.id if actor else None, actor.role if actor else None, data, new_id(), utcnow()
            )
            # Core statements, not ORM objects: creation is the hottest write path, and
            # building and flushing SQLModel instances was most of its CPU (measured).
            row = await repo.insert_lead(session, values=new.values)
            if row is None:  # the same phone won a race with us
                raise IntegrityError("leads.phone", None, ValueError("duplicate phone"))
            await repo.insert_interaction(
                session,
                lead_id=row["id"],
                actor_id=actor.id if actor else None,
                kind="created",
                changes=new.audit,
            )
            if scoped_key:
                await repo.insert_idempotency_key(session, key=scoped_key, lead_id=row["id"])
            lead_json = await repo.created_lead_json(session, row)
            await self._commit(session, LeadCreated(lead=LeadView.model_validate(lead_json)))
        return {"lead": lead_json, "created": True}

    async def _create_in_one_statement(
        self, actor: Actor | None, data: LeadCreate
    ) -> dict[str, Any] | None:
        """The result, or None if a lead with this phone exists (nothing is written)."""
        new = new_lead(
            actor.id if actor else None, actor.role if actor else None, data, new_id(), utcnow()
        )
        async with asyncpg_connection(self.autocommit) as connection:
            creator = None
            if new.values["consultant_id"]:
                creator = await repo.consultant_name_and_email(
                    connection, consultant_id=new.values["consultant_id"]
                )
            lead_json = repo.lead_json(repo.LeadRow.of(new.values, *(creator or (None, None))))
            event = LeadCreated(lead=LeadView.model_validate(lead_json))
            if not await repo.create_lead_in_one_statement(
                connection,
                values=new.values,
                interaction_id=new_id(),
                actor_id=actor.id if actor else None,
                audit=new.audit,
                event=event,
            ):
                return None
        self.relay.wake()
        return {"lead": lead_json, "created": True}

    async def _visible_result(
        self, session: AsyncSession, actor: Actor | None, lead: Lead, *, created: bool
    ) -> dict[str, Any]:
        view = await repo.lead_view(session, lead)
        if actor is not None and not may_see(actor.role, actor.id, view):
            raise Conflict("a lead with this phone already exists")
        return {"lead": view.model_dump(mode="json"), "created": created}

    async def get_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params["actor"])
        async with self.sessions() as session:
            lead = await repo.get_lead_or_raise(session, lead_id=str(params["id"]))
            view = await repo.lead_view(session, lead)
            if not may_see(actor.role, actor.id, view):
                raise NotFound("lead not found")
            interactions = await repo.recent_interactions(session, lead_id=lead.id)
        result = view.model_dump(mode="json")
        result["interactions"] = [
            {
                "id": row.id,
                "kind": row.kind,
                "actor_id": row.actor_id,
                "changes": row.changes,
                "created_at": row.created_at.isoformat(),
            }
            for row in interactions
        ]
        return result

    async def list_leads(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params["actor"])
        query = dict(params.get("query") or {})
        filters = {
            name: query[name]
            for name in ("status", "temperature", "consultant_id", "source")
            if query.get(name) is not None
        }
        if actor.role is Role.CONSULTANT:
            filters["consultant_id"] = actor.id  # whatever the query says
        page, page_size = int(query.get("page", 1)), int(query.get("page_size", 50))
        search = {
            "filters": filters,
            "q": query.get("q"),
            "page": page,
            "page_size": page_size,
            "newest_first": query.get("sort", "-created_at") == "-created_at",
        }
        async with asyncpg_connection(self.autocommit) as connection:
            page_json, total = await repo.search_leads_json(connection, **search)
        data = orjson.Fragment(page_json)  # PostgreSQL's JSON, passed on as it is
        return {"data": data, "page": page, "page_size": page_size, "total": total}

    async def update_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """PATCH: optimistic concurrency on `version`; every change audited."""
        actor = parse(Actor, params["actor"])
        patch = parse(LeadPatch, params["data"])
        async with self.sessions() as session:
            lead = await repo.get_lead_or_raise(session, lead_id=str(params["id"]), for_update=True)
            view = await repo.lead_view(session, lead)
            if not may_see(actor.role, actor.id, view):
                raise NotFound("lead not found")
            if patch.version != lead.version:
                raise Conflict(
                    "the lead changed since you read it", details=view.model_dump(mode="json")
                )
            change = change_lead(
                lead_fields(lead),
                patch.changes(),
                version=lead.version,
                now=utcnow(),
                kind="updated",
                actor_id=actor.id,
            )
            if change is None:
                return view.model_dump(mode="json")
            await repo.apply_change(session, lead, change)
            view = await repo.lead_view(session, lead)
            await self._commit(session, LeadUpdated(lead=view, changed=change.changed))
        return view.model_dump(mode="json")

    async def assign_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """A manager's manual (re)assignment; honoured and recorded like any other."""
        actor = parse(Actor, params["actor"])
        if actor.role is Role.CONSULTANT:
            raise Forbidden("only admins and managers assign leads")
        consultant_id = str(params.get("consultant_id") or "")
        async with self.sessions() as session:
            lead = await repo.get_lead_or_raise(session, lead_id=str(params["id"]), for_update=True)
            consultant = await repo.get_consultant(session, consultant_id=consultant_id)
            if consultant is None:
                raise Invalid("consultant_id: no such consultant")
            if not consultant.active:
                raise Invalid("consultant_id: the consultant is inactive")
            if lead.consultant_id == consultant.id:
                return (await repo.lead_view(session, lead)).model_dump(mode="json")
            previous = lead.consultant_id
            await repo.apply_change(
                session, lead, reassignment(lead, consultant.id, actor.id, {"rule": "manual"})
            )
            view = await repo.lead_view(session, lead)
            await self._commit(
                session,
                LeadAssigned(lead=view, previous_consultant_id=previous, rule="manual"),
                *notify_consultant(consultant.phone, view),
            )
        return view.model_dump(mode="json")

    # --- pipeline events ------------------------------------------------------------

    async def on_lead_classified(self, event: LeadClassified) -> None:
        # Lock, then change with its audit and events: one transaction of two statements
        # (through the ORM it took eight round trips, the service's costliest event).
        async with asyncpg_transaction(self.autocommit) as connection:
            locked = await repo.lock_for_event(
                connection, event_id=event.event_id, lead_id=event.lead_id
            )
            if locked is None:  # handled before, or no such lead
                return
            lead = locked.lead
            change = change_lead(
                {
                    "temperature": lead.temperature,
                    "ai_score": lead.ai_score,
                    "ai_reasons": lead.ai_reasons,
                },
                {
                    "temperature": event.temperature.value,
                    "ai_score": event.ai_score,
                    "ai_reasons": list(event.ai_reasons),
                },
                version=lead.version,
                now=utcnow(),
                kind="classified",
                actor_id=None,
                note={"by": event.classified_by},
            )
            if change is not None:
                lead = lead.changed(change)
            view = LeadView.model_validate(repo.lead_json(lead))
            events = classification_events(event, view, change)
            if change is None:
                await repo.stage(connection, events=events)
            else:
                await repo.write_change(
                    connection,
                    lead_id=lead.id,
                    change=change,
                    events=events,
                    unaudited={"classified_by": event.classified_by},
                )
        self.relay.wake()

    async def on_assignment_decided(self, event: AssignmentDecided) -> None:
        """Lock, then move with its audit and events: two statements in one transaction
        (the ORM took about ten round trips, and this is on every lead's path)."""
        if event.consultant_id is None:  # no one was eligible: nothing to apply
            return
        async with asyncpg_transaction(self.autocommit) as connection:
            locked = await repo.lock_for_event(
                connection,
                event_id=event.event_id,
                lead_id=event.lead_id,
                consultant_id=event.consultant_id,
            )
            if (
                locked is None  # handled before, or no such lead
                or locked.chosen_id is None
                or not decision_applies(
                    locked.lead.consultant_id, locked.lead.status, locked.chosen_id, event.reassigns
                )
            ):
                return
            before = locked.lead
            change = reassignment(
                before, locked.chosen_id, None, {"rule": event.rule, "eligible": event.eligible_ids}
            )
            moved = before.changed(
                change, consultant_name=locked.chosen_name, consultant_email=locked.chosen_email
            )
            view = LeadView.model_validate(repo.lead_json(moved))
            assigned = LeadAssigned(
                lead=view, previous_consultant_id=before.consultant_id, rule=event.rule
            )
            await repo.write_change(
                connection,
                lead_id=moved.id,
                change=change,
                events=[assigned, *notify_consultant(locked.chosen_phone, view)],
            )
        self.relay.wake()


def reassignment(
    lead: Lead | repo.LeadRow, consultant_id: str, actor_id: str | None, note: dict[str, Any]
) -> LeadChange:
    """The change that gives `lead` to another consultant (the callers checked that it
    is another one)."""
    change = change_lead(
        {"consultant_id": lead.consultant_id},
        {"consultant_id": consultant_id},
        version=lead.version,
        now=utcnow(),
        kind="assigned",
        actor_id=actor_id,
        note=note,
    )
    assert change is not None
    return change


def decision_applies(current: str | None, status: str, chosen: str, reassigns: str | None) -> bool:
    """Whether a decision moves the lead: not if it already has the chosen consultant,
    nor, for an SLA reassignment, if it was worked or moved since the sweep looked."""
    if current == chosen:
        return False
    return reassigns is None or (current == reassigns and status in UNWORKED_STATUSES)


def classification_events(
    event: LeadClassified, lead: LeadView, change: LeadChange | None
) -> list[Event]:
    """The lead changed (if it did); and unless someone has it or Lívia is still
    qualifying it, the assigner is asked for a consultant."""
    events: list[Event] = [LeadUpdated(lead=lead, changed=change.changed)] if change else []
    if lead.consultant_id is None and lead.status is not LeadStatus.QUALIFYING:
        events.append(
            LeadAssignmentRequested(
                lead_id=lead.id, temperature=event.temperature, lead_created_at=lead.created_at
            )
        )
    return events


def notify_consultant(phone: str | None, lead: LeadView) -> list[SendConsultantMessage]:
    """A WhatsApp message from the consultant session to the consultant's own phone."""
    if not phone:
        return []
    return [
        SendConsultantMessage(
            message_id=new_id(),
            chat_jid=phone_jid(phone),
            text=assignment_notice(lead),
            lead_id=lead.id,
            sender="system",
            notice=True,
        )
    ]
