"""Queries of the leads service. Keyword-only arguments; `get_x_or_raise` raises NotFound."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from leadflow.db import (
    AsyncpgStatement,
    event_arrays,
    for_asyncpg,
    record_handled,
    stage_events,
)
from leadflow.events import Event, LeadView
from leadflow.rpc import NotFound
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    null,
    or_,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.domain import LeadChange
from leads.models import OUTBOX, Consultant, IdempotencyRecord, Interaction, Lead


async def get_consultant(session: AsyncSession, *, consultant_id: str) -> Consultant | None:
    return await session.get(Consultant, consultant_id)


async def lead_view(session: AsyncSession, lead: Lead) -> LeadView:
    """The lead as CONTRACT.md's object (`lead_json`), with its consultant's name and email."""
    consultant = await session.get(Consultant, lead.consultant_id) if lead.consultant_id else None
    row = LeadRow.of(
        lead.model_dump() | {"metadata": lead.extra},
        consultant.name if consultant else None,
        consultant.email if consultant else None,
    )
    return LeadView.model_validate(lead_json(row))


async def get_lead(session: AsyncSession, *, lead_id: str, for_update: bool = False) -> Lead | None:
    query = select(Lead).where(Lead.id == lead_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def get_lead_or_raise(
    session: AsyncSession, *, lead_id: str, for_update: bool = False
) -> Lead:
    lead = await get_lead(session, lead_id=lead_id, for_update=for_update)
    if lead is None:
        raise NotFound("lead not found")
    return lead


async def get_lead_by_phone(session: AsyncSession, *, phone: str) -> Lead | None:
    return (await session.exec(select(Lead).where(Lead.phone == phone))).first()


async def recent_interactions(
    session: AsyncSession, *, lead_id: str, limit: int = 50
) -> list[Interaction]:
    result = await session.exec(
        select(Interaction)
        .where(Interaction.lead_id == lead_id)
        .order_by(col(Interaction.created_at).desc(), col(Interaction.id))
        .limit(limit)
    )
    return list(result.all())


LEADS = Lead.__table__  # type: ignore[attr-defined]
CONSULTANTS = Consultant.__table__  # type: ignore[attr-defined]
INTERACTIONS = Interaction.__table__  # type: ignore[attr-defined]


def _json_time(value: datetime) -> str:
    """The same text pydantic writes for a UTC datetime, so every path agrees."""
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LeadRow:
    """A lead's columns as CONTRACT.md shows them, with its consultant's name and email."""

    id: str
    name: str
    phone: str
    email: str | None
    source: str
    status: str
    temperature: str | None
    ai_score: int | None
    ai_reasons: list[str] | None
    consultant_id: str | None
    consultant_name: str | None
    consultant_email: str | None
    notes: str | None
    metadata: dict[str, Any] | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, columns: Mapping[str, Any], consultant_name: str | None, consultant_email: str | None
    ) -> LeadRow:
        """From a row of `leads` (or a dict of its columns), extra columns ignored."""
        return cls(
            **{name: columns[name] for name in _LEAD_COLUMNS},
            consultant_name=consultant_name,
            consultant_email=consultant_email,
        )

    def changed(self, change: LeadChange, **consultant: Any) -> LeadRow:
        """The row once `change` is written (`consultant_name`, `consultant_email` with it,
        when the change gives the lead to another consultant)."""
        return replace(self, **change.values, **consultant)


_LEAD_COLUMNS = tuple(
    f.name for f in fields(LeadRow) if f.name not in ("consultant_name", "consultant_email")
)


def lead_json(row: LeadRow) -> dict[str, Any]:
    """The one definition of a lead as CONTRACT.md's object: `lead_view`, events and RPC
    answers are built by it; the listing's SQL (`_LEAD_OBJECT`) is tested equal to it."""
    consultant = (
        {"id": row.consultant_id, "name": row.consultant_name, "email": row.consultant_email}
        if row.consultant_id and row.consultant_name is not None
        else None
    )
    return {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "email": row.email,
        "source": row.source,
        "status": row.status,
        "temperature": row.temperature,
        "ai_score": row.ai_score,
        "ai_reasons": list(row.ai_reasons or []),
        "consultant_id": row.consultant_id,
        "consultant": consultant,
        "notes": row.notes,
        "metadata": dict(row.metadata or {}),
        "version": row.version,
        "created_at": _json_time(row.created_at),
        "updated_at": _json_time(row.updated_at),
    }


