"""Every frame realtime builds is one the AsyncAPI document describes, and vice versa."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator
from leadflow.asyncapi import asyncapi_document
from leadflow.events import (
    LeadAssigned,
    LeadCreated,
    LeadScored,
    LeadSource,
    LeadStatus,
    LeadUpdated,
    LeadView,
    LiviaStage,
    LiviaStageChanged,
    MessageStatus,
    SessionName,
    SessionStatus,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
    WhatsAppSessionStatusChanged,
)
from leadflow.events.frames import SERVER_FRAMES
from leadflow.testing.factories import a_lead
from realtime.domain import Frame, LeadOwners, frames_for, resync_frame

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REPLIES = {"room_joined", "room_left", "pong", "error"}  # built by the socket handler


def lead(owner: str | None = "ana") -> LeadView:
    return a_lead(
        name="Marina",
        source=LeadSource.WHATSAPP,
        status=LeadStatus.QUALIFIED,
        consultant_id=owner,
        version=3,
    )


def every_kind_of_frame() -> list[Frame]:
    owners = LeadOwners()
    jid = "5511987650001@s.whatsapp.net"
    events = [
        LeadCreated(lead=lead(None)),
        LeadUpdated(lead=lead(), changed=["status"]),
        LeadScored(lead=lead(), changed=["ai_score"]),
        LeadAssigned(lead=lead(), rule="round_robin"),
        LeadAssigned(lead=lead("bia"), rule="sla", previous_consultant_id="ana"),
        WhatsAppMessageReceived(
            session=SessionName.CONSULTANT,
            wa_message_id="w1",
            chat_jid=jid,
            phone="+5511987650001",
            text="oi",
            sent_at=NOW,
        ),
        WhatsAppMessageStatusChanged(
            session=SessionName.CONSULTANT,
            message_id="m1",
            wa_message_id="w2",
            chat_jid=jid,
            status=MessageStatus.DELIVERED,
        ),
        WhatsAppSessionStatusChanged(
            session=SessionName.LIVIA, status=SessionStatus.CONNECTED, since=NOW
        ),
        LiviaStageChanged(
            lead_id="lead-1",
            conversation_id="c1",
            previous_stage=LiviaStage.INTRO,
            stage=LiviaStage.QUALIFICATION,
        ),
    ]
    return [frame for event in events for frame in frames_for(event, owners)] + [resync_frame()]


def payload_validator(document: dict[str, Any], event: str) -> Draft202012Validator:
    key = "frame." + event.replace(":", ".")
    schema = {**document, "$ref": f"#/components/messages/{key}/payload"}
    return Draft202012Validator(schema)


def test_every_frame_realtime_builds_matches_its_documented_payload() -> None:
    document = asyncapi_document()
    built = every_kind_of_frame()
    for frame in built:
        sent = json.loads(frame.encode())
        errors = list(payload_validator(document, frame.event).iter_errors(sent))
        assert errors == [], (frame.event, [e.message for e in errors])
    documented = set(SERVER_FRAMES) - REPLIES
    assert {frame.event for frame in built} == documented


def test_a_frame_that_breaks_its_schema_is_caught() -> None:
    document = asyncapi_document()
    [frame] = frames_for(LeadCreated(lead=lead()), LeadOwners())
    sent = json.loads(frame.encode())
    del sent["data"]["phone"]
    assert not payload_validator(document, frame.event).is_valid(sent)
