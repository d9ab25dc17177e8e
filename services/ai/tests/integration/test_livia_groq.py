"""The Groq path behind the same interface as the script: a fake Groq drives a whole
conversation, and the code keeps the numbers, the hand-off and the answers to questions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from ai.classifier import Classifier
from ai.groq_gateway import GroqJson
from ai.livia.brain import Livia
from ai.livia.conversation import TurnContext
from ai.livia.extraction import FIELDS
from ai.rules import classify_by_rules
from leadflow.events import ConversationLine, LeadSource, LeadStatus, LiviaStage
from leadflow.testing.factories import a_lead
from leadflow.testing.fake_groq import FakeGroq, Reply, json_answer

MODEL_REPLY = "Que bom falar com você! Me conta mais?"


def model(request: dict[str, Any]) -> Reply:
    """A stand-in model: takes the message as the answer to what Lívia had asked."""
    prompt = json.loads(request["messages"][1]["content"])
    message = " ".join(prompt["messages"]).strip()
    wanted = next((name for name in FIELDS if name not in prompt["known"]), None)
    extracted = {wanted: message} if wanted and message.lower() not in ("oi", "sim") else {}
    return json_answer({"reply": MODEL_REPLY, "extracted": extracted})


@pytest.fixture
def fake() -> Iterator[FakeGroq]:
    with FakeGroq(model) as server:
        yield server


async def test_a_fake_groq_drives_a_whole_conversation_to_the_hand_off(fake: FakeGroq) -> None:
    livia = Livia(GroqJson(api_key="t", base_url=fake.base_url, model="llama-test"))
    stage, collected = LiviaStage.INTRO, {}  # type: ignore[var-annotated]
    history: list[ConversationLine] = []
    answers = ["Oi", "Marina Lopes", "property", "450000", "90000", "15000", "360",
               "Campinas", "manhã", "sim"]  # fmt: skip
    kinds = []
    for text in answers:
        decision, by = await livia.answer(
            stage, collected, history, [text], TurnContext("Carla", "+5511911112222")
        )
        kinds.append((decision.kind, by))
        history += [ConversationLine(direction="in", text=text)]
        history += [ConversationLine(direction="out", text=decision.reply or "")]
        stage, collected = decision.stage, decision.collected
    assert stage is LiviaStage.TRANSFERRED
    assert collected["asset_value"] == 450_000 and collected["down_payment"] == 90_000
    assert collected["simulation"]["principal"] == 360_000  # the code's numbers
    assert ("conversation", "groq") in kinds
    assert kinds[-2] == ("simulation", "script") and kinds[-1] == ("handoff", "script")
    assert "Carla" in (history[-1].text) and "+5511911112222" in history[-1].text
    await livia.groq.close()  # type: ignore[union-attr]


async def test_questions_after_hand_off_and_voice_notes_are_the_codes_words(
    fake: FakeGroq,
) -> None:
    livia = Livia(GroqJson(api_key="t", base_url=fake.base_url, model="llama-test"))
    asked, by = await livia.answer(
        LiviaStage.QUALIFICATION,
        {"full_name": "Ana", "asset_type": "property"},
        [],
        ["qual a taxa de juros de vocês?"],
    )
    assert by == "script" and asked.reply is not None and "0,99% ao mês" in asked.reply
    audio, by = await livia.answer(
        LiviaStage.QUALIFICATION, {"full_name": "Ana"}, [], [], TurnContext(audio_not_transcribed=1)
    )
    assert by == "script" and audio.kind == "ask_for_text"
    after, by = await livia.answer(
        LiviaStage.TRANSFERRED, {"full_name": "Ana"}, [], ["e aí?"], TurnContext("Carla", "+55119")
    )
    assert by == "script" and after.kind == "after_handoff"
    assert fake.requests == []  # none of these went to the model
    await livia.groq.close()  # type: ignore[union-attr]


async def test_groq_classification_is_given_the_figures_livia_told_the_lead(
    fake: FakeGroq,
) -> None:
    fake.default = lambda request: json_answer(
        {"temperature": "WARM", "score": 55, "reasons": ["parcela compromete 24% da renda"]}
    )
    collected = {"asset_type": "property", "asset_value": 450_000, "down_payment": 90_000,
                 "monthly_income": 15_000, "term_months": 360}  # fmt: skip
    lead = a_lead(
        name="Ana", source=LeadSource.WHATSAPP, status=LeadStatus.QUALIFIED,
        metadata={"collected": collected},
    )  # fmt: skip
    groq = GroqJson(api_key="t", base_url=fake.base_url, model="llama-test")
    result, by = await Classifier(groq).classify(lead)
    assert by == "groq" and result.reasons == ["parcela compromete 24% da renda"]
    [request] = fake.requests
    system, user = (m["content"] for m in request["messages"])
    assert "Brazilian Portuguese" in system
    assert json.loads(user)["computed"] == classify_by_rules(lead).reasons
    await groq.close()
