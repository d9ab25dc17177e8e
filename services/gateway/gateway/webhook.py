"""Website forms: `POST /api/webhooks/leads`, signed with WEBHOOK_SECRET.

`X-Signature: sha256=<hex HMAC-SHA256>` over the raw body, or, with `X-Timestamp` (Unix
seconds), over `timestamp + "." + body`: a timestamped request older than five minutes,
or one seen before within them, is refused, so a captured request cannot be replayed.
`WEBHOOK_REQUIRE_TIMESTAMP=true` refuses requests without one; until then senders that
sign the body alone keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from leadflow.contracts import LeadCreate
from leadflow.events import LeadSource
from leadflow.rpc import Invalid, Unauthorized, describe_validation_errors
from pydantic import ValidationError

from gateway.deps import LeadsDep, SettingsDep
from gateway.openapi import AcceptedLead, doc

REPLAY_WINDOW_S = 300
router = APIRouter(prefix="/api")


class SeenSignatures:
    """Signatures of timestamped requests accepted within the replay window (per
    gateway replica: a replay sent to another replica is caught by the window alone)."""

    def __init__(self, window_s: int = REPLAY_WINDOW_S, max_entries: int = 100_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self.expiry: OrderedDict[str, float] = OrderedDict()

    def claim(self, signature: str, now: float) -> bool:
        """True the first time a signature is seen within the window."""
        while self.expiry and next(iter(self.expiry.values())) <= now:
            self.expiry.popitem(last=False)
        if signature in self.expiry:
            return False
        self.expiry[signature] = now + 2 * self.window_s
        if len(self.expiry) > self.max_entries:
            self.expiry.popitem(last=False)
        return True

    def release(self, signature: str) -> None:
        """The request failed before it took effect: its sender may retry it."""
        self.expiry.pop(signature, None)


def signed_hex(secret: str, raw: bytes, timestamp: str | None) -> str:
    message = raw if timestamp is None else timestamp.encode() + b"." + raw
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_signature(
    secret: str,
    raw: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    require_timestamp: bool,
    now: float,
) -> None:
    """Nothing if the request is authentic and fresh; else `Unauthorized` (or `Invalid`
    for headers that cannot even be read)."""
    if signature is not None and not signature.isascii():
        raise Invalid("X-Signature: must be sha256=<hex digest>")
    if timestamp is not None and not (timestamp.isascii() and timestamp.strip().isdigit()):
        raise Invalid("X-Timestamp: must be Unix seconds")
    if not signature or not signature.startswith("sha256="):
        raise Unauthorized("bad or missing X-Signature")
    if timestamp is None and require_timestamp:
        raise Unauthorized("missing X-Timestamp")
    timestamp = timestamp.strip() if timestamp is not None else None
    expected = signed_hex(secret, raw, timestamp)
    if not hmac.compare_digest(expected, signature.removeprefix("sha256=").strip().lower()):
        raise Unauthorized("bad or missing X-Signature")
    if timestamp is not None and abs(now - int(timestamp)) > REPLAY_WINDOW_S:
        raise Unauthorized("X-Timestamp is outside the five-minute window")


@router.post(
    "/webhooks/leads",
    status_code=202,
    **doc(202, AcceptedLead, "accepted", errors=(400, 401, 413, 429, 503)),
)
async def lead_webhook(
    request: Request,
    leads: LeadsDep,
    settings: SettingsDep,
    x_signature: Annotated[str | None, Header()] = None,
    x_timestamp: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Same body and rules as POST /api/leads; `source` is `webhook` unless given."""
    raw = await request.body()
    check_signature(
        settings.webhook_secret,
        raw,
        x_signature,
        x_timestamp,
        require_timestamp=settings.webhook_require_timestamp,
        now=time.time(),
    )
    try:
        body = LeadCreate.model_validate_json(raw)
    except ValidationError as exc:
        message, details = describe_validation_errors(exc.errors(include_url=False))
        raise Invalid(message, details=details) from None
    seen: SeenSignatures = request.app.state.webhook_signatures
    signature = str(x_signature).strip().lower()
    if x_timestamp is not None and not seen.claim(signature, time.time()):
        raise Unauthorized("this request was already received (replay)")
    data = body.model_dump(mode="json", exclude_none=True)
    if "source" not in body.model_fields_set:
        data["source"] = LeadSource.WEBHOOK.value
    try:
        result = await leads.call(
            "create_lead",
            actor=None,
            data=data,
            idempotency_key=idempotency_key and f"webhook:{idempotency_key}",
        )
    except BaseException:
        seen.release(signature)
        raise
    return {"data": {"id": result["lead"]["id"]}}
