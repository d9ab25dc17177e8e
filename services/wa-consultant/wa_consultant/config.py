"""Settings of the wa-consultant service: the shared ones, plus this session's own knobs."""

from __future__ import annotations

from leadflow.whatsapp.session import WhatsAppSessionSettings
from pydantic import Field


class ConsultantSessionSettings(WhatsAppSessionSettings):
    simulated_phone: str = Field(
        "+5511900000001",
        validation_alias="WA_CONSULTANT_SIMULATED_PHONE",
        description="the consultants' number when WHATSAPP_TRANSPORT=simulator",
    )
    pair_phone: str | None = Field(
        None,
        validation_alias="WA_CONSULTANT_PAIR_PHONE",
        description="pair the consultant session by phone code for this number (besides the QR)",
    )
