"""Lívia's replies as a lead reads them: greetings, varied phrasing, Brazilian numbers,
computed answers to questions, the truth about the hand-off, voice notes, and reasons that
say what she said."""

from __future__ import annotations

from typing import Any

import pytest
from ai.livia.conversation import Decision, TurnContext, decide
from ai.livia.simulation import run_simulation, simulate
from ai.livia.texts import brl
from ai.rules import classify_by_rules
from leadflow.events import LeadSource, LeadStatus, LiviaStage
from leadflow.testing.factories import a_lead

CONSULTANT = TurnContext(consultant_name="Rafael", consultant_phone="+5541999990000")


def talk(lines: list[str], context: TurnContext = CONSULTANT) -> list[Decision]:
    """A whole conversation, one message per turn, as the conversation side runs it."""
    stage, collected, said = LiviaStage.INTRO, {}, []  # type: ignore[var-annotated]
    decisions = []
    for line in lines:
        turn = TurnContext(
            consultant_name=context.consultant_name,
            consultant_phone=context.consultant_phone,
            said_before=tuple(said),
        )
        decision = decide(stage, collected, [line], None, turn)
        decisions.append(decision)
        stage, collected = decision.stage, decision.collected
        if decision.reply:
            said.append(decision.reply)
    return decisions


ONE_AT_A_TIME = [
    "Boa tarde",
    "Marcos Pereira",
    "quero um apartamento",
    "uns 450 mil",
    "90 mil",
    "15 mil",
    "30 anos",
    "Curitiba - PR",
    "de manhã",
]


def test_a_greeting_is_greeted_and_the_name_and_later_the_contact_time_are_still_asked() -> None:
    decisions = talk(ONE_AT_A_TIME)
    first = decisions[0]
    assert first.reply is not None and first.reply.startswith("Boa tarde!")
    assert "nome" in first.reply and "contact_time" not in first.collected
    asked_time = [d for d in decisions if d.reply and "manhã" in d.reply and "noite" in d.reply]
    assert asked_time, "she never asked for the contact time"
    assert decisions[-1].stage is LiviaStage.SIMULATION
    assert decisions[-1].collected["contact_time"] == "manhã"
    assert decisions[-1].collected["city"] == "Curitiba"


def test_a_greeting_later_in_the_conversation_is_greeted_and_the_question_repeated() -> None:
    decision = decide(LiviaStage.QUALIFICATION, {"full_name": "Ana"}, ["Bom dia!"])
    assert decision.reply == "Bom dia! Você quer financiar um imóvel ou um veículo?"


def test_her_phrasing_varies_from_turn_to_turn() -> None:
    replies = [d.reply or "" for d in talk(ONE_AT_A_TIME)[1:-1]]
    openers = [reply.split(" ")[0] for reply in replies]
    assert len(set(openers)) >= 4, openers
    assert sum(reply.startswith("Perfeito") for reply in replies) <= 2


def test_rates_money_and_terms_are_written_the_brazilian_way() -> None:
    simulation = talk(ONE_AT_A_TIME)[-1].reply or ""
    assert "0,99% ao mês" in simulation and "R$ 360.000,00" in simulation
    assert "360 meses (30 anos)" in simulation
    assert brl(1234567.891) == "R$ 1.234.567,89"


def test_term_examples_fit_the_asset() -> None:
    vehicle = decide(
        LiviaStage.QUALIFICATION,
        {"full_name": "Ana", "asset_type": "vehicle", "asset_value": 80_000.0},
        ["10 mil de entrada, ganho 5 mil"],
    ).reply
    assert vehicle is not None and "48" in vehicle and "meses" in vehicle and "anos" not in vehicle
    property_ = decide(
        LiviaStage.QUALIFICATION,
        {"full_name": "Ana", "asset_type": "property", "asset_value": 400_000.0},
        ["80 mil de entrada, ganho 15 mil"],
    ).reply
    assert property_ is not None and "30 anos" in property_


def simulated() -> Decision:
    return talk(ONE_AT_A_TIME)[-1]


def ask(question: str, after: Decision | None = None) -> Decision:
    after = after or simulated()
    return decide(after.stage, after.collected, [question], None, CONSULTANT)


def test_a_new_term_is_answered_with_the_installment_computed_in_code() -> None:
    before = simulated()
    answer = ask("quanto fica a parcela se for em 60 meses?", before)
    expected = simulate(450_000, 90_000, 60, 0.0099, 15_000, system="SAC")
    assert answer.reply is not None and brl(expected.first_installment) in answer.reply
    assert "60 meses" in answer.reply and "(sim/não)" in answer.reply
    assert answer.stage is LiviaStage.CONVERSION and answer.kind == "answer"
    assert answer.collected["term_months"] == 360  # a question, not a change of plan
    assert answer.collected["simulation"] == before.collected["simulation"]


