"""Lívia's conversations in wa-livia's own tables, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from leadflow.bus import Delivery
from leadflow.events import (
    ConsultantRef,
    LeadAssigned,
    LeadSource,
    LeadStatus,
    LiviaStage,
    LiviaTurnDecided,
    LiviaTurnRequested,
    WhatsAppMessageReceived,
)
from leadflow.rpc import Forbidden
from leadflow.testing.factories import a_lead
from leadflow.testing.recording import statements_run
from wa_livia.testing import LEAD_PHONE, LiviaUnderTest, livia_under_test, message_to_livia

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ADMIN = {"id": "admin-1", "role": "admin"}
PHONE = LEAD_PHONE


def inbound(text: str, wa_id: str, seconds: int = 0, **options: Any) -> WhatsAppMessageReceived:
    return message_to_livia(text, wa_id, T0 + timedelta(seconds=seconds), **options)


def of(published: list[Delivery], name: str) -> list[Any]:
    return [d.event() for d in published if d.routing_key == name]


def decided(
    turn: LiviaTurnRequested,
    reply: str,
    stage: LiviaStage,
    kind: str = "conversation",
    **collected: Any,
) -> LiviaTurnDecided:
    return LiviaTurnDecided(
        lead_id=turn.lead_id,
        conversation_id=turn.conversation_id,
        chat_jid=turn.chat_jid,
        reply=reply,
        stage=stage,
        collected={**turn.collected, **collected},
        answered_by="script",
        kind=kind,
    )


def assigned(
    lead_id: str, name: str, consultant: str, source: LeadSource = LeadSource.WHATSAPP
) -> LeadAssigned:
    lead = a_lead(
        id=lead_id,
        name=name,
        phone=PHONE,
        source=source,
        status=LeadStatus.QUALIFIED,
        consultant_id="carla-1",
        consultant=ConsultantRef(id="carla-1", name=consultant, email="carla@example.com"),
        version=3,
    )
    return LeadAssigned(lead=lead, rule="round_robin")


async def first_turn(livia: LiviaUnderTest, text: str = "Oi") -> LiviaTurnRequested:
    await livia.conversations.on_whatsapp_message(inbound(text, "first"))
    turns = of(await livia.flush_outbox(), "livia.turn_requested")
    return turns[-1]  # type: ignore[no-any-return]


async def hand_off(livia: LiviaUnderTest, turn: LiviaTurnRequested, reply: str) -> None:
    """The brain decided the transfer of Marina Lopes, saying `reply`."""
    await livia.conversations.on_turn_decided(
        decided(turn, reply, LiviaStage.TRANSFERRED, full_name="Marina Lopes")
    )


async def test_a_message_from_an_unknown_number_starts_a_conversation_and_a_turn(
    livia: LiviaUnderTest,
) -> None:
    await livia.conversations.on_whatsapp_message(inbound("Oi, quero financiar um carro", "w1"))
    await livia.conversations.on_whatsapp_message(inbound("Oi, quero financiar um carro", "w1"))
    [turn] = of(await livia.flush_outbox(), "livia.turn_requested")  # the redelivery: ignored
    assert turn.lead_id == livia.leads.by_phone[PHONE].id
    assert (turn.stage, turn.new_messages, turn.history) == (
        LiviaStage.INTRO,
        ["Oi, quero financiar um carro"],
        [],
    )
    assert turn.chat_jid == "5511955554444@s.whatsapp.net"


async def test_every_message_is_stored_once_in_the_transcript(livia: LiviaUnderTest) -> None:
    turn = await first_turn(livia)
    answer = decided(turn, "Olá! Sou a Lívia", LiviaStage.INTRO)
    await livia.conversations.on_turn_decided(answer)
    await livia.conversations.on_turn_decided(answer)  # redelivered
    view = await livia.conversations.conversation({"lead_id": turn.lead_id})
    assert view is not None
    assert [(m["direction"], m["author"], m["text"]) for m in view["messages"]] == [
        ("in", "lead", "Oi"),
        ("out", "livia", "Olá! Sou a Lívia"),
    ]
    [send] = of(await livia.flush_outbox(), "whatsapp.livia.send_message")
    assert (send.chat_jid, send.text, send.sender) == (turn.chat_jid, "Olá! Sou a Lívia", "livia")


@pytest.mark.parametrize("debounce_ms", [300])
async def test_a_burst_is_answered_once_in_whatsapp_timestamp_order(
    livia: LiviaUnderTest,
) -> None:
    # Arrival order differs from WhatsApp's own timestamps.
    await livia.conversations.on_whatsapp_message(inbound("tenho 30 mil de entrada", "b2", 2))
    await livia.conversations.on_whatsapp_message(inbound("oi", "b1", 0))
    await livia.conversations.on_whatsapp_message(inbound("e ganho 8 mil", "b3", 5))
    assert await livia.conversations.run_due_turns() == 0  # still inside the window
    await asyncio.sleep(0.35)  # the debounce window itself, not luck
    assert await livia.conversations.run_due_turns() == 1
    [turn] = of(await livia.flush_outbox(), "livia.turn_requested")
    assert turn.new_messages == ["oi", "tenho 30 mil de entrada", "e ganho 8 mil"]


async def test_a_person_answering_from_livias_phone_pauses_her_until_resumed(
    livia: LiviaUnderTest,
) -> None:
    await livia.conversations.on_whatsapp_message(inbound("Oi", "p1", 0))
    [turn] = of(await livia.flush_outbox(), "livia.turn_requested")
    await livia.conversations.on_whatsapp_message(
        inbound("Oi, aqui é a Paula!", "p2", 1, from_me=True)
    )
    # Lívia's answer to the earlier turn arrives after the person spoke: dropped.
    await livia.conversations.on_turn_decided(decided(turn, "Olá! Sou a Lívia", LiviaStage.INTRO))
    await livia.conversations.on_whatsapp_message(inbound("Quero um apartamento", "p3", 2))
    published = await livia.flush_outbox()
    assert of(published, "whatsapp.livia.send_message") == []
    assert len(of(published, "livia.turn_requested")) == 1
    assert [e.lead_id for e in of(published, "livia.paused")] == [turn.lead_id]

    resumed = await livia.conversations.resume({"actor": ADMIN, "id": turn.lead_id})
    assert resumed["paused"] is False
    assert [(m["author"], m["text"]) for m in resumed["messages"]] == [
        ("lead", "Oi"),
        ("human", "Oi, aqui é a Paula!"),
        ("lead", "Quero um apartamento"),
    ]
    published = await livia.flush_outbox()
    [resumed_event] = of(published, "livia.resumed")
    assert (resumed_event.lead_id, resumed_event.actor_id) == (turn.lead_id, ADMIN["id"])
    turns = of(published, "livia.turn_requested")
    assert turns[-1].new_messages == ["Quero um apartamento"]
    assert [line.text for line in turns[-1].history] == ["Oi", "Oi, aqui é a Paula!"]


async def test_a_consultant_may_not_resume_livia(livia: LiviaUnderTest) -> None:
    turn = await first_turn(livia)
    with pytest.raises(Forbidden):
        await livia.conversations.resume(
            {"actor": {"id": "c", "role": "consultant"}, "id": turn.lead_id}
        )


async def test_transfer_qualifies_the_lead_and_the_consultant_is_introduced_once_assigned(
    livia: LiviaUnderTest,
) -> None:
    turn = await first_turn(livia)
    await hand_off(livia, turn, "Perfeito, vou te passar!")
    published = await livia.flush_outbox()
    [qualified] = of(published, "livia.lead_qualified")
    assert (qualified.lead_id, qualified.collected["full_name"]) == (turn.lead_id, "Marina Lopes")
    [stage] = of(published, "livia.stage_changed")
    assert (stage.previous_stage, stage.stage) == (LiviaStage.INTRO, LiviaStage.TRANSFERRED)

    assignment = assigned(turn.lead_id, "Marina Lopes", "Carla Souza")
    await livia.conversations.on_lead_assigned(assignment)
    await livia.conversations.on_lead_assigned(assignment)  # redelivered
    [announce] = [t for t in of(await livia.flush_outbox(), "livia.turn_requested")[1:]]
    # The brain words the introduction: who, and the number they write from (not Lívia's).
    assert announce.announce_consultant and announce.new_messages == []
    assert (announce.consultant_name, announce.consultant_phone) == (
        "Carla Souza",
        "+5511900000001",
    )
    await livia.conversations.on_turn_decided(
        decided(
            announce,
            "Marina, a Carla Souza vai falar com você pelo WhatsApp +5511900000001.",
            LiviaStage.TRANSFERRED,
            "consultant_assigned",
        )
    )
    texts = [s.text for s in of(await livia.flush_outbox(), "whatsapp.livia.send_message")]
    assert texts == [
        "Perfeito, vou te passar!",
        "Marina, a Carla Souza vai falar com você pelo WhatsApp +5511900000001.",
    ]


async def test_a_lead_that_already_had_a_consultant_is_introduced_at_the_transfer(
    livia: LiviaUnderTest,
) -> None:
    turn = await first_turn(livia)
    await livia.conversations.on_lead_assigned(assigned(turn.lead_id, "Marina", "Carla Souza"))
    assert of(await livia.flush_outbox(), "livia.turn_requested") == [turn]  # not yet
    await livia.conversations.on_turn_decided(
        decided(turn, "Vou te passar!", LiviaStage.TRANSFERRED)
    )
    announce = of(await livia.flush_outbox(), "livia.turn_requested")[-1]
    assert announce.announce_consultant and announce.consultant_name == "Carla Souza"


async def test_the_assignment_of_a_lead_she_never_spoke_with_costs_no_database_work(
    livia: LiviaUnderTest,
) -> None:
    """Issue 19: every lead.assigned reaches wa-livia; most leads never wrote to her."""
    await first_turn(livia)
    with statements_run(livia.store.engine) as statements:
        await livia.conversations.on_lead_assigned(assigned("lead-from-the-site", "Rui", "Carla"))
    assert statements == []


async def test_after_a_restart_the_assignment_of_her_lead_still_reaches_the_conversation(
    database_url: str,
) -> None:
    """Marina's lead came from the website before she wrote to Lívia: it keeps its source."""
    async with livia_under_test(database_url) as livia:
        turn = await first_turn(livia)
        await hand_off(livia, turn, "Vou te passar!")
    async with livia_under_test(database_url) as restarted:
        await restarted.conversations.on_lead_assigned(
            assigned(turn.lead_id, "Marina Lopes", "Carla Souza", LeadSource.WEBSITE)
        )
        announce = of(await restarted.flush_outbox(), "livia.turn_requested")[-1]
    assert announce.announce_consultant and announce.consultant_name == "Carla Souza"


