"""The baseline: a bare FastAPI endpoint that validates the same lead body, nothing else."""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from gateway.routes import LeadBody
from leads.domain import LeadInput

app = FastAPI()


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/api/leads", status_code=201)
async def create(body: LeadBody) -> dict[str, Any]:
    lead = LeadInput.model_validate(body.model_dump(exclude_none=True))
    return {"data": lead.model_dump(mode="json")}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
