"""CONTRACT.md's one error shape, for every failure of every HTTP surface."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadflow.outages import RETRY_AFTER_S, is_outage
from leadflow.rpc import ServiceError, describe_validation_errors

log = logging.getLogger(__name__)

# The one table from error code to HTTP status.
CONTRACT_STATUS: dict[str, int] = {
    "validation_error": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
    "internal_error": 500,
}
_STATUS_CODE = {status: code for code, status in CONTRACT_STATUS.items()}


def error_response(
    code: str,
    message: str,
    details: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status = CONTRACT_STATUS.get(code, 500)
    if status == 500:
        code = "internal_error"
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = jsonable_encoder(details)
    if status == 503:
        # The contract's retry advice: a client that follows it loses nothing.
        headers = {"Retry-After": str(RETRY_AFTER_S), **(headers or {})}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception FastAPI can raise onto the contract's error shape."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation_errors(exc.errors())
        return error_response("validation_error", message, details)

    @app.exception_handler(ServiceError)
    async def on_service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODE.get(exc.status_code) or "internal_error"
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        if is_outage(exc):
            log.warning("a backing service is unavailable: %r", exc)
            return error_response("unavailable", "a backing service is unavailable; try again")
        log.exception("unhandled error")
        return error_response("internal_error", "internal error")
