"""Request/reply between the gateway and the services: one envelope, typed errors.

A service answers every request, with a result or with an error whose `code` is one of
CONTRACT.md's error codes; the gateway maps codes to HTTP statuses in one table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from leadflow.bus import Bus
from leadflow.logs import correlation_id_var, current_correlation_id
from leadflow.outages import is_outage

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A domain error with a contract error code; crosses the bus intact."""

    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class Invalid(ServiceError):
    code = "validation_error"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Forbidden(ServiceError):
    code = "forbidden"


class Unavailable(ServiceError):
    code = "unavailable"


Method = Callable[[dict[str, Any]], Awaitable[Any]]
Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any) -> Model:
    """Validate a caller's parameters: their mistakes are `Invalid` (400).

    Any other validation failure inside a method (say, of data read back from storage)
    is the service's fault and surfaces as an internal error.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message, details = describe_validation_errors(exc.errors(include_url=False))
        raise Invalid(message, details=details) from None


def rpc_dispatcher(methods: dict[str, Method]) -> Callable[[bytes], Awaitable[bytes]]:
    """Turn named async methods into one bus request handler."""

    async def handle(body: bytes) -> bytes:
        try:
            request = orjson.loads(body)
            method = methods[request["method"]]
        except (ValueError, KeyError, TypeError):
            return _error("validation_error", "malformed request")
        token = correlation_id_var.set(request.get("correlation_id"))
        try:
            result = await method(request.get("params") or {})
        except ServiceError as exc:
            return _error(exc.code, exc.message, exc.details)
        except Exception as exc:
            if is_outage(exc):
                # The database (or broker) is out of reach: the caller may try again.
                log.warning("rpc method %s met an outage: %r", request.get("method"), exc)
                return _error("unavailable", "a backing service is unavailable; try again")
            log.exception("rpc method %s failed", request.get("method"))
            return _error("internal_error", "internal error")
        finally:
            correlation_id_var.reset(token)
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return orjson.dumps({"ok": True, "result": result}, default=str)

    return handle


def describe_validation_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, str]]]:
    """Pydantic errors as `(first "field: problem", [{field, message}, ...])`."""
    details = []
    for error in errors:
        location = [
            str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "data")
        ]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            location = []  # its location is a character offset, not a field
            reason = (error.get("ctx") or {}).get("error")
            message = f"the body is not valid JSON ({reason})" if reason else "invalid JSON"
        details.append({"field": ".".join(location), "message": message})
    if not details:
        return "invalid request", details
    first = details[0]
    return (
        f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    ), details


def _error(code: str, message: str, details: Any = None) -> bytes:
    return orjson.dumps(
        {"ok": False, "error": {"code": code, "message": message, "details": details}},
        default=str,
    )


class RpcClient:
    """Calls a service's methods over the bus, with a deadline on every call."""

    def __init__(self, bus: Bus, endpoint: str, *, timeout: float) -> None:
        self.bus = bus
        self.endpoint = endpoint
        self.timeout = timeout

    def within(self, seconds: float) -> RpcClient:
        """The same endpoint with a shorter deadline, for an answer the caller can do without."""
        return RpcClient(self.bus, self.endpoint, timeout=min(seconds, self.timeout))

    async def call(self, method: str, **params: Any) -> Any:
        """The method's result, or its `ServiceError` raised here."""
        body = orjson.dumps(
            {"method": method, "params": params, "correlation_id": current_correlation_id()},
            default=str,
        )
        try:
            raw = await self.bus.request(self.endpoint, body, timeout=self.timeout)
        except TimeoutError as exc:
            raise Unavailable(f"{self.endpoint} did not answer in time") from exc
        except Exception as exc:
            if is_outage(exc):  # the broker is out of reach
                raise Unavailable("the message broker is unavailable") from exc
            raise
        reply = orjson.loads(raw)
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        raise ServiceError(
            error.get("message", "error"), details=error.get("details"), code=error.get("code")
        )
