"""Structured JSON logging that carries the correlation id across services."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from datetime import UTC, datetime

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
service_name_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "service_name", default="leadflow"
)


class _AsDebug(logging.Filter):
    """Alembic's ~20 lines per start ("Running upgrade ...") are debug, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


# A logger's filters see only its own records: these are the ones alembic logs an upgrade
# on (plugins as soon as alembic is imported, so before any service is built).
for _name in ("alembic.runtime.migration", "alembic.runtime.plugins"):
    logging.getLogger(_name).addFilter(_AsDebug())


def current_correlation_id() -> str:
    """The correlation id of the work in progress, or a new one for fresh work."""
    return correlation_id_var.get() or uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, correlation id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": service_name_var.get(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if cid := correlation_id_var.get():
            entry["correlation_id"] = cid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr for this process."""
    service_name_var.set(service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "uvicorn.access", "faststream", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
