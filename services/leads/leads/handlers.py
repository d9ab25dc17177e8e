"""Use cases of the leads service: each finds the lead, applies the rules, and writes the
change with its audit entry and events in one statement (the outbox: nothing lost between
commit and publish).

RPC methods answer the gateway; event handlers apply the pipeline's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from leadflow.contracts import Actor, DashboardQuery, LeadCreate, LeadPatch
from leadflow.db import OutboxRelay, asyncpg_connection, asyncpg_transaction
from leadflow.events import (
    UNWORKED_STATUSES,
    AssignmentDecided,
    Event,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadClassified,
    LeadCreated,
    LeadScored,
    LeadStatus,
    LeadUpdated,
    LeadView,
    Role,
    utcnow,
)
from leadflow.rpc import Conflict, Forbidden, Invalid, NotFound, parse
from sqlalchemy.ext.asyncio import AsyncEngine

from leads import repository as repo
from leads.domain import (
    LeadChange,
    NewLead,
    change_lead,
    dashboard_figures,
    may_see,
    new_id,
    new_lead,
)


def view_of(lead: repo.LeadRow) -> LeadView:
    return LeadView.model_validate(repo.lead_json(lead))


@dataclass
class LeadsHandlers:
    relay: OutboxRelay
    # See `one_statement_engine`: every use case here is one statement, or a transaction
    # of two on asyncpg itself.
    autocommit: AsyncEngine

    # --- leads ----------------------------------------------------------------------

    async def create_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """`{"lead": ..., "created": bool}`; a known phone returns the existing lead."""
        actor = parse(Actor, params["actor"]) if params.get("actor") else None
        data = parse(LeadCreate, params["data"])
        actor_id = actor.id if actor else None
        key = params.get("idempotency_key")
        scoped_key = f"{actor_id or 'anonymous'}:{key}" if key else None
        new = new_lead(actor_id, actor.role if actor else None, data, new_id(), utcnow())
        lead, created = await self.create_or_find(new, actor_id, scoped_key)
        if actor is not None and not may_see(actor.role, actor.id, lead.consultant_id):
            raise Conflict("a lead with this phone already exists")
        return {"lead": repo.lead_json(lead), "created": created}

    async def create_or_find(
        self, new: NewLead, actor_id: str | None, idempotency_key: str | None
    ) -> tuple[repo.LeadRow, bool]:
        """The lead created (True), or the one a known phone or key already has: a key
        counts as created, as its first request was."""
        async with asyncpg_connection(self.autocommit) as connection:
            creator = None
            if new.values["consultant_id"]:
                creator = await repo.consultant_name_and_email(
                    connection, consultant_id=new.values["consultant_id"]
                )
            lead = repo.LeadRow.of(new.values, *(creator or (None, None)))
            for _ in range(3):
                if idempotency_key and (
                    found := await repo.find_lead(
                        connection, by="idempotency_key", key=idempotency_key
                    )
                ):
                    return found.lead, True
                try:
                    if await repo.create_lead(
                        connection,
                        values=new.values,
                        actor_id=actor_id,
                        audit=new.audit,
                        idempotency_key=idempotency_key,
                        event=LeadCreated(lead=view_of(lead)),
                    ):
                        self.relay.wake()
                        return lead, True
                except asyncpg.UniqueViolationError:
                    continue  # a concurrent request with the same key won: look again
                if found := await repo.find_lead(connection, by="phone", key=lead.phone):
                    return found.lead, False
        raise Conflict("the lead is being created concurrently; retry")

    async def get_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params["actor"])
        async with asyncpg_connection(self.autocommit) as connection:
            found = await repo.find_lead(connection, key=str(params["id"]))
            if found is None or not may_see(actor.role, actor.id, found.lead.consultant_id):
                raise NotFound("lead not found")
            interactions = await repo.recent_interactions(connection, lead_id=found.lead.id)
        return {**repo.lead_json(found.lead), "interactions": interactions}

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
        async with asyncpg_connection(self.autocommit) as connection:
            page_json, total = await repo.search_leads_json(
                connection,
                filters=filters,
                q=query.get("q"),
                page=page,
                page_size=page_size,
                newest_first=query.get("sort", "-created_at") == "-created_at",
            )
        data = orjson.Fragment(page_json)  # PostgreSQL's JSON, passed on as it is
        return {"data": data, "page": page, "page_size": page_size, "total": total}

    async def update_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """PATCH: optimistic concurrency on `version`; every change audited."""
        actor = parse(Actor, params["actor"])
        patch = parse(LeadPatch, params["data"])
        async with asyncpg_transaction(self.autocommit) as connection:
            found = await repo.find_lead(connection, key=str(params["id"]), lock=True)
            if found is None or not may_see(actor.role, actor.id, found.lead.consultant_id):
                raise NotFound("lead not found")
            lead = found.lead
            if patch.version != lead.version:
                raise Conflict("the lead changed since you read it", details=repo.lead_json(lead))
            change = change_of(lead, patch.changes(), "updated", actor.id)
            if change is None:
                return repo.lead_json(lead)
            view = await write_update(connection, lead, change)
        self.relay.wake()
        return view.model_dump(mode="json")

    async def assign_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """A manager's manual (re)assignment; honoured and recorded like any other."""
        actor = parse(Actor, params["actor"])
        if actor.role is Role.CONSULTANT:
            raise Forbidden("only admins and managers assign leads")
        async with asyncpg_transaction(self.autocommit) as connection:
            found = await repo.find_lead(
                connection,
                key=str(params["id"]),
                consultant_id=str(params.get("consultant_id") or ""),
                lock=True,
            )
            if found is None:
                raise NotFound("lead not found")
            if found.chosen is None:
                raise Invalid("consultant_id: no such consultant")
            if not found.chosen.active:
                raise Invalid("consultant_id: the consultant is inactive")
            if found.lead.consultant_id == found.chosen.id:
                return repo.lead_json(found.lead)
            view = await self._reassign(connection, found, actor.id, "manual", {})
        self.relay.wake()
        return view.model_dump(mode="json")

    async def _reassign(
        self,
        connection: asyncpg.Connection,
        found: repo.FoundLead,
        actor_id: str | None,
        rule: str,
        note: dict[str, Any],
    ) -> LeadView:
        """Give the lead to `found.chosen` (another consultant, the callers checked) and
        record it; lead.assigned carries their phone for wa-consultant's notice."""
        before, chosen = found.lead, found.chosen
        assert chosen is not None
        change = change_of(
            before, {"consultant_id": chosen.id}, "assigned", actor_id, {"rule": rule, **note}
        )
        assert change is not None
        view = view_of(
            before.changed(change, consultant_name=chosen.name, consultant_email=chosen.email)
        )
        assigned = LeadAssigned(
            lead=view,
            previous_consultant_id=before.consultant_id,
            rule=rule,
            consultant_phone=chosen.phone,
        )
        await repo.write_change(connection, lead_id=before.id, change=change, events=[assigned])
        return view

    async def dashboard(self, params: dict[str, Any]) -> dict[str, Any]:
        """The dashboard's figures about leads: every lead's for admins and managers, a
        consultant's own for them. (Per consultant: assignment's; Lívia's: wa-livia's.)"""
        query = parse(DashboardQuery, params)
        scope = {"consultant_id": query.only_consultant}
        async with asyncpg_connection(self.autocommit) as connection:
            counts = await repo.lead_counts(connection, **scope, since=query.since)
            durations = await repo.first_contact_seconds(connection, **scope, since=query.since)
        own = scope["consultant_id"] is not None
        return dashboard_figures(counts, durations, own=own, since=query.since)

    # --- pipeline events ------------------------------------------------------------

    async def on_lead_classified(self, event: LeadClassified) -> None:
        # Find-and-lock, then the change with its audit and events: one transaction of two
        # statements (through the ORM it took eight round trips).
        async with asyncpg_transaction(self.autocommit) as connection:
            found = await repo.find_lead(connection, key=event.lead_id, event_id=event.event_id)
            if found is None:  # handled before, or no such lead
                return
            lead = found.lead
            classified = {
                "temperature": event.temperature.value,
                "ai_score": event.ai_score,
                "ai_reasons": list(event.ai_reasons),
            }
            change = change_of(lead, classified, "classified", note={"by": event.classified_by})
            if change is None:
                events = classification_events(event, view_of(lead), change)
                await repo.stage(connection, events=events)
            else:
                events = classification_events(event, view_of(lead.changed(change)), change)
                await repo.write_change(
                    connection,
                    lead_id=lead.id,
                    change=change,
                    events=events,
                    unaudited={"classified_by": event.classified_by},
                )
        self.relay.wake()

    async def on_assignment_decided(self, event: AssignmentDecided) -> None:
        """Find-and-lock, then the move: two statements in one transaction, on every
        lead's path."""
        if event.consultant_id is None:  # no one was eligible: nothing to apply
            return
        async with asyncpg_transaction(self.autocommit) as connection:
            found = await repo.find_lead(
                connection,
                key=event.lead_id,
                consultant_id=event.consultant_id,
                event_id=event.event_id,
            )
            if (
                found is None  # handled before, or no such lead
                or found.chosen is None
                or not decision_applies(
                    found.lead.consultant_id, found.lead.status, found.chosen.id, event.reassigns
                )
            ):
                return
            note = {"eligible": event.eligible_ids}
            await self._reassign(connection, found, None, event.rule, note)
        self.relay.wake()


