"""Settings of the assignment service: the shared ones, plus its own knobs."""

from __future__ import annotations

from enum import StrEnum

from leadflow.settings import Settings
from pydantic import Field


class AssignmentPolicy(StrEnum):
    ROUND_ROBIN = "round_robin"
    CAPACITY = "capacity"


class AssignmentSettings(Settings):
    assignment_policy: AssignmentPolicy = Field(
        AssignmentPolicy.ROUND_ROBIN,
        validation_alias="ASSIGNMENT_POLICY",
        description="capacity: skip consultants at their max_open_leads",
    )
    assignment_skip_offline: bool = Field(
        False,
        validation_alias="ASSIGNMENT_SKIP_OFFLINE",
        description="only consultants connected to realtime, unless nobody is",
    )
    assignment_sla_minutes: float | None = Field(
        None,
        validation_alias="ASSIGNMENT_SLA_MINUTES",
        gt=0,
        description="reassign a lead nobody has worked this long after assignment",
    )
