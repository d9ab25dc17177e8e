"""What wa-livia asks other services, over the broker's request/reply."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from leadflow.rpc import RpcClient

from wa_livia.conversations import LeadRef

log = logging.getLogger(__name__)


@dataclass
class LeadsService:
    """The leads service finds, or creates, the lead of a phone that wrote to Lívia."""

    client: RpcClient

    async def lead_for_phone(self, phone: str, push_name: str | None) -> LeadRef:
        found = await self.client.call("lead_for_whatsapp", phone=phone, push_name=push_name)
        return LeadRef(
            id=found["id"],
            name=found["name"],
            consultant_id=found.get("consultant_id"),
            consultant_name=found.get("consultant_name"),
        )


@dataclass
class ConsultantSession:
    """The consultant session's own number: consultants write to leads from it.

    Asked when a hand-off needs it; known once it answers, and not asked again for a while
    when it does not (the hand-off then names the team's number without digits)."""

    client: RpcClient
    retry_after_s: float = 30.0
    _known: str | None = None
    _asked_at: float | None = None

    async def number(self) -> str | None:
        now = time.monotonic()
        if self._known is None and (
            self._asked_at is None or now - self._asked_at >= self.retry_after_s
        ):
            self._asked_at = now
            try:
                self._known = (await self.client.call("status")).get("phone")
            except Exception:
                log.warning("could not ask wa-consultant for its number", exc_info=True)
        return self._known
