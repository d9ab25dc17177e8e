"""The accounts' tables."""

from __future__ import annotations

from datetime import datetime

from leadflow.db.types import UtcDateTime, stamped_now
from sqlmodel import Field, SQLModel


class Consultant(SQLModel, table=True):
    __tablename__ = "consultants"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=255)
    email: str = Field(max_length=320, unique=True)
    password_hash: str
    role: str = Field(max_length=16, index=True)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = Field(default=True)
    max_open_leads: int | None = None
    # Bumped when the consultant is deactivated or changes role or password: access
    # tokens carry the generation they were issued in, and older ones are refused.
    session_generation: int = Field(default=0)
    created_at: datetime = stamped_now()
    updated_at: datetime = stamped_now()


class TokenFamily(SQLModel, table=True):
    """All refresh tokens descended from one login; revoked together."""

    __tablename__ = "refresh_token_families"

    id: str = Field(primary_key=True, max_length=32)
    consultant_id: str = Field(foreign_key="consultants.id", index=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_reason: str | None = Field(default=None, max_length=64)
    created_at: datetime = stamped_now()


class RefreshToken(SQLModel, table=True):
    """One refresh token, stored as its SHA-256; spent once used."""

    __tablename__ = "refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(foreign_key="refresh_token_families.id", index=True)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = stamped_now()


class RevokedAccessToken(SQLModel, table=True):
    """An access token logged out before it expired; forgotten once it has."""

    __tablename__ = "revoked_access_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    consultant_id: str = Field(max_length=32, index=True)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