async def test_after_the_handoff_a_lead_is_answered_and_the_consultant_reminded_once(
    livia: LiviaUnderTest,
) -> None:
    turn = await first_turn(livia)
    await hand_off(livia, turn, "Vou te passar!")
    await livia.conversations.on_lead_assigned(
        assigned(turn.lead_id, "Marina Lopes", "Carla Souza")
    )
    before = len(of(await livia.flush_outbox(), "whatsapp.livia.send_message"))

    for n, text in enumerate(["Oi Lívia, ainda não falaram comigo", "???"]):
        await livia.conversations.on_whatsapp_message(inbound(text, f"after{n}", 60 + n))
        after = of(await livia.flush_outbox(), "livia.turn_requested")[-1]
        # The brain is told who the consultant is and which number they write from.
        assert (after.stage, after.new_messages, after.consultant_name) == (
            LiviaStage.TRANSFERRED,
            [text],
            "Carla Souza",
        )
        assert after.consultant_phone == "+5511900000001"
        await livia.conversations.on_turn_decided(
            decided(
                after, f"A Carla vai falar com você ({n})", LiviaStage.TRANSFERRED, "after_handoff"
            )
        )
    published = await livia.flush_outbox()
    replies = [r.text for r in of(published, "whatsapp.livia.send_message")[before:]]
    assert replies == ["A Carla vai falar com você (0)", "A Carla vai falar com você (1)"]
    [waiting] = of(published, "livia.lead_waiting")  # reminded once, not per message
    assert (waiting.lead_id, waiting.consultant_id, waiting.text) == (
        turn.lead_id,
        "carla-1",
        "Oi Lívia, ainda não falaram comigo",
    )
    view = await livia.conversations.conversation({"lead_id": turn.lead_id})
    assert view is not None and view["stage"] == "TRANSFERRED"


