"""Columns as the services' migrations write them, so each migration says only what is
its own: a 32-character id key, time stamps with a time zone, JSON stored as JSONB."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def id_key(name: str = "id") -> sa.Column[Any]:
    """The table's key: an id of 32 characters (a uuid4's hex, ours or another service's)."""
    return sa.Column(name, sa.String(32), primary_key=True)


def timestamps(*, index_created: bool = False) -> tuple[sa.Column[Any], sa.Column[Any]]:
    """`created_at` and `updated_at`, both required."""
    return (
        sa.Column("created_at", TS, nullable=False, index=index_created),
        sa.Column("updated_at", TS, nullable=False),
    )