def change_of(
    lead: repo.LeadRow,
    after: dict[str, Any],
    kind: str,
    actor_id: str | None = None,
    note: dict[str, Any] | None = None,
) -> LeadChange | None:
    """`after` (field values) as a change of `lead` now; None if no field differs."""
    before = {name: getattr(lead, name) for name in after}
    return change_lead(
        before, after, version=lead.version, now=utcnow(), kind=kind, actor_id=actor_id, note=note
    )


async def write_update(
    connection: asyncpg.Connection, lead: repo.LeadRow, change: LeadChange
) -> LeadView:
    """Write `change` to `lead` with its audit entry and lead.updated; the lead after."""
    view = view_of(lead.changed(change))
    await repo.write_change(
        connection,
        lead_id=lead.id,
        change=change,
        events=[LeadUpdated(lead=view, changed=change.changed)],
    )
    return view


def decision_applies(current: str | None, status: str, chosen: str, reassigns: str | None) -> bool:
    """Whether a decision moves the lead: not if it already has the chosen consultant,
    nor, for an SLA reassignment, if it was worked or moved since the sweep looked."""
    if current == chosen:
        return False
    return reassigns is None or (current == reassigns and status in UNWORKED_STATUSES)


def classification_events(
    event: LeadClassified, lead: LeadView, change: LeadChange | None
) -> list[Event]:
    """The lead was scored (if that changed it); and unless someone has it or Lívia is
    still qualifying it, the assigner is asked for a consultant."""
    events: list[Event] = [LeadScored(lead=lead, changed=change.changed)] if change else []
    if lead.consultant_id is None and lead.status is not LeadStatus.QUALIFYING:
        events.append(
            LeadAssignmentRequested(
                lead_id=lead.id, temperature=event.temperature, lead_created_at=lead.created_at
            )
        )
    return events
