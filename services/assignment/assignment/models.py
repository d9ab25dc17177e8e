"""Tables the assignment service owns."""

from __future__ import annotations

from datetime import datetime

from leadflow.db import UtcDateTime, outbox_tables
from leadflow.db.types import stamped_now
from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel


class KnownConsultant(SQLModel, table=True):
    """The assignment service's own copy of who can take leads (from consultant.saved)."""

    __tablename__ = "assignment_consultants"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=255)
    role: str = Field(max_length=16)
    active: bool
    created_at: datetime = stamped_now()
    max_open_leads: int | None = None
    # Kept by every change of a lead's consultant or column, so the capacity policy reads
    # one number per consultant instead of counting leads on each decision.
    open_leads: int = 0


class RotationCursor(SQLModel, table=True):
    """One row; `position` advances atomically for every round-robin assignment."""

    __tablename__ = "assignment_cursor"

    id: int = Field(primary_key=True)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))


class ConsultantStats(SQLModel, table=True):
    __tablename__ = "assignment_stats"

    consultant_id: str = Field(primary_key=True, max_length=32)
    assigned_total: int = 0
    last_assigned_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WaitingLead(SQLModel, table=True):
    """A lead nobody could take yet; assigned as soon as someone is eligible."""

    __tablename__ = "assignment_waiting"

    lead_id: str = Field(primary_key=True, max_length=32)
    temperature: str | None = Field(default=None, max_length=8)
    lead_created_at: datetime = Field(sa_type=UtcDateTime)
    requested_at: datetime = stamped_now()


OUTBOX = outbox_tables(SQLModel.metadata, "assignment")


class LeadState(SQLModel, table=True):
    """Who has each lead and in which column: the source of open/won/lost counts."""

    __tablename__ = "assignment_lead_states"

    lead_id: str = Field(primary_key=True, max_length=32)
    consultant_id: str | None = Field(default=None, max_length=32, index=True)
    status: str = Field(max_length=16)
    version: int = 0
    assigned_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    # The dashboard counts the leads that arrived since a moment.
    lead_created_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PresenceRecord(SQLModel, table=True):
    """The consultants connected to one realtime replica, as its last snapshot said."""

    __tablename__ = "assignment_presence"

    replica_id: str = Field(primary_key=True, max_length=64)
    consultant_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    expires_at: datetime = Field(sa_type=UtcDateTime)