def test_a_different_down_payment_is_simulated() -> None:
    answer = ask("e se eu der 150 mil de entrada?")
    expected = simulate(450_000, 150_000, 360, 0.0099, 15_000, system="SAC")
    assert answer.reply is not None and "R$ 300.000,00" in answer.reply
    assert brl(expected.first_installment) in answer.reply


def test_a_term_asked_about_while_answering_the_term_is_answered_and_not_kept() -> None:
    before_term = talk(ONE_AT_A_TIME[:6])[-1]
    answer = decide(
        before_term.stage,
        before_term.collected,
        ["30 anos… quanto fica a parcela se for em 20 anos?"],
        None,
        CONSULTANT,
    )
    in_20_years = simulate(450_000, 90_000, 240, 0.0099, 15_000, system="SAC")
    assert answer.collected["term_months"] == 360
    assert answer.reply is not None and brl(in_20_years.first_installment) in answer.reply
    assert "240 meses" in answer.reply and "cidade" in answer.reply  # and she goes on
    assert answer.stage is LiviaStage.QUALIFICATION


@pytest.mark.parametrize("question", ["e em 20 anos?", "e se fosse em 240x?"])
def test_a_term_asked_about_after_the_simulation_is_not_the_leads_choice(question: str) -> None:
    answer = ask(question)
    expected = simulate(450_000, 90_000, 240, 0.0099, 15_000, system="SAC")
    assert answer.reply is not None and brl(expected.first_installment) in answer.reply
    assert answer.collected["term_months"] == 360 and answer.kind == "answer"


def test_a_term_the_lead_says_they_want_is_kept_and_simulated_again() -> None:
    chosen = ask("quero em 20 anos então")
    expected = simulate(450_000, 90_000, 240, 0.0099, 15_000, system="SAC")
    assert chosen.collected["term_months"] == 240 and chosen.kind == "simulation"
    assert chosen.collected["simulation"]["first_installment"] == pytest.approx(
        expected.first_installment, abs=0.01
    )


def test_a_question_before_she_knows_the_value_is_not_taken_as_the_term() -> None:
    answer = decide(
        LiviaStage.QUALIFICATION,
        {"full_name": "Ana", "asset_type": "vehicle"},
        ["quanto fica em 60 meses?"],
    )
    assert "term_months" not in answer.collected
    assert answer.reply is not None and "assim que tiver os dados" in answer.reply


@pytest.mark.parametrize(
    "exclamation", ["nossa, que calor hoje hein", "nossa senhora!", "caramba", "vixe"]
)
def test_an_exclamation_is_not_a_city_and_the_city_is_asked_again(exclamation: str) -> None:
    before_city = talk(ONE_AT_A_TIME[:7])[-1]
    answer = decide(before_city.stage, before_city.collected, [exclamation], None, CONSULTANT)
    assert "city" not in answer.collected
    assert answer.reply is not None and "cidade" in answer.reply
    assert "não entendi" not in answer.reply.lower() and "não consegui" not in answer.reply.lower()


def test_price_and_sac_are_compared_with_numbers() -> None:
    answer = ask("qual a diferença entre price e sac?")
    price = simulate(450_000, 90_000, 360, 0.0099, None, system="PRICE")
    sac = simulate(450_000, 90_000, 360, 0.0099, None, system="SAC")
    assert answer.reply is not None
    assert brl(price.first_installment) in answer.reply
    assert brl(sac.first_installment) in answer.reply and brl(sac.last_installment) in answer.reply


@pytest.mark.parametrize("stage", ["before", "after"])
def test_the_rate_question_states_the_rate_used(stage: str) -> None:
    if stage == "after":
        answer = ask("qual a taxa de juros de vocês?")
    else:
        answer = decide(
            LiviaStage.QUALIFICATION,
            {"full_name": "Ana", "asset_type": "property"},
            ["qual a taxa de juros de vocês?"],
        )
    assert answer.reply is not None and "0,99% ao mês" in answer.reply
    if stage == "before":
        assert "valor aproximado do imóvel" in answer.reply  # and she goes on


def test_a_correction_after_the_simulation_simulates_again() -> None:
    corrected = ask("na verdade ganho 20 mil")
    assert corrected.collected["monthly_income"] == 20_000
    assert corrected.collected["simulation"]["income_commitment"] == pytest.approx(
        corrected.collected["simulation"]["first_installment"] / 20_000, abs=1e-6
    )


def test_the_hand_off_names_the_consultant_and_the_number_they_write_from() -> None:
    handoff = ask("pode sim")
    assert handoff.stage is LiviaStage.TRANSFERRED and handoff.kind == "handoff"
    assert handoff.reply is not None
    assert "Rafael" in handoff.reply and "+5541999990000" in handoff.reply
    assert "por aqui mesmo" not in handoff.reply


