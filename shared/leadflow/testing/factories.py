"""Test data every service's tests build: a valid lead, a consultant, a signed-in user's
claims.

Functions rather than fixtures, so a test module's own helpers (a list of every kind of
frame, a delivery) can build them too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadflow.auth import AccessClaims
from leadflow.events import ConsultantView, LeadSource, LeadStatus, LeadView, Role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def a_lead(**fields: Any) -> LeadView:
    """A new website lead, unassigned, at version 1; `fields` say what differs."""
    defaults: dict[str, Any] = {
        "id": "lead-1",
        "name": "A",
        "phone": "+5511987654321",
        "source": LeadSource.WEBSITE,
        "status": LeadStatus.NEW,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return LeadView(**(defaults | fields))


def a_consultant(consultant_id: str, **fields: Any) -> ConsultantView:
    """An active consultant named after their id; `fields` say what differs."""
    defaults: dict[str, Any] = {
        "id": consultant_id,
        "name": consultant_id,
        "email": f"{consultant_id}@example.com",
        "role": Role.CONSULTANT,
        "active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return ConsultantView(**(defaults | fields))


def claims(role: Role, who: str = "me", jti: str = "j", generation: int = 0) -> AccessClaims:
    """What a valid access token of `who` in `role` says."""
    return AccessClaims(
        consultant_id=who, role=role, expires_at=2**31, jti=jti, generation=generation
    )
