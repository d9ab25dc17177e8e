"""Baselines: bare FastAPI endpoints doing only the request's own work.

POST /api/leads validates the same lead body; GET /api/chats returns a page of an
in-memory list of chats of the same shape (no token, no broker hop).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Query
from leadflow.contracts import LeadCreate

app = FastAPI()


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/api/leads", status_code=201)
async def create(body: LeadCreate) -> dict[str, Any]:
    return {"data": body.model_dump(mode="json", exclude_none=True)}


CHATS = [
    {
        "id": f"55219{i:08d}@s.whatsapp.net",
        "name": f"Contato {i}",
        "phone": f"+55219{i:08d}",
        "last_message": f"mensagem {i}",
        "timestamp": datetime.now(UTC).isoformat(),
        "unread_count": 1,
        "lead_id": f"{i:032x}",
    }
    for i in range(1000)
]


@app.get("/api/chats")
async def chats(limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    return {"data": CHATS[:limit]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
