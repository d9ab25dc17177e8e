"""Settings of the wa-livia service: the shared ones, plus this session's own knobs."""

from __future__ import annotations

from leadflow.whatsapp.session import WhatsAppSessionSettings
from pydantic import Field


class LiviaSessionSettings(WhatsAppSessionSettings):
    simulated_phone: str = Field(
        "+5511900000002",
        validation_alias="WA_LIVIA_SIMULATED_PHONE",
        description="Lívia's number when WHATSAPP_TRANSPORT=simulator",
    )
    pair_phone: str | None = Field(
        None,
        validation_alias="WA_LIVIA_PAIR_PHONE",
        description="pair Lívia's session by phone code for this number (besides the QR)",
    )
    # "typing…" before a reply (unset: by the reply's length); a burst answered once, this
    # long after its last message
    livia_typing_delay_ms: int | None = Field(None, validation_alias="LIVIA_TYPING_DELAY_MS", ge=0)
    livia_debounce_ms: int = Field(1500, validation_alias="LIVIA_DEBOUNCE_MS", ge=0)
