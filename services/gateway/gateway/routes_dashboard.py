"""The dashboard's figures (the console's "Painel")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from gateway.deps import Caller, LeadsDep, actor

router = APIRouter(prefix="/api", tags=["dashboard"])


@router.get("/dashboard")
async def dashboard(
    caller: Caller, leads: LeadsDep, since: datetime | None = None
) -> dict[str, Any]:
    """Leads by status and temperature, per consultant (assigned, open, won, lost), time
    from arrival to first contact, and Lívia's completion rate, over leads created since
    `since` (all of them without it). Admins and managers see everyone's numbers; a
    consultant sees only their own leads (`scope: "own"`)."""
    data = await leads.call(
        "dashboard", actor=actor(caller), since=since.isoformat() if since else None
    )
    return {"data": data}
