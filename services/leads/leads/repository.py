"""Statements of the leads service, on asyncpg itself (`leadflow.db.raw`): creating,
reading and changing a lead are on every lead's path. Keyword-only arguments."""

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
from leadflow.events import Event, LeadSource, LeadStatus, Temperature
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    null,
    or_,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from leads.accounts.models import Consultant
from leads.domain import CONTACTED_STATUSES, LeadChange, LeadCount
from leads.models import OUTBOX, Interaction, Lead

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
    source: LeadSource
    status: LeadStatus
    temperature: Temperature | None
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
        """From a row of `leads` (or a dict of its columns), extra columns ignored. A value
        outside its enum is a corrupt row: it raises here rather than reach a client."""
        values = {name: columns[name] for name in _LEAD_COLUMNS}
        temperature = values["temperature"]
        return cls(
            **values
            | {
                "source": LeadSource(values["source"]),
                "status": LeadStatus(values["status"]),
                "temperature": Temperature(temperature) if temperature is not None else None,
            },
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
    """The one definition of a lead as CONTRACT.md's object: events and RPC answers are
    built by it; the listing's SQL (`_LEAD_OBJECT`) is tested equal to it."""
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


@functools.cache
def _page_as_json(
    filter_names: tuple[str, ...], with_q: bool, newest_first: bool
) -> AsyncpgStatement:
    """The statement of `search_leads_json` for one shape of search, values as parameters;
    built once per shape: building it took more CPU than running it (measured)."""

    def in_order(created_at: Any, lead_id: Any) -> list[ColumnElement[Any]]:
        return [created_at.desc() if newest_first else created_at.asc(), lead_id]

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
        .order_by(*in_order(LEADS.c.created_at, LEADS.c.id))
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    in_page_order = aggregate_order_by(
        page_rows.c.lead, *in_order(page_rows.c.created_at, page_rows.c.id)
    )
    statement = sa_select(
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
    return for_asyncpg(statement)


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
    statement = _page_as_json(names, bool(q), newest_first)
    parameters: dict[str, Any] = {f"filter_{name}": filters[name] for name in names}
    if q:
        parameters["pattern"] = f"%{q.lower()}%"
    parameters |= {"offset": (page - 1) * page_size, "limit": page_size}
    row = await statement.fetchrow(connection, parameters)
    assert row is not None
    return str(row["page"]), int(row["total"])


# A new lead, its audit entry, its idempotency key (if any) and its lead.created event as
# one statement (data-modifying CTEs), outside any transaction: five round trips through
# the ORM session were most of a creation's CPU (measured). A known phone inserts nothing
# at all, and the statement returns no row; a known key fails on its unique key.
_CREATE_LEAD = for_asyncpg(
    text(
        """
        WITH created AS (
            INSERT INTO leads (id, name, phone, email, source, status, temperature, ai_score,
                               ai_reasons, notes, metadata, consultant_id, created_by,
                               version, created_at, updated_at)
            VALUES (:id, :name, :phone, :email, :source, :status, :temperature, :ai_score,
                    CAST(:ai_reasons AS jsonb), :notes, CAST(:metadata AS jsonb),
                    :consultant_id, :created_by, :version, :created_at, :updated_at)
            ON CONFLICT (phone) DO NOTHING
            RETURNING id
        ), audited AS (
            INSERT INTO interactions (id, lead_id, actor_id, kind, changes, created_at)
            SELECT :interaction_id, id, :actor_id, 'created', CAST(:audit AS jsonb),
                   :created_at
            FROM created
        ), keyed AS (
            INSERT INTO idempotency_keys (key, lead_id, created_at)
            SELECT CAST(:idempotency_key AS text), id, :created_at FROM created
            WHERE CAST(:idempotency_key AS text) IS NOT NULL
        ), staged AS ("""
        + stage_events(OUTBOX, only_if="created")
        + """)
        SELECT id FROM created
        """
    )
)


async def create_lead(
    connection: asyncpg.Connection,
    *,
    values: dict[str, Any],
    actor_id: str | None,
    audit: dict[str, Any],
    idempotency_key: str | None,
    event: Event,
) -> bool:
    """True if the lead was created; False if its phone is already known. A known
    idempotency key raises asyncpg's UniqueViolationError (nothing is written)."""
    created = await _CREATE_LEAD.fetchval(
        connection,
        {
            **_as_columns(values),
            "interaction_id": uuid.uuid4().hex,
            "actor_id": actor_id,
            "audit": orjson.dumps(audit).decode(),
            "idempotency_key": idempotency_key,
            "now": values["created_at"],
            **event_arrays([event]),
        },
    )
    return created is not None


_JSONB_COLUMNS = ("ai_reasons", "metadata")


def _as_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as the statements take them (JSON columns as text)."""
    return {
        name: orjson.dumps(value).decode() if name in _JSONB_COLUMNS else value
        for name, value in values.items()
    }


_LEAD_BY = {
    "id": "lead.id = :key",
    "phone": "lead.phone = :key",
    "idempotency_key": "lead.id = (SELECT lead_id FROM idempotency_keys WHERE key = :key)",
}


@functools.cache
def _find_lead_statement(by: str, *, lock: bool, for_event: bool) -> AsyncpgStatement:
    """A lead with its consultant's name and email, and the consultant `:consultant_id`
    (if any); `lock`ed until the transaction ends; `for_event`: only if the event
    `:event_id` is recorded as handled now (no row if it was handled before)."""
    return for_asyncpg(
        text(
            (f"WITH handled AS ({record_handled(OUTBOX)})" if for_event else "")
            + f"""
            SELECT lead.*, own.name AS consultant_name, own.email AS consultant_email,
                chosen.id AS chosen_id, chosen.name AS chosen_name,
                chosen.email AS chosen_email, chosen.phone AS chosen_phone,
                chosen.active AS chosen_active
            FROM leads AS lead
            LEFT JOIN consultants AS own ON own.id = lead.consultant_id
            LEFT JOIN consultants AS chosen ON chosen.id = :consultant_id
            WHERE {_LEAD_BY[by]}
            """
            + (" AND EXISTS (SELECT FROM handled)" if for_event else "")
            + (" FOR UPDATE OF lead" if lock else "")
        )
    )


@dataclass(frozen=True)
class ChosenConsultant:
    id: str
    name: str
    email: str
    phone: str | None
    active: bool


@dataclass(frozen=True)
class FoundLead:
    """A lead, and the consultant the caller asked about with it (if any, and known)."""

    lead: LeadRow
    chosen: ChosenConsultant | None


async def find_lead(
    connection: asyncpg.Connection,
    *,
    key: str,
    by: str = "id",
    consultant_id: str | None = None,
    lock: bool = False,
    event_id: str | None = None,
) -> FoundLead | None:
    """The lead whose `by` ("id", "phone", "idempotency_key") is `key`, with the
    consultant `consultant_id`. With `event_id`: locked, and None if that event was
    handled before (otherwise it is recorded as handled in the caller's transaction)."""
    statement = _find_lead_statement(by, lock=lock or bool(event_id), for_event=bool(event_id))
    row = await statement.fetchrow(
        connection,
        {"key": key, "consultant_id": consultant_id, "event_id": event_id, "now": _now()},
    )
    if row is None:
        return None
    chosen = (
        ChosenConsultant(
            row["chosen_id"],
            row["chosen_name"],
            row["chosen_email"],
            row["chosen_phone"],
            row["chosen_active"],
        )
        if row["chosen_id"]
        else None
    )
    return FoundLead(LeadRow.of(row, row["consultant_name"], row["consultant_email"]), chosen)


_RECENT_INTERACTIONS = for_asyncpg(
    sa_select(INTERACTIONS.c.id, INTERACTIONS.c.kind, INTERACTIONS.c.actor_id,
              INTERACTIONS.c.changes, INTERACTIONS.c.created_at)
    .where(INTERACTIONS.c.lead_id == bindparam("lead_id"))
    .order_by(INTERACTIONS.c.created_at.desc(), INTERACTIONS.c.id)
    .limit(bindparam("limit", type_=Integer))
)  # fmt: skip


async def recent_interactions(
    connection: asyncpg.Connection, *, lead_id: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The lead's audit trail, newest first, as the API shows it."""
    rows = await _RECENT_INTERACTIONS.fetch(connection, {"lead_id": lead_id, "limit": limit})
    return [
        {
            "id": row["id"],
            "kind": row["kind"],
            "actor_id": row["actor_id"],
            "changes": row["changes"],
            "created_at": row["created_at"].isoformat(),
        }
        for row in rows
    ]


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
    values = _as_columns({**change.values, **(unaudited or {})})
    await _write_change_statement(tuple(sorted(values))).execute(
        connection,
        {
            **values,
            **_audit_values(lead_id, change.kind, change.actor_id, change.audit),
            "now": change.values["updated_at"],
            **event_arrays(events),
        },
    )


def _audit_values(
    lead_id: str, kind: str, actor_id: str | None, changes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "interaction_id": uuid.uuid4().hex,
        "lead_id": lead_id,
        "actor_id": actor_id,
        "kind": kind,
        "changes": orjson.dumps(changes).decode(),
    }


# An entry on a lead's timeline that is not a change of the lead, once per event.
_AUDIT_ONCE = for_asyncpg(
    text(
        f"WITH handled AS ({record_handled(OUTBOX)})"
        + """
        INSERT INTO interactions (id, lead_id, actor_id, kind, changes, created_at)
        SELECT :interaction_id, id, :actor_id, :kind, CAST(:changes AS jsonb), :now
        FROM leads WHERE id = :lead_id AND EXISTS (SELECT FROM handled)
        """
    )
)


async def audit_once(
    connection: asyncpg.Connection,
    *,
    event_id: str,
    lead_id: str,
    kind: str,
    actor_id: str | None,
    changes: dict[str, Any],
) -> None:
    """Record `kind` on the lead's timeline, unless `event_id` was handled before."""
    await _AUDIT_ONCE.execute(
        connection,
        {"event_id": event_id, "now": _now(), **_audit_values(lead_id, kind, actor_id, changes)},
    )


_STAGE_EVENTS = for_asyncpg(text(stage_events(OUTBOX)))


async def stage(connection: asyncpg.Connection, *, events: list[Event]) -> None:
    """Events for the outbox, in the caller's transaction."""
    if events:
        await _STAGE_EVENTS.execute(connection, {"now": _now(), **event_arrays(events)})


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


# The dashboard's scope: a consultant's own leads (`:consultant_id`, or every lead when
# null), arrived since `:since` (or ever, when null).
_DASHBOARD_SCOPE = """
    (CAST(:consultant_id AS text) IS NULL OR lead.consultant_id = CAST(:consultant_id AS text))
    AND (CAST(:since AS timestamptz) IS NULL OR lead.created_at >= CAST(:since AS timestamptz))
"""
_LEAD_COUNTS = for_asyncpg(
    text(
        f"""
        SELECT lead.status, lead.temperature, lead.consultant_id IS NULL AS unassigned,
               count(*) AS leads
        FROM leads AS lead WHERE {_DASHBOARD_SCOPE}
        GROUP BY 1, 2, 3
        """
    )
)
# Per contacted lead, seconds from its arrival to the first move into a worked status.
_FIRST_CONTACTS = for_asyncpg(
    text(
        f"""
        SELECT extract(epoch FROM min(entry.created_at) - lead.created_at) AS seconds
        FROM leads AS lead JOIN interactions AS entry ON entry.lead_id = lead.id
        WHERE entry.kind = 'updated'
          AND entry.changes #>> '{{status,after}}' = ANY(CAST(:contacted AS text[]))
          AND {_DASHBOARD_SCOPE}
        GROUP BY lead.id, lead.created_at
        """
    )
)


async def lead_counts(
    connection: asyncpg.Connection, *, consultant_id: str | None, since: datetime | None
) -> list[LeadCount]:
    """How many leads in the dashboard's scope, per status, temperature and assignedness."""
    scope = {"consultant_id": consultant_id, "since": since}
    return [LeadCount(*row) for row in await _LEAD_COUNTS.fetch(connection, scope)]


async def first_contact_seconds(
    connection: asyncpg.Connection, *, consultant_id: str | None, since: datetime | None
) -> list[float]:
    """Per lead in scope contacted at least once: seconds from arrival to first contact."""
    params = {"consultant_id": consultant_id, "since": since, "contacted": CONTACTED_STATUSES}
    return [float(row["seconds"]) for row in await _FIRST_CONTACTS.fetch(connection, params)]


def _now() -> datetime:
    return datetime.now(UTC)