async def test_a_late_decision_from_before_the_handoff_does_not_undo_it(
    livia: LiviaUnderTest,
) -> None:
    turn = await first_turn(livia)
    late = decided(turn, "Qual a sua renda?", LiviaStage.QUALIFICATION)
    await hand_off(livia, turn, "Vou te passar!")
    await livia.conversations.on_turn_decided(late)
    view = await livia.conversations.conversation({"lead_id": turn.lead_id})
    assert view is not None and view["stage"] == "TRANSFERRED"
    assert [m["text"] for m in view["messages"] if m["author"] == "livia"] == ["Vou te passar!"]


async def test_a_transcribed_voice_note_is_a_turn_and_shows_its_words(
    livia: LiviaUnderTest,
) -> None:
    await livia.conversations.on_whatsapp_message(
        inbound("[audio]", "a1", audio=True, transcript="quero financiar um apartamento")
    )
    [turn] = of(await livia.flush_outbox(), "livia.turn_requested")
    assert turn.new_messages == ["quero financiar um apartamento"]
    view = await livia.conversations.conversation({"lead_id": turn.lead_id})
    assert view is not None
    [message] = view["messages"]
    assert (message["media_type"], message["transcript"], message["text"]) == (
        "audio",
        "quero financiar um apartamento",
        "quero financiar um apartamento",
    )


