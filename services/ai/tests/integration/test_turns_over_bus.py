"""The ai service over the real broker: Lívia's turns as the conversation side asks for
them, and leads classified as leads publishes them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from ai.app import build
from leadflow.bus.base import QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import by_event_type, on
from leadflow.events import (
    LeadClassified,
    LeadCreated,
    LeadStatus,
    LeadUpdated,
    LeadView,
    LiviaStage,
    LiviaTurnDecided,
    LiviaTurnRequested,
)
from leadflow.settings import Settings
from leadflow.testing.factories import a_lead

Heard = tuple[RabbitBus, asyncio.Queue[LiviaTurnDecided], asyncio.Queue[LeadClassified]]


@pytest.fixture
async def ai_and_decisions(rabbitmq_url: str, namespace: str) -> AsyncIterator[Heard]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        RABBITMQ_URL=rabbitmq_url,
        BROKER_NAMESPACE=namespace,
    )
    service_bus = RabbitBus(rabbitmq_url, namespace=namespace)
    caller = RabbitBus(rabbitmq_url, namespace=namespace)
    decisions: asyncio.Queue[LiviaTurnDecided] = asyncio.Queue()
    classified: asyncio.Queue[LeadClassified] = asyncio.Queue()
    # exclusive to this connection: it goes with it
    spec = QueueSpec(
        "test.decisions", bindings=(LiviaTurnDecided.name, LeadClassified.name), per_replica=True
    )
    caller.consume(
        spec,
        by_event_type(on(LiviaTurnDecided, decisions.put), on(LeadClassified, classified.put)),
    )
    build(settings, service_bus)
    await service_bus.start()
    await caller.start()
    try:
        yield caller, decisions, classified
    finally:
        await caller.stop()
        await service_bus.stop()


def turn(stage: LiviaStage, messages: list[str], **extra: object) -> LiviaTurnRequested:
    return LiviaTurnRequested(
        lead_id="l1",
        conversation_id="c1",
        chat_jid="5541988887777@s.whatsapp.net",
        stage=stage,
        collected={"full_name": "Marcos Pereira", "asset_type": "property"},
        new_messages=messages,
        **extra,  # type: ignore[arg-type]
    )


async def test_turns_get_their_kind_and_the_consultants_number(ai_and_decisions: Heard) -> None:
    caller, decisions, _ = ai_and_decisions
    await caller.publish_event(turn(LiviaStage.QUALIFICATION, [], audio_not_transcribed=1))
    asked = await asyncio.wait_for(decisions.get(), timeout=20)
    assert asked.kind == "ask_for_text" and "áudio" in asked.reply
    await caller.publish_event(
        turn(
            LiviaStage.TRANSFERRED,
            ["Oi Lívia, ainda não falaram comigo"],
            consultant_name="Carla Souza",
            consultant_phone="+5511911112222",
        )
    )
    after = await asyncio.wait_for(decisions.get(), timeout=20)
    assert after.kind == "after_handoff" and after.stage is LiviaStage.TRANSFERRED
    assert "Carla Souza" in after.reply and "+5511911112222" in after.reply
    await caller.publish_event(
        turn(
            LiviaStage.TRANSFERRED,
            [],
            consultant_name="Carla Souza",
            consultant_phone="+5511911112222",
            announce_consultant=True,
        )
    )
    announced = await asyncio.wait_for(decisions.get(), timeout=20)
    assert announced.kind == "consultant_assigned" and "Marcos" in announced.reply


def lead(status: LeadStatus) -> LeadView:
    return a_lead(id=f"lead-{status.value}", status=status)


async def test_new_leads_and_leads_livia_qualified_are_classified_and_no_other_change(
    ai_and_decisions: Heard,
) -> None:
    caller, _, classified = ai_and_decisions
    await caller.publish_event(LeadCreated(lead=lead(LeadStatus.NEW)))
    await caller.publish_event(LeadUpdated(lead=lead(LeadStatus.CONTACTED), changed=["status"]))
    await caller.publish_event(LeadUpdated(lead=lead(LeadStatus.QUALIFIED), changed=["status"]))
    first = await asyncio.wait_for(classified.get(), timeout=20)
    second = await asyncio.wait_for(classified.get(), timeout=20)
    assert {first.lead_id, second.lead_id} == {"lead-NEW", "lead-QUALIFIED"}
    assert first.classified_by == "rules" and first.ai_reasons
