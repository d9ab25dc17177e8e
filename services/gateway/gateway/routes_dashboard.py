"""The dashboard's figures (the console's "Painel")."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from leadflow.rpc import Unavailable
from pydantic import BaseModel, Field

from gateway.deps import LIVIA_DEADLINE_S, AssignmentDep, Caller, LeadsDep, LiviaDep, actor
from gateway.openapi import doc

router = APIRouter(prefix="/api", tags=["dashboard"])


class ConsultantFigures(BaseModel):
    id: str
    name: str
    active: bool
    assigned: int = Field(description="leads in scope assigned to them now")
    open: int = Field(description="of those, neither WON nor LOST")
    won: int
    lost: int


class FirstContact(BaseModel):
    """From a lead's arrival to the first move into CONTACTED, PROPOSAL or WON."""

    contacted: int = Field(description="leads contacted at least once")
    waiting: int = Field(description="leads still NEW, QUALIFYING or QUALIFIED")
    average_seconds: float | None
    median_seconds: float | None


class LiviaFigures(BaseModel):
    conversations: int = Field(description="leads that arrived by writing to Lívia")
    completed: int = Field(description="of those, handed off by her (TRANSFERRED)")
    completion_rate: float | None = Field(description="completed / conversations; null at 0")


class Dashboard(BaseModel):
    scope: Literal["all", "own"] = Field(description="`own`: a consultant's own leads only")
    since: datetime | None
    total: int = Field(description="leads created since `since`, in scope")
    by_status: dict[str, int] = Field(description="every status, zero when none (the funnel)")
    by_temperature: dict[str, int] = Field(description="HOT, WARM, COLD and unclassified")
    unassigned: int
    consultants: list[ConsultantFigures]
    first_contact: FirstContact
    livia: LiviaFigures | None = Field(description="null when wa-livia did not answer")


class DashboardEnvelope(BaseModel):
    data: Dashboard
    livia_unavailable: bool = Field(
        False, description="true when Lívia's service did not answer: `livia` is unknown"
    )


@router.get("/dashboard", **doc(200, DashboardEnvelope, "the figures", errors=(400, 401, 429, 503)))
async def dashboard(
    caller: Caller,
    leads: LeadsDep,
    assignment: AssignmentDep,
    livia: LiviaDep,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Leads by status and temperature, per consultant (assigned, open, won, lost), time
    from arrival to first contact, and Lívia's completion rate, over leads created since
    `since` (all of them without it). Admins and managers see everyone's numbers; a
    consultant sees only their own leads (`scope: "own"`).

    Each figure comes from its owner, asked at once: leads (the funnel, first contact),
    assignment (per consultant), wa-livia (her conversations). Without wa-livia's answer
    the rest still shows, `livia` null and `livia_unavailable` true."""
    query = {"actor": actor(caller), "since": since.isoformat() if since else None}

    async def livia_figures() -> dict[str, Any] | None:
        try:
            figures: dict[str, Any] = await livia.within(LIVIA_DEADLINE_S).call("figures", **query)
        except Unavailable:
            return None
        return figures

    data, consultants, livia_part = await asyncio.gather(
        leads.call("dashboard", **query),
        assignment.call("consultant_figures", **query),
        livia_figures(),
    )
    data |= {"consultants": consultants, "livia": livia_part}
    if livia_part is None:
        return {"data": data, "livia_unavailable": True}
    return {"data": data}
