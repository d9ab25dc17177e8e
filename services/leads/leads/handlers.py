"""Use cases of the leads service: each opens a unit of work, applies the rules, commits.

RPC methods answer the gateway; event handlers apply the pipeline's decisions. Every
change writes its events to the outbox in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from leadflow.bus import Delivery
from leadflow.db import OutboxRelay, add_to_outbox, already_handled
from leadflow.events import (
    AssignmentDecided,
    ConsultantSaved,
    Event,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadClassified,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    Role,
    utcnow,
)
from leadflow.rpc import Conflict, Forbidden, NotFound, Unauthorized
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import (
    LeadInput,
    changes_between,
    initial_status,
    may_see,
    new_id,
    normalise_phone,
)
from leads.models import OUTBOX, Consultant, IdempotencyRecord, Interaction, Lead


class Actor(BaseModel):
    """Who is calling, as the gateway authenticated them."""

    id: str
    role: Role


class ConsultantInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.CONSULTANT
    phone: str | None = None
    active: bool = True

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise ValueError("is not a valid email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None


@dataclass
class LeadsHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    hasher: PasswordHasher

    async def _commit(self, session: AsyncSession, *events: Event) -> None:
        await add_to_outbox(session, OUTBOX, *events)
        await session.commit()
        if events:
            self.relay.wake()

    # --- consultants and auth -------------------------------------------------------

    async def ensure_admin(self, email: str | None, password: str | None) -> None:
        """First start: create the admin from ADMIN_EMAIL / ADMIN_PASSWORD if none exists."""
        if not email or not password:
            return
        async with self.sessions() as session:
            if await repo.has_admin(session):
                return
        with contextlib.suppress(Conflict):  # another replica created it first
            await self._create_consultant(
                ConsultantInput(
                    name="Administrator", email=email, password=password, role=Role.ADMIN
                )
            )

    async def _create_consultant(self, data: ConsultantInput) -> dict[str, Any]:
        password_hash = await asyncio.to_thread(self.hasher.hash, data.password)
        async with self.sessions() as session:
            if await repo.get_consultant_by_email(session, email=data.email):
                raise Conflict("a consultant with this email already exists")
            row = Consultant(
                id=new_id(),
                name=data.name.strip(),
                email=data.email,
                password_hash=password_hash,
                role=data.role.value,
                phone=data.phone,
                active=data.active,
            )
            session.add(row)
            view = repo.consultant_view(row)
            try:
                await self._commit(session, ConsultantSaved(consultant=view))
            except IntegrityError as exc:
                raise Conflict("a consultant with this email already exists") from exc
        return view.model_dump(mode="json")

    async def create_consultant(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = Actor.model_validate(params["actor"])
        if actor.role is not Role.ADMIN:
            raise Forbidden("only an admin can create consultants")
        return await self._create_consultant(ConsultantInput.model_validate(params["data"]))

    async def list_consultants(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        actor = Actor.model_validate(params["actor"])
        if actor.role is Role.CONSULTANT:
            raise Forbidden("only admins and managers list consultants")
        async with self.sessions() as session:
            rows = await repo.list_consultants(session)
        return [repo.consultant_view(row).model_dump(mode="json") for row in rows]

    async def get_consultant(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await repo.get_consultant_or_raise(session, consultant_id=str(params["id"]))
        return repo.consultant_view(row).model_dump(mode="json")

    async def authenticate(self, params: dict[str, Any]) -> dict[str, Any]:
        """The consultant whose credentials these are; the same error whatever was wrong."""
        email = str(params.get("email", "")).strip().lower()
        password = str(params.get("password", ""))
        async with self.sessions() as session:
            row = await repo.get_consultant_by_email(session, email=email)
        # Verify against a real hash even for unknown emails, so timing tells nothing.
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            await asyncio.to_thread(self.hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            raise Unauthorized("invalid email or password") from None
        if row is None or not row.active:
            raise Unauthorized("invalid email or password")
        return repo.consultant_view(row).model_dump(mode="json")

    # --- leads ----------------------------------------------------------------------

    async def create_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        """`{"lead": ..., "created": bool}`; a known phone returns the existing lead."""
        actor = Actor.model_validate(params["actor"]) if params.get("actor") else None
        data = LeadInput.model_validate(params["data"])
        key = params.get("idempotency_key")
        scoped_key = f"{actor.id if actor else 'anonymous'}:{key}" if key else None
        for _ in range(3):
            try:
                return await self._create_lead_once(actor, data, scoped_key)
            except IntegrityError:
                continue  # a concurrent request with the same phone or key won; look again
        raise Conflict("the lead is being created concurrently; retry")

    async def _create_lead_once(
        self, actor: Actor | None, data: LeadInput, scoped_key: str | None
    ) -> dict[str, Any]:
        async with self.sessions() as session:
            if scoped_key and (record := await session.get(IdempotencyRecord, scoped_key)):
                lead = await repo.get_lead_or_raise(session, lead_id=record.lead_id)
                return await self._visible_result(session, actor, lead, created=True)
            existing = await repo.get_lead_by_phone(session, phone=data.phone)
            if existing is not None:
                return await self._visible_result(session, actor, existing, created=False)
            creator_is_consultant = actor is not None and actor.role is Role.CONSULTANT
            lead = Lead(
                id=new_id(),
                name=data.name,
                phone=data.phone,
                email=data.email,
                source=data.source.value,
                status=initial_status(data.source).value,
                notes=data.notes,
                extra=data.metadata,
                consultant_id=actor.id if creator_is_consultant and actor else None,
                created_by=actor.id if actor else None,
            )
            session.add(lead)
            await session.flush()  # the lead row first: interactions reference it
            session.add(
                Interaction(
                    id=new_id(),
                    lead_id=lead.id,
                    actor_id=actor.id if actor else None,
                    kind="created",
                    changes={
                        "source": data.source.value,
                        "assigned_to_creator": creator_is_consultant,
                    },
                )
            )
            if scoped_key:
                session.add(IdempotencyRecord(key=scoped_key, lead_id=lead.id))
            await session.flush()
            view = await repo.lead_view(session, lead)
            await self._commit(session, LeadCreated(lead=view))
        return {"lead": view.model_dump(mode="json"), "created": True}

    async def _visible_result(
        self, session: AsyncSession, actor: Actor | None, lead: Lead, *, created: bool
    ) -> dict[str, Any]:
        view = await repo.lead_view(session, lead)
        if actor is not None and not may_see(actor.role, actor.id, view):
            raise Conflict("a lead with this phone already exists")
        return {"lead": view.model_dump(mode="json"), "created": created}

    async def get_lead(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = Actor.model_validate(params["actor"])
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
        actor = Actor.model_validate(params["actor"])
        query = dict(params.get("query") or {})
        filters = {
            name: query[name]
            for name in ("status", "temperature", "consultant_id", "source")
            if query.get(name) is not None
        }
        if actor.role is Role.CONSULTANT:
            filters["consultant_id"] = actor.id  # whatever the query says
        page, page_size = int(query.get("page", 1)), int(query.get("page_size", 50))
        async with self.sessions() as session:
            rows, total = await repo.search_leads(
                session,
                filters=filters,
                q=query.get("q"),
                page=page,
                page_size=page_size,
                newest_first=query.get("sort", "-created_at") == "-created_at",
            )
            data = [(await repo.lead_view(session, row)).model_dump(mode="json") for row in rows]
        return {"data": data, "page": page, "page_size": page_size, "total": total}

    # --- pipeline events ------------------------------------------------------------

    async def on_lead_classified(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, LeadClassified)
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            lead = await repo.get_lead(session, lead_id=event.lead_id, for_update=True)
            if lead is None:
                await session.commit()
                return
            before = {"temperature": lead.temperature, "ai_score": lead.ai_score}
            lead.temperature = event.temperature.value
            lead.ai_score = event.ai_score
            lead.ai_reasons = list(event.ai_reasons)
            lead.classified_by = event.classified_by
            lead.version += 1
            lead.updated_at = utcnow()
            after = {"temperature": lead.temperature, "ai_score": lead.ai_score}
            session.add(
                Interaction(
                    id=new_id(),
                    lead_id=lead.id,
                    kind="classified",
                    changes={**changes_between(before, after), "by": event.classified_by},
                )
            )
            await session.flush()
            view = await repo.lead_view(session, lead)
            events: list[Event] = [
                LeadUpdated(lead=view, changed=["temperature", "ai_score", "ai_reasons"])
            ]
            if lead.consultant_id is None and lead.status != LeadStatus.QUALIFYING.value:
                events.append(
                    LeadAssignmentRequested(
                        lead_id=lead.id,
                        temperature=event.temperature,
                        lead_created_at=lead.created_at,
                    )
                )
            await self._commit(session, *events)

    async def on_assignment_decided(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, AssignmentDecided)
        async with self.sessions() as session:
            if await already_handled(session, OUTBOX, event.event_id):
                return
            lead = await repo.get_lead(session, lead_id=event.lead_id, for_update=True)
            consultant = (
                await repo.get_consultant(session, consultant_id=event.consultant_id)
                if event.consultant_id
                else None
            )
            if lead is None or consultant is None or lead.consultant_id == consultant.id:
                await session.commit()
                return
            previous = lead.consultant_id
            lead.consultant_id = consultant.id
            lead.version += 1
            lead.updated_at = utcnow()
            session.add(
                Interaction(
                    id=new_id(),
                    lead_id=lead.id,
                    kind="assigned",
                    changes={
                        "consultant_id": {"before": previous, "after": consultant.id},
                        "rule": event.rule,
                        "eligible": event.eligible_ids,
                    },
                )
            )
            await session.flush()
            view = await repo.lead_view(session, lead)
            await self._commit(
                session, LeadAssigned(lead=view, previous_consultant_id=previous, rule=event.rule)
            )


_DUMMY_HASH = PasswordHasher().hash("not-a-real-password")
