"""Extraction as Brazilians write on WhatsApp: the corpus, the known miss families, the cost."""

from __future__ import annotations

import time

import pytest
from ai.livia.extraction import MAX_CHARS, extract
from ai.livia.score import DEFAULT_CORPUS, TARGET, load, main, score


def test_the_corpus_scores_at_least_97_percent_on_every_field() -> None:
    rows = load([DEFAULT_CORPUS])
    assert len(rows) >= 150
    result = score(rows)
    assert result.overall >= TARGET, "\n".join(result.misses)
    for name, counted in result.counted.items():
        assert counted >= 10, f"the corpus hardly tests {name}"
        assert result.field_accuracy(name) >= TARGET, "\n".join(result.misses)


def test_the_score_command_prints_the_accuracy_per_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in ("full_name", "asset_value", "down_payment", "city", "contact_time", "overall"):
        assert name in out
    assert "%" in out


def test_the_score_counts_a_value_found_where_none_was_said_as_a_miss() -> None:
    rows = [{"text": "Boa tarde", "awaited": "full_name", "expected": {"full_name": "Boa"}}]
    result = score(rows)
    assert result.overall == 0 and result.misses


def test_the_score_counts_a_question_read_as_the_leads_choice_as_a_miss() -> None:
    question = {"text": "30 anos… e em 20 anos?", "awaited": "term_months"}
    right = {**question, "expected": {"term_months": 360}, "asked": {"term_months": 240}}
    wrong = {**question, "expected": {"term_months": 240}}
    assert score([right]).overall == 1
    assert score([wrong]).overall == 0


@pytest.mark.parametrize(
    ("text", "awaited", "expected"),
    [
        # a greeting is neither a name nor a contact time
        ("Boa tarde", "full_name", {}),
        ("Boa tarde", None, {}),
        ("boa noite", "contact_time", {}),
        # a city after the person's name
        ("Sou o Marcos, de Curitiba", None, {"full_name": "Marcos", "city": "Curitiba"}),
        ("Sou o Thiago de Souza", None, {"full_name": "Thiago de Souza"}),
        # land and lots are property
        ("é um lote de 120 mil", None, {"asset_type": "property", "asset_value": 120_000}),
        # down payment around "pra dar de entrada"
        ("tenho 50 mil pra dar de entrada", None, {"down_payment": 50_000}),
        # an approximate value after a vehicle word; a car model stands for a vehicle
        (
            "queria financiar uma hilux, uns 250 mil",
            None,
            {"asset_type": "vehicle", "asset_value": 250_000},
        ),
        # rooms and parking spaces next to the price
        (
            "apto de 2 quartos e 1 vaga, 350 mil",
            None,
            {"asset_type": "property", "asset_value": 350_000},
        ),
        # no down payment
        ("nada de entrada", None, {"down_payment": 0}),
        # "3 mil e 200" is 3200, in digits or in words
        ("3 mil e 200", "monthly_income", {"monthly_income": 3200}),
        ("três mil e duzentos", "monthly_income", {"monthly_income": 3200}),
        # a city with its state
        ("Curitiba - PR", "city", {"city": "Curitiba"}),
        ("Curitiba/PR", "city", {"city": "Curitiba"}),
        ("moro em curitba", None, {"city": "Curitiba"}),
        # a correction replaces the earlier value
        (
            "o apto custa 400 mil, na verdade são 500 mil",
            None,
            {"asset_type": "property", "asset_value": 500_000},
        ),
        # an age is not a term; a phone number is not money
        ("tenho 30 anos e ganho 4 mil", None, {"monthly_income": 4000}),
        ("meu telefone é 11 98765-4321, ganho 3 mil", None, {"monthly_income": 3000}),
        # two earners make one household income; a correction is not a second earner
        ("minha esposa ganha 3 mil e eu 4 mil", None, {"monthly_income": 7000}),
        ("eu ganho 4 mil, quer dizer, eu ganho 5 mil", None, {"monthly_income": 5000}),
        # a number that looks like a car model is still money; hours are contact times
        ("casa de 208 mil", None, {"asset_type": "property", "asset_value": 208_000}),
        ("pode ligar as 18hr", None, {"contact_time": "noite"}),
    ],
)
def test_known_miss_families(text: str, awaited: str | None, expected: dict[str, object]) -> None:
    assert extract(text, awaited) == expected


def test_a_bare_correction_replaces_the_value_nearest_in_size() -> None:
    known = {"asset_value": 400_000.0, "down_payment": 80_000.0, "monthly_income": 9000.0}
    assert extract("na verdade são 500 mil", "city", known) == {"asset_value": 500_000}
    assert extract("ops, na verdade 10 mil", "city", known) == {"monthly_income": 10_000}


def _cpu_seconds(text: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        extract(text, "full_name")
        best = min(best, time.process_time() - started)
    return max(best, 1e-4)


def test_a_65_kb_message_costs_about_what_a_short_one_does() -> None:
    sentence = "quero um apto de 300 mil, entrada 50 mil, ganho 8 mil, moro em Curitiba. "
    short = (sentence * 20)[:1000]
    huge = (sentence * 1000)[:65_000]
    assert _cpu_seconds(huge) < 50 * _cpu_seconds(short)
    pathological = ("9" * 65_000, "de " * 21_000, "1." * 32_000, "a" * 65_000,
                    "moro em " * 8000, "sou de " * 9000, "3 mil e " * 8000)  # fmt: skip
    for text in pathological:
        assert _cpu_seconds(text, repeat=2) < 50 * _cpu_seconds(short), text[:20]


def test_only_the_first_max_chars_are_read() -> None:
    filler = "x" * MAX_CHARS
    assert extract(filler + " ganho 5 mil") == {}
    assert extract("ganho 5 mil " + filler) == {"monthly_income": 5000}