def _page_order(newest_first: bool) -> list[ColumnElement[Any]]:
    return [
        LEADS.c.created_at.desc() if newest_first else LEADS.c.created_at.asc(),
        LEADS.c.id,
    ]


def _json_time_in_sql(column: ColumnElement[Any]) -> ColumnElement[str]:
    """`_json_time`'s text, written by PostgreSQL whatever the session's time zone."""
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


# `lead_json`'s object, key for key, built by PostgreSQL.
_LEAD_OBJECT = func.json_build_object(
    "id", LEADS.c.id,
    "name", LEADS.c.name,
    "phone", LEADS.c.phone,
    "email", LEADS.c.email,
    "source", LEADS.c.source,
    "status", LEADS.c.status,
    "temperature", LEADS.c.temperature,
    "ai_score", LEADS.c.ai_score,
    "ai_reasons", func.coalesce(LEADS.c.ai_reasons, text("'[]'::jsonb")),
    "consultant_id", LEADS.c.consultant_id,
    "consultant", case(
        (
            and_(LEADS.c.consultant_id.is_not(None), CONSULTANTS.c.name.is_not(None)),
            func.json_build_object(
                "id", LEADS.c.consultant_id,
                "name", CONSULTANTS.c.name,
                "email", CONSULTANTS.c.email,
            ),
        ),
        else_=null(),
    ),
    "notes", LEADS.c.notes,
    "metadata", func.coalesce(LEADS.c.metadata, text("'{}'::jsonb")),
    "version", LEADS.c.version,
    "created_at", _json_time_in_sql(LEADS.c.created_at),
    "updated_at", _json_time_in_sql(LEADS.c.updated_at),
)  # fmt: skip


