"""Lívia's conversations in the system of record, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from leadflow.bus import Delivery
from leadflow.events import (
    AssignmentDecided,
    LiviaStage,
    LiviaTurnDecided,
    LiviaTurnRequested,
    SessionName,
    WhatsAppMessageReceived,
)
from leadflow.rpc import Forbidden
from leadflow.testing.recording import delivery
from leads.accounts.handlers import AccountsHandlers
from leads.testing import LeadsUnderTest

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ADMIN = {"id": "admin-1", "role": "admin"}
PHONE = "+5511955554444"


def inbound(text: str, wa_id: str, seconds: int = 0, from_me: bool = False) -> Delivery:
    return delivery(
        WhatsAppMessageReceived(
            session=SessionName.LIVIA,
            wa_message_id=wa_id,
            chat_jid="5511955554444@s.whatsapp.net",
            phone=PHONE,
            push_name="Marina",
            text=text,
            sent_at=T0 + timedelta(seconds=seconds),
            from_me=from_me,
        )
    )


def of(published: list[Delivery], name: str) -> list[Any]:
    return [d.event() for d in published if d.routing_key == name]


def decided(turn: LiviaTurnRequested, reply: str, stage: LiviaStage, **collected: Any) -> Delivery:
    return delivery(
        LiviaTurnDecided(
            lead_id=turn.lead_id,
            conversation_id=turn.conversation_id,
            chat_jid=turn.chat_jid,
            reply=reply,
            stage=stage,
            collected={**turn.collected, **collected},
            answered_by="script",
        )
    )


async def test_a_message_from_an_unknown_number_starts_a_lead_and_a_turn(
    leads: LeadsUnderTest,
) -> None:
    await leads.conversations.on_whatsapp_message(inbound("Oi, quero financiar um carro", "w1"))
    await leads.conversations.on_whatsapp_message(inbound("Oi, quero financiar um carro", "w1"))
    published = await leads.flush_outbox()
    [created] = of(published, "lead.created")
    assert (created.lead.phone, created.lead.source, created.lead.status) == (
        PHONE,
        "whatsapp",
        "QUALIFYING",
    )
    assert created.lead.name == "Marina"
    [turn] = of(published, "livia.turn_requested")  # the redelivery was ignored
    assert (turn.stage, turn.new_messages, turn.history) == (
        LiviaStage.INTRO,
        ["Oi, quero financiar um carro"],
        [],
    )
    assert turn.chat_jid == "5511955554444@s.whatsapp.net"


@pytest.mark.parametrize("debounce_ms", [300])
async def test_a_burst_is_answered_once_in_whatsapp_timestamp_order(leads: LeadsUnderTest) -> None:
    # Arrival order differs from WhatsApp's own timestamps.
    await leads.conversations.on_whatsapp_message(inbound("tenho 30 mil de entrada", "b2", 2))
    await leads.conversations.on_whatsapp_message(inbound("oi", "b1", 0))
    await leads.conversations.on_whatsapp_message(inbound("e ganho 8 mil", "b3", 5))
    assert await leads.conversations.run_due_turns() == 0  # still inside the window
    await _after(0.35)
    assert await leads.conversations.run_due_turns() == 1
    [turn] = of(await leads.flush_outbox(), "livia.turn_requested")
    assert turn.new_messages == ["oi", "tenho 30 mil de entrada", "e ganho 8 mil"]


async def test_a_person_answering_from_livias_phone_pauses_her_until_resumed(
    leads: LeadsUnderTest,
) -> None:
    await leads.conversations.on_whatsapp_message(inbound("Oi", "p1", 0))
    [turn] = of(await leads.flush_outbox(), "livia.turn_requested")
    await leads.conversations.on_whatsapp_message(
        inbound("Oi, aqui é a Paula!", "p2", 1, from_me=True)
    )
    # Lívia's answer to the earlier turn arrives after the person spoke: dropped.
    await leads.conversations.on_turn_decided(decided(turn, "Olá! Sou a Lívia", LiviaStage.INTRO))
    await leads.conversations.on_whatsapp_message(inbound("Quero um apartamento", "p3", 2))
    published = await leads.flush_outbox()
    assert of(published, "whatsapp.livia.send_message") == []
    assert len(of(published, "livia.turn_requested")) == 1

    resumed = await leads.conversations.resume({"actor": ADMIN, "id": turn.lead_id})
    assert resumed["paused"] is False
    assert [(m["author"], m["text"]) for m in resumed["messages"]] == [
        ("lead", "Oi"),
        ("human", "Oi, aqui é a Paula!"),
        ("lead", "Quero um apartamento"),
    ]
    turns = of(await leads.flush_outbox(), "livia.turn_requested")
    assert turns[-1].new_messages == ["Quero um apartamento"]
    assert [line.text for line in turns[-1].history] == ["Oi", "Oi, aqui é a Paula!"]


async def test_a_consultant_may_not_resume_livia(leads: LeadsUnderTest) -> None:
    await leads.conversations.on_whatsapp_message(inbound("Oi", "c1"))
    [turn] = of(await leads.flush_outbox(), "livia.turn_requested")
    with pytest.raises(Forbidden):
        await leads.conversations.resume(
            {"actor": {"id": "c", "role": "consultant"}, "id": turn.lead_id}
        )


async def test_transfer_qualifies_the_lead_and_the_handoff_names_the_consultant_once(
    leads: LeadsUnderTest,
) -> None:
    accounts = AccountsHandlers(leads.handlers.sessions, leads.relay, PasswordHasher(), 3600)
    carla = await accounts.create_consultant(
        {
            "actor": ADMIN,
            "data": {
                "name": "Carla Souza",
                "email": "carla@example.com",
                "password": "pw-12345678",
            },
        }
    )
    await leads.conversations.on_whatsapp_message(inbound("Oi", "t1"))
    [turn] = of(await leads.flush_outbox(), "livia.turn_requested")
    await leads.conversations.on_turn_decided(
        decided(turn, "Perfeito, vou te passar!", LiviaStage.TRANSFERRED, full_name="Marina Lopes")
    )
    published = await leads.flush_outbox()
    [update] = of(published, "lead.updated")
    assert (update.lead.status, update.lead.name) == ("QUALIFIED", "Marina Lopes")
    assert update.lead.metadata["collected"]["full_name"] == "Marina Lopes"
    [stage] = of(published, "livia.stage_changed")
    assert (stage.previous_stage, stage.stage) == (LiviaStage.INTRO, LiviaStage.TRANSFERRED)

    decision = AssignmentDecided(
        lead_id=turn.lead_id, consultant_id=carla["id"], rule="round_robin"
    )
    await leads.handlers.on_assignment_decided(decision)
    await leads.handlers.on_assignment_decided(decision)  # redelivered
    await leads.conversations.on_whatsapp_message(inbound("obrigada!", "t2", 9))
    sends = of(await leads.flush_outbox(), "whatsapp.livia.send_message")
    texts = [send.text for send in sends]
    assert len(texts) == 2 and texts[0] == "Perfeito, vou te passar!"
    assert "Carla Souza" in texts[1] and texts[1].startswith("Marina, prontinho!")
    # Silent after TRANSFERRED: "obrigada!" asked for no new turn.
    assert len(of(leads.published, "livia.turn_requested")) == 1


async def _after(seconds: float) -> None:
    await asyncio.sleep(seconds)