@pytest.mark.parametrize(
    "complaint", ["Oi Lívia, ainda não falaram comigo", "ninguem me ligou ate agora"]
)
def test_at_the_consent_question_a_lead_nobody_called_yet_is_handed_off(complaint: str) -> None:
    """The "não" in it is about being left waiting, not a refusal of a consultant."""
    decision = ask(complaint)
    assert decision.kind == "handoff" and decision.stage is LiviaStage.TRANSFERRED
    assert ask("não, obrigado").stage is LiviaStage.CONVERSION  # a refusal still is one
    assert ask("agora nao").stage is LiviaStage.CONVERSION


def test_after_the_hand_off_one_true_answer_and_no_loop() -> None:
    handoff = ask("pode sim")
    said: tuple[str, ...] = (handoff.reply or "",)
    first = decide(
        handoff.stage,
        handoff.collected,
        ["Oi Lívia, ainda não falaram comigo"],
        None,
        TurnContext("Rafael", "+5541999990000", said_before=said),
    )
    assert first.kind == "after_handoff" and first.stage is LiviaStage.TRANSFERRED
    assert first.reply is not None and "Rafael" in first.reply and "+5541999990000" in first.reply
    again = decide(
        first.stage,
        first.collected,
        ["alô??"],
        None,
        TurnContext("Rafael", "+5541999990000", said_before=(*said, first.reply)),
    )
    assert again.reply is not None and again.reply != first.reply  # shorter, not a loop
    thanks = decide(first.stage, first.collected, ["ok, obrigado!"], None, CONSULTANT)
    assert thanks.reply is None  # nothing to answer to a thank-you


def test_without_a_consultant_yet_she_still_says_who_and_where_truthfully() -> None:
    handoff = ask("sim", simulated())
    unknown = decide(simulated().stage, simulated().collected, ["sim"])
    assert handoff.reply != unknown.reply
    assert unknown.reply is not None and "consultores" in unknown.reply
    assert "por aqui mesmo" not in unknown.reply


def test_a_voice_note_not_transcribed_gets_a_kind_request_for_text_once() -> None:
    collected: dict[str, Any] = {"full_name": "Ana", "asset_type": "property"}
    first = decide(
        LiviaStage.QUALIFICATION, collected, [], None, TurnContext(audio_not_transcribed=1)
    )
    assert first.kind == "ask_for_text" and first.stage is LiviaStage.QUALIFICATION
    assert first.reply is not None and "áudio" in first.reply and "escrever" in first.reply
    assert first.collected == collected
    second = decide(
        LiviaStage.QUALIFICATION,
        collected,
        [],
        None,
        TurnContext(audio_not_transcribed=1, said_before=(first.reply,)),
    )
    assert second.reply is not None and second.reply != first.reply


def test_ai_reasons_say_what_livia_told_the_lead_in_portuguese() -> None:
    final = simulated()
    sim = final.collected["simulation"]
    lead = a_lead(
        name="Marcos Pereira",
        source=LeadSource.WHATSAPP,
        status=LeadStatus.QUALIFIED,
        metadata={"collected": final.collected},
    )
    reasons = classify_by_rules(lead).reasons
    share = f"compromete {round(100 * sim['income_commitment'])}% da"
    assert final.reply is not None and share in final.reply
    assert any(share in reason for reason in reasons), reasons
    assert any(brl(sim["first_installment"]) in reason for reason in reasons)
    assert "dados: 8 de 8 informados (+24)" in reasons
    assert all("income" not in r and "details" not in r for r in reasons)


def test_one_computation_for_leads_livia_did_not_simulate() -> None:
    data = {"asset_type": "vehicle", "asset_value": 80_000, "down_payment": 20_000,
            "monthly_income": 6000, "term_months": 48}  # fmt: skip
    lead = a_lead(name="Ana", metadata=data)
    sim = run_simulation(data)
    assert any(brl(sim["first_installment"]) in r for r in classify_by_rules(lead).reasons)


def test_once_assigned_the_consultant_is_introduced_with_the_number_they_write_from() -> None:
    handoff = decide(simulated().stage, simulated().collected, ["sim"])
    assert handoff.reply is not None and "Em instantes te digo quem" in handoff.reply
    announced = decide(
        handoff.stage,
        handoff.collected,
        [],
        None,
        TurnContext("Carla Souza", "+5511911112222", announce_consultant=True),
    )
    assert announced.kind == "consultant_assigned" and announced.stage is LiviaStage.TRANSFERRED
    assert announced.reply is not None and announced.reply.startswith("Marcos, prontinho!")
    assert "Carla Souza" in announced.reply and "+5511911112222" in announced.reply
    assert "por aqui mesmo" not in announced.reply
