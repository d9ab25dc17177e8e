"""The console (`web/`): its page at `/`, its files under `/web/`, and `/api/config`, which
tells it where realtime is when realtime has its own origin (`make cluster`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from leadflow.settings import Settings, WhatsAppTransport
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles

from gateway.openapi import doc

# The repository's (and the image's) `web/` folder: services/gateway/gateway/ -> root.
WEB_DIR = Path(__file__).resolve().parents[3] / "web"
# The page must be fetched fresh (it names the module versions); files are revalidated.
NO_CACHE = {"Cache-Control": "no-cache"}


class ConsoleFiles(StaticFiles):
    """Static files that the browser revalidates (ETag) instead of caching blindly, so a
    deploy is seen on the next load; and a `nosniff` header on each."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(NO_CACHE)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class ConsoleConfig(BaseModel):
    realtime_url: str | None = Field(
        description="base URL of `/ws` and `/api/events`; null: this same origin"
    )
    simulator: bool = Field(description="the WhatsApp simulator runs (dev endpoints exist)")


class ConsoleConfigEnvelope(BaseModel):
    data: ConsoleConfig


def console_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know before it logs in."""
    return {
        "realtime_url": (settings.realtime_public_url or "").rstrip("/") or None,
        "simulator": settings.whatsapp_transport is WhatsAppTransport.SIMULATOR,
    }


def install_console(app: FastAPI, settings: Settings, web_dir: Path = WEB_DIR) -> None:
    """Serve the console; without a `web/` folder (a trimmed image) only the API runs."""
    router = APIRouter()
    config = console_config(settings)

    @router.get(
        "/api/config",
        tags=["console"],
        **doc(200, ConsoleConfigEnvelope, "the console's settings", errors=(429,)),
    )
    async def get_config() -> dict[str, Any]:
        """Public: where realtime is (null: on this origin), whether the simulator runs."""
        return {"data": config}

    app.include_router(router)
    index = web_dir / "index.html"
    if not index.is_file():
        return

    @app.get("/", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(index, headers={**NO_CACHE, "X-Content-Type-Options": "nosniff"})

    app.mount("/web", ConsoleFiles(directory=web_dir), name="web")