def _page_as_json_statement(
    filter_names: tuple[str, ...], with_q: bool, newest_first: bool
) -> Select[Any]:
    """The statement of `search_leads_json` for one shape of search, values as parameters
    (built and compiled once per shape by `_page_as_json_for_asyncpg`)."""
    conditions: list[ColumnElement[bool]] = [
        LEADS.c[name] == bindparam(f"filter_{name}") for name in filter_names
    ]
    if with_q:
        pattern = bindparam("pattern", type_=String)
        conditions.append(
            or_(
                func.lower(LEADS.c.name).like(pattern),
                LEADS.c.phone.like(pattern),
                func.lower(func.coalesce(LEADS.c.email, "")).like(pattern),
            )
        )
    page_rows = (
        sa_select(
            _LEAD_OBJECT.label("lead"),
            LEADS.c.created_at.label("created_at"),
            LEADS.c.id.label("id"),
        )
        .select_from(LEADS.outerjoin(CONSULTANTS, LEADS.c.consultant_id == CONSULTANTS.c.id))
        .where(*conditions)
        .order_by(*_page_order(newest_first))
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    in_page_order = aggregate_order_by(
        page_rows.c.lead,
        page_rows.c.created_at.desc() if newest_first else page_rows.c.created_at.asc(),
        page_rows.c.id,
    )
    return sa_select(
        sa_select(func.count())
        .select_from(LEADS)
        .where(*conditions)
        .scalar_subquery()
        .label("total"),
        # As text: the driver would otherwise decode it into Python objects.
        sa_select(cast(func.coalesce(func.json_agg(in_page_order), text("'[]'::json")), Text))
        .select_from(page_rows)
        .scalar_subquery()
        .label("page"),
    )


async def search_leads_json(
    connection: asyncpg.Connection,
    *,
    filters: dict[str, Any],
    q: str | None,
    page: int,
    page_size: int,
    newest_first: bool,
) -> tuple[str, int]:
    """One page of leads matching `filters` and the substring `q`, as one statement: the
    page as JSON text, built by the database, and the total. Building a dict per row,
    then JSON per page, was most of a listing's CPU (measured); the text passes through
    to the caller as it is."""
    names = tuple(sorted(filters))
    statement = _page_as_json_for_asyncpg(names, bool(q), newest_first)
    parameters: dict[str, Any] = {f"filter_{name}": filters[name] for name in names}
    if q:
        parameters["pattern"] = f"%{q.lower()}%"
    parameters |= {"offset": (page - 1) * page_size, "limit": page_size}
    row = await statement.fetchrow(connection, parameters)
    assert row is not None
    return str(row["page"]), int(row["total"])


@functools.cache
def _page_as_json_for_asyncpg(
    filter_names: tuple[str, ...], with_q: bool, newest_first: bool
) -> AsyncpgStatement:
    """Once per shape of search: building the statement took more CPU than running it
    (measured)."""
    return for_asyncpg(_page_as_json_statement(filter_names, with_q, newest_first))


async def insert_lead(session: AsyncSession, *, values: dict[str, Any]) -> Any | None:
    """Insert a lead unless its phone exists; the new row, or None if the phone won."""
    statement = (
        pg_insert(LEADS).values(**values).on_conflict_do_nothing(index_elements=["phone"])
    ).returning(*LEADS.c)
    result = await session.exec(statement)
    return result.mappings().first()


# A new lead, its audit entry and its lead.created event as one statement (data-modifying
# CTEs), outside any transaction: five round trips (begin, insert, audit,
# outbox, commit) through the ORM session were most of a creation's CPU (measured).
# A known phone inserts nothing at all, and the statement returns no row.
CREATE_LEAD = text(
    """
    WITH created AS (
        INSERT INTO leads (id, name, phone, email, source, status, temperature, ai_score,
                           ai_reasons, notes, metadata, consultant_id, created_by, version,
                           created_at, updated_at)
        VALUES (:id, :name, :phone, :email, :source, :status, :temperature, :ai_score,
                CAST(:ai_reasons AS jsonb), :notes, CAST(:metadata AS jsonb), :consultant_id,
                :created_by, :version, :created_at, :updated_at)
        ON CONFLICT (phone) DO NOTHING
        RETURNING id
    ), audited AS (
        INSERT INTO interactions (id, lead_id, actor_id, kind, changes, created_at)
        SELECT :interaction_id, id, :actor_id, 'created', CAST(:audit AS jsonb), :created_at
        FROM created
    ), staged AS ("""
    + stage_events(OUTBOX, only_if="created")
    + """)
    SELECT id FROM created
    """
)


_CREATE_LEAD = for_asyncpg(CREATE_LEAD)


async def create_lead_in_one_statement(
    connection: asyncpg.Connection,
    *,
    values: dict[str, Any],
    interaction_id: str,
    actor_id: str | None,
    audit: dict[str, Any],
    event: Event,
) -> bool:
    """True if the lead was created; False if its phone is already known."""
    created = await _CREATE_LEAD.fetchval(
        connection,
        {
            **values,
            "ai_reasons": orjson.dumps(values["ai_reasons"]).decode(),
            "metadata": orjson.dumps(values["metadata"]).decode(),
            "interaction_id": interaction_id,
            "actor_id": actor_id,
            "audit": orjson.dumps(audit).decode(),
            "now": values["created_at"],
            **event_arrays([event]),
        },
    )
    return created is not None


# A pipeline event arriving for a lead: records the event as handled and locks the lead,
# returning it with its consultant's name and email, and the consultant the event chose
# (if any, and known). No row: handled before, or no such lead.
LOCK_FOR_EVENT = text(
    """
    WITH handled AS ("""
    + record_handled(OUTBOX)
    + """)
    SELECT lead.*, own.name AS consultant_name, own.email AS consultant_email,
        chosen.id AS chosen_id, chosen.name AS chosen_name, chosen.email AS chosen_email,
        chosen.phone AS chosen_phone
    FROM leads AS lead
    LEFT JOIN consultants AS own ON own.id = lead.consultant_id
    LEFT JOIN consultants AS chosen ON chosen.id = :consultant_id
    WHERE lead.id = :lead_id AND EXISTS (SELECT FROM handled)
    FOR UPDATE OF lead
    """
)
# The pipeline's events run for every lead: through asyncpg itself (`leadflow.db.raw`).
_LOCK_FOR_EVENT = for_asyncpg(LOCK_FOR_EVENT)


@dataclass(frozen=True)
class LockedLead:
    """The lead a pipeline event is for, locked, and the consultant the event chose."""

    lead: LeadRow
    classified_by: str | None
    chosen_id: str | None
    chosen_name: str | None
    chosen_email: str | None
    chosen_phone: str | None


async def lock_for_event(
    connection: asyncpg.Connection,
    *,
    event_id: str,
    lead_id: str,
    consultant_id: str | None = None,
) -> LockedLead | None:
    """`LOCK_FOR_EVENT`; None if the event was handled before, or no such lead."""
    row = await _LOCK_FOR_EVENT.fetchrow(
        connection,
        {
            "event_id": event_id,
            "lead_id": lead_id,
            "consultant_id": consultant_id,
            "now": datetime.now(UTC),
        },
    )
    if row is None:
        return None
    return LockedLead(
        LeadRow.of(row, row["consultant_name"], row["consultant_email"]),
        row["classified_by"],
        row["chosen_id"],
        row["chosen_name"],
        row["chosen_email"],
        row["chosen_phone"],
    )


_JSONB_COLUMNS = ("ai_reasons", "metadata")


@functools.cache
def _write_change_statement(columns: tuple[str, ...]) -> AsyncpgStatement:
    """A change's new values, its audit entry and its events as one statement; compiled
    once per set of changed columns."""
    assignments = ", ".join(
        f"{name} = CAST(:{name} AS jsonb)" if name in _JSONB_COLUMNS else f"{name} = :{name}"
        for name in columns
    )
    return for_asyncpg(
        text(
            f"""
            WITH changed AS (UPDATE leads SET {assignments} WHERE id = :lead_id),
            audited AS (
                INSERT INTO interactions (id, lead_id, actor_id, kind, changes, created_at)
                VALUES (:interaction_id, :lead_id, :actor_id, :kind, CAST(:changes AS jsonb),
                        :now)
            )"""
            + stage_events(OUTBOX)
        )
    )


async def write_change(
    connection: asyncpg.Connection,
    *,
    lead_id: str,
    change: LeadChange,
    events: list[Event],
    unaudited: Mapping[str, Any] | None = None,
) -> None:
    """Write `change` (and `unaudited` columns beside it) to the lead, its audit entry and
    `events`."""
    values = {**change.values, **(unaudited or {})}
    for name in _JSONB_COLUMNS:
        if name in values:
            values[name] = orjson.dumps(values[name]).decode()
    await _write_change_statement(tuple(sorted(values))).execute(
        connection,
        {
            **values,
            "lead_id": lead_id,
            "interaction_id": uuid.uuid4().hex,
            "actor_id": change.actor_id,
            "kind": change.kind,
            "changes": orjson.dumps(change.audit).decode(),
            "now": change.values["updated_at"],
            **event_arrays(events),
        },
    )


_STAGE_EVENTS = for_asyncpg(text(stage_events(OUTBOX)))


async def stage(connection: asyncpg.Connection, *, events: list[Event]) -> None:
    """Events for the outbox, in the caller's transaction."""
    if events:
        await _STAGE_EVENTS.execute(connection, {"now": datetime.now(UTC), **event_arrays(events)})


_CONSULTANT_NAME_AND_EMAIL = for_asyncpg(
    sa_select(CONSULTANTS.c.name, CONSULTANTS.c.email).where(
        CONSULTANTS.c.id == bindparam("consultant_id")
    )
)


async def consultant_name_and_email(
    connection: asyncpg.Connection, *, consultant_id: str
) -> tuple[str, str] | None:
    row = await _CONSULTANT_NAME_AND_EMAIL.fetchrow(connection, {"consultant_id": consultant_id})
    return (row["name"], row["email"]) if row else None


async def apply_change(session: AsyncSession, lead: Lead, change: LeadChange) -> None:
    """Write `change` to the lead (in the session) and record its audit entry."""
    for name, value in change.values.items():
        setattr(lead, "extra" if name == "metadata" else name, value)
    session.add(
        Interaction(
            id=uuid.uuid4().hex,
            lead_id=lead.id,
            actor_id=change.actor_id,
            kind=change.kind,
            changes=change.audit,
            created_at=change.values["updated_at"],
        )
    )
    await session.flush()


async def insert_interaction(
    session: AsyncSession, *, lead_id: str, actor_id: str | None, kind: str, changes: dict[str, Any]
) -> None:
    await session.exec(
        insert(INTERACTIONS).values(
            id=uuid.uuid4().hex,
            lead_id=lead_id,
            actor_id=actor_id,
            kind=kind,
            changes=changes,
            created_at=datetime.now(UTC),
        )
    )


async def insert_idempotency_key(session: AsyncSession, *, key: str, lead_id: str) -> None:
    await session.exec(
        insert(IdempotencyRecord.__table__).values(  # type: ignore[attr-defined]
            key=key, lead_id=lead_id, created_at=datetime.now(UTC)
        )
    )


async def created_lead_json(session: AsyncSession, row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of a freshly inserted lead row, with its consultant's name and email."""
    name = email = None
    if row["consultant_id"]:
        consultant = await session.get(Consultant, row["consultant_id"])
        if consultant is not None:
            name, email = consultant.name, consultant.email
    return lead_json(LeadRow.of(row, name, email))
