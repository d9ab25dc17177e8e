"""Pure rules of the leads service: no database, broker or HTTP here."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from leadflow.events import LeadSource, LeadStatus, LeadView, Role
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PHONE_PATTERN = re.compile(r"^\+?[1-9]\d{1,14}$")
PHONE_PUNCTUATION = re.compile(r"[\s\-()]")


def new_id() -> str:
    return uuid.uuid4().hex


def normalise_phone(raw: str) -> str:
    """CONTRACT.md's phone rule: strip spaces, dashes, parentheses; `+digits`, E.164 length.

    `phonenumbers` rejects numbers that cannot exist (bad country code or length) when
    it knows the country; numbers it cannot parse but that fit the contract's pattern
    are kept, since the contract is the rule and operators add new ranges first.
    """
    compact = PHONE_PUNCTUATION.sub("", raw or "")
    if not PHONE_PATTERN.match(compact):
        raise ValueError("must be E.164: digits with an optional leading +, 2 to 15 digits")
    e164 = "+" + compact.lstrip("+")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(parsed) and not phonenumbers.is_possible_number(parsed):
        raise ValueError("is not a possible phone number for its country")
    return e164


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


class LeadInput(BaseModel):
    """A new lead as clients submit it (POST /api/leads and the webhook)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=1000)
    phone: str = Field(max_length=64)
    email: str | None = Field(default=None, max_length=320)
    source: LeadSource = LeadSource.MANUAL
    notes: str | None = Field(default=None, max_length=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return trimmed_name(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalised_email(value)


def may_see(role: Role, actor_id: str, lead: LeadView) -> bool:
    """Admins and managers see every lead; a consultant only the leads assigned to them."""
    return role is not Role.CONSULTANT or lead.consultant_id == actor_id


def initial_status(source: LeadSource) -> LeadStatus:
    return LeadStatus.QUALIFYING if source is LeadSource.WHATSAPP else LeadStatus.NEW


@dataclass(frozen=True)
class NewLead:
    """A lead about to be created: its row (column names) and its audit entry's changes."""

    values: dict[str, Any]
    audit: dict[str, Any]


def new_lead(
    creator_id: str | None,
    creator_role: Role | None,
    data: LeadInput,
    lead_id: str,
    now: datetime,
) -> NewLead:
    """A lead created by a consultant is theirs from the start; anyone else's waits for
    the assigner."""
    by_consultant = creator_role is Role.CONSULTANT
    values: dict[str, Any] = {
        "id": lead_id,
        "name": data.name,
        "phone": data.phone,
        "email": data.email,
        "source": data.source.value,
        "status": initial_status(data.source).value,
        "temperature": None,
        "ai_score": None,
        "ai_reasons": [],
        "notes": data.notes,
        "metadata": data.metadata,
        "consultant_id": creator_id if by_consultant else None,
        "created_by": creator_id,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    return NewLead(values, {"source": data.source.value, "assigned_to_creator": by_consultant})


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"before": x, "after": y}}` for every field whose value differs."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in after
        if before.get(key) != after.get(key)
    }


PATCHABLE = ("status", "notes", "name", "email", "metadata")


class LeadPatch(BaseModel):
    """PATCH /api/leads/{id}: only these fields, and the version the client read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    status: LeadStatus | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    name: str | None = Field(default=None, max_length=1000)
    email: str | None = Field(default=None, max_length=320)
    metadata: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else trimmed_name(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalised_email(value)

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


def lead_fields(lead: Any) -> dict[str, Any]:
    """The patchable fields of a stored lead, as plain values."""
    return {
        "status": lead.status,
        "notes": lead.notes,
        "name": lead.name,
        "email": lead.email,
        "metadata": dict(lead.extra or {}),
    }


def apply_changes(lead: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(lead, "extra" if name == "metadata" else name, value)


@dataclass(frozen=True)
class LeadChange:
    """One change to a lead, as every use case records it: the new values (the changed
    fields, the next version and the time), and its audit entry."""

    values: dict[str, Any]
    changed: list[str]
    kind: str
    actor_id: str | None
    audit: dict[str, Any]


def change_lead(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    version: int,
    now: datetime,
    kind: str,
    actor_id: str | None,
    note: dict[str, Any] | None = None,
) -> LeadChange | None:
    """The change from `before` to `after` (fields of a lead at `version`), or None if no
    field differs. `note` goes into the audit entry beside the fields (the rule, ...)."""
    changes = changes_between(before, after)
    if not changes:
        return None
    values = {name: change["after"] for name, change in changes.items()}
    return LeadChange(
        values={**values, "version": version + 1, "updated_at": now},
        changed=sorted(changes),
        kind=kind,
        actor_id=actor_id,
        audit=jsonable({**changes, **(note or {})}),
    )


def jsonable(value: Any) -> Any:
    """Audit values as JSON-safe data."""
    return json.loads(json.dumps(value, default=str))


def _brl(value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return "R$ " + f"{number:,.0f}".replace(",", ".")


def assignment_notice(lead: LeadView) -> str:
    """The WhatsApp message a consultant gets for a new lead: who, how hot, one line more."""
    data = {**lead.metadata, **(lead.metadata.get("collected") or {})}
    facts = []
    asset = {"property": "imóvel", "vehicle": "veículo"}.get(str(data.get("asset_type")), "")
    if value := _brl(data.get("asset_value")):
        facts.append(f"{asset or 'bem'} de {value}")
    if down := _brl(data.get("down_payment")):
        facts.append(f"entrada {down}")
    if income := _brl(data.get("monthly_income")):
        facts.append(f"renda {income}")
    if city := data.get("city"):
        facts.append(str(city))
    summary = ", ".join(facts) if facts else (lead.ai_reasons[0] if lead.ai_reasons else "")
    temperature = lead.temperature.value if lead.temperature else "sem classificação"
    text = f"Novo lead para você: {lead.name} ({lead.phone}) — {temperature}"
    return f"{text}. {summary}" if summary else text
