"""Tables of leads and their audit trail, for the statements that `repository.py` builds
(idempotency keys are written by raw SQL only; accounts have their own models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.db import outbox_tables
from leadflow.db.types import stamped_now
from sqlalchemy import JSON, Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Lead(SQLModel, table=True):
    __tablename__ = "leads"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=255)
    phone: str = Field(max_length=20, unique=True)
    email: str | None = Field(default=None, max_length=320)
    source: str = Field(max_length=16, index=True)
    status: str = Field(max_length=16, index=True)
    temperature: str | None = Field(default=None, max_length=8, index=True)
    ai_score: int | None = None
    ai_reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    classified_by: str | None = Field(default=None, max_length=16)
    consultant_id: str | None = Field(default=None, foreign_key="consultants.id", index=True)
    created_by: str | None = Field(default=None, max_length=32)
    notes: str | None = None
    extra: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSONType, nullable=False)
    )
    version: int = Field(default=1)
    created_at: datetime = stamped_now()
    updated_at: datetime = stamped_now()


class Interaction(SQLModel, table=True):
    """The audit trail: who changed what on a lead, before and after, when."""

    __tablename__ = "interactions"

    id: str = Field(primary_key=True, max_length=32)
    lead_id: str = Field(foreign_key="leads.id", index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = stamped_now()


OUTBOX = outbox_tables(SQLModel.metadata, "leads")
