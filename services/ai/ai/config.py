"""Settings of the ai service: the shared ones, plus Groq's and Lívia's rates."""

from __future__ import annotations

from leadflow.settings import Settings
from pydantic import Field


class AiSettings(Settings):
    groq_api_key: str | None = Field(
        None, validation_alias="GROQ_API_KEY", description="unset: rules classify, Lívia scripted"
    )
    groq_base_url: str | None = Field(None, validation_alias="GROQ_BASE_URL")
    groq_model: str = Field("llama-3.3-70b-versatile", validation_alias="GROQ_MODEL")
    groq_timeout_s: float = Field(3.0, validation_alias="GROQ_TIMEOUT_S", gt=0)
    groq_stt_model: str = Field(
        "whisper-large-v3-turbo",
        validation_alias="GROQ_STT_MODEL",
        description="Groq speech-to-text model for voice notes",
    )
    livia_property_monthly_rate: float = Field(
        0.0099, validation_alias="LIVIA_PROPERTY_MONTHLY_RATE", ge=0, lt=1
    )
    livia_vehicle_monthly_rate: float = Field(
        0.0159, validation_alias="LIVIA_VEHICLE_MONTHLY_RATE", ge=0, lt=1
    )
