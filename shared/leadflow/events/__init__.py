"""Event and command schemas: the only way services know each other."""

from leadflow.events.base import (
    EVENT_TYPES,
    Event,
    UnknownEvent,
    derived_event_id,
    parse_event,
    utcnow,
)
from leadflow.events.leads import (
    ConsultantRef,
    ConsultantSaved,
    ConsultantView,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadCreated,
    LeadSource,
    LeadStatus,
    LeadUpdated,
    LeadView,
    Role,
    Temperature,
)
from leadflow.events.pipeline import AssignmentDecided, LeadClassified

__all__ = [
    "EVENT_TYPES",
    "AssignmentDecided",
    "ConsultantRef",
    "ConsultantSaved",
    "ConsultantView",
    "Event",
    "LeadAssigned",
    "LeadAssignmentRequested",
    "LeadClassified",
    "LeadCreated",
    "LeadSource",
    "LeadStatus",
    "LeadUpdated",
    "LeadView",
    "Role",
    "Temperature",
    "UnknownEvent",
    "derived_event_id",
    "parse_event",
    "utcnow",
]
