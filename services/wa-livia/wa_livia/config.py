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
