"""What clients send, shared by the gateway and the services that store it."""

from leadflow.contracts.actor import Actor
from leadflow.contracts.phones import (
    DEFAULT_COUNTRY,
    PHONE_PATTERN,
    default_country,
    normalise_phone,
    set_default_country,
)
from leadflow.contracts.requests import (
    METADATA_MAX_BYTES,
    METADATA_MAX_DEPTH,
    METADATA_MAX_KEYS,
    ConsultantCreate,
    ConsultantPatch,
    DashboardQuery,
    LeadCreate,
    LeadPatch,
    bounded_metadata,
    normalised_email,
    trimmed_name,
)

__all__ = [
    "DEFAULT_COUNTRY",
    "METADATA_MAX_BYTES",
    "METADATA_MAX_DEPTH",
    "METADATA_MAX_KEYS",
    "PHONE_PATTERN",
    "Actor",
    "ConsultantCreate",
    "ConsultantPatch",
    "DashboardQuery",
    "LeadCreate",
    "LeadPatch",
    "bounded_metadata",
    "default_country",
    "normalise_phone",
    "normalised_email",
    "set_default_country",
    "trimmed_name",
]
