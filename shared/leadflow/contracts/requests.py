"""The bodies clients send, validated alike by the gateway and the leads service.

One set of models (create / patch tiers) so the two cannot disagree: the gateway checks a
body before it spends a broker round trip, the service checks it again because it is the
one that stores it. The phone is read in the default country given in the validation
context (`{"default_country": "BR"}`), else in the process's DEFAULT_COUNTRY.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from leadflow.contracts.actor import Actor
from leadflow.contracts.phones import normalise_phone
from leadflow.events import LeadSource, LeadStatus, Role

# Lead metadata (form fields, UTM tags, Lívia's collected data) is free-form JSON, so it
# is bounded: every consumer of `lead.created` must be able to parse it, and every page of
# leads carries it. Integers must fit in 64 bits (JSON encoders and PostgreSQL's jsonb
# consumers refuse larger ones).
METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 8
METADATA_MAX_KEYS = 256
INT64 = range(-(2**63), 2**63)
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


def bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """`value` if it is within the metadata bounds, else `ValueError` naming the bound."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > METADATA_MAX_DEPTH:
                raise ValueError(f"must be at most {METADATA_MAX_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            keys += len(item) if isinstance(item, dict) else 0
            if keys > METADATA_MAX_KEYS:
                raise ValueError(f"must have at most {METADATA_MAX_KEYS} keys in all")
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, int) and not isinstance(item, bool) and item not in INT64:
            raise ValueError("integers must fit in 64 bits")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
    if len(orjson.dumps(value)) > METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return value


def trimmed_name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 255:
        raise ValueError("must be 1 to 255 characters after trimming")
    return value


def normalised_email(value: str | None) -> str | None:
    """Empty means no email; otherwise a plausible address, lower-cased."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("is not a valid email address")
    return value.lower()


def _phone(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    return normalise_phone(value, context.get("default_country"))


class DashboardQuery(BaseModel):
    """What the gateway asks each owner of the dashboard's figures: for whom, since when
    (leads that arrived since `since`; all without it)."""

    actor: Actor
    since: datetime | None = None

    @property
    def only_consultant(self) -> str | None:
        """Whose figures: None (everyone's) for admins and managers, a consultant's own."""
        return None if self.actor.is_staff else self.actor.id


class LeadCreate(BaseModel):
    """POST /api/leads and the webhook: a new lead."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000, description="1-255 characters after trimming")
    phone: str = Field(max_length=64, description="E.164, or national in DEFAULT_COUNTRY")
    email: str | None = Field(default=None, max_length=320)
    source: LeadSource = LeadSource.MANUAL
    notes: str | None = Field(default=None, max_length=10_000)
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"free-form JSON: at most {METADATA_MAX_BYTES} bytes, "
        f"{METADATA_MAX_DEPTH} levels, {METADATA_MAX_KEYS} keys",
    )

    _name = field_validator("name")(classmethod(lambda cls, v: trimmed_name(v)))
    _email = field_validator("email")(classmethod(lambda cls, v: normalised_email(v)))
    _metadata = field_validator("metadata")(classmethod(lambda cls, v: bounded_metadata(v)))

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str, info: ValidationInfo) -> str:
        return _phone(value, info)


PATCHABLE = ("status", "notes", "name", "email", "metadata")


class LeadPatch(BaseModel):
    """PATCH /api/leads/{id}: only these fields, and the version the client read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**62, description="the version the client read")
    status: LeadStatus | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    name: str | None = Field(default=None, max_length=1000)
    email: str | None = Field(default=None, max_length=320)
    metadata: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else trimmed_name(value)

    _email = field_validator("email")(classmethod(lambda cls, v: normalised_email(v)))

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else bounded_metadata(value)

    @model_validator(mode="after")
    def _required_fields_are_not_nulled(self) -> LeadPatch:
        for name in ("status", "name", "metadata"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as plain values."""
        sent = self.model_dump(mode="json", exclude_unset=True, exclude={"version"})
        return {name: sent[name] for name in PATCHABLE if name in sent}


def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError("is not a valid email address")
    return value


class ConsultantPatch(BaseModel):
    """PATCH /api/consultants/{id} (admin)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    role: Role | None = None
    phone: str | None = Field(None, max_length=64)
    active: bool | None = None
    password: str | None = Field(None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    max_open_leads: int | None = Field(None, ge=1, le=100_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else trimmed_name(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _phone(value, info) if value else None


class ConsultantCreate(BaseModel):
    """POST /api/consultants (admin)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    email: str = Field(max_length=320)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    role: Role = Role.CONSULTANT
    phone: str | None = Field(None, max_length=64)
    active: bool = True
    max_open_leads: int | None = Field(None, ge=1, le=100_000)

    _email = field_validator("email")(classmethod(lambda cls, v: _normalise_email(v)))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _phone(value, info) if value else None