async def test_a_voice_note_nobody_could_transcribe_is_counted_for_the_brain(
    livia: LiviaUnderTest,
) -> None:
    await livia.conversations.on_whatsapp_message(inbound("[audio]", "u1", audio=True))
    [turn] = of(await livia.flush_outbox(), "livia.turn_requested")
    assert (turn.new_messages, turn.audio_not_transcribed) == ([], 1)
    view = await livia.conversations.conversation({"lead_id": turn.lead_id})
    assert view is not None
    [message] = view["messages"]
    assert (message["media_type"], message["transcript"], message["text"]) == (
        "audio",
        None,
        "[audio]",
    )


async def test_the_dashboard_counts_her_conversations_and_hand_offs_for_whom_may_see_them(
    livia: LiviaUnderTest,
) -> None:
    turn = await first_turn(livia)
    before = await livia.conversations.figures({"actor": ADMIN})
    assert before == {"conversations": 1, "completed": 0, "completion_rate": 0.0}
    await hand_off(livia, turn, "Vou te passar para a Carla!")
    await livia.conversations.on_lead_assigned(assigned(turn.lead_id, "Marina Lopes", "Carla"))

    def asking(who: str, role: str, **since: str) -> dict[str, Any]:
        return {"actor": {"id": who, "role": role}, **since}

    done = {"conversations": 1, "completed": 1, "completion_rate": 1.0}
    assert await livia.conversations.figures(asking("admin-1", "admin")) == done
    assert await livia.conversations.figures(asking("carla-1", "consultant")) == done
    nobody = {"conversations": 0, "completed": 0, "completion_rate": None}
    assert await livia.conversations.figures(asking("bia-1", "consultant")) == nobody
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert await livia.conversations.figures(asking("admin-1", "admin", since=later)) == nobody
