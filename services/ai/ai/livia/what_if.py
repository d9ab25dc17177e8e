"""Tell what a lead states from what they only ask about.

"30 anos. quanto fica se for em 20 anos?" states a term of 30 years and asks about 20:
Lívia keeps the first and answers the second with numbers computed in code. A part of a
clause is a question about the simulation from a conditional ("se", "caso", "fosse"), from
an "e" opening a question ("e em 20 anos?", "..., e com 100 mil de entrada?"), or from
"em / com / sem / para" before a number in a question ("quanto fica em 60 meses?", "a
parcela com 100 mil de entrada fica quanto?"). A wish ("quero", "prefiro", "pode ser")
makes what follows the lead's choice again; a comma ends a conditional ("se não me
engano, ganho 5 mil").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from text_to_num import text2num

from ai.livia.extraction import MAX_CHARS, extract, plain

CONDITIONAL = {"se", "caso", "fosse", "fossem", "ficaria", "sairia", "seria"}
WISHES = {
    "quero", "queria", "prefiro", "preferia", "pretendo", "vou", "gostaria", "pode",
    "podemos", "fecha", "fechar", "faz", "faca", "coloca", "bota", "muda", "mude", "decidi",
    "resolvi", "melhor",
}  # fmt: skip
NOT_A_WISH = {"saber", "ver", "entender"}  # "quero saber quanto fica em 60x" still asks
ASKING = {"quanto", "quanta", "qual", "quais", "como"}
ABOUT = {"em", "com", "sem", "para", "pra", "pro"}
# A clause ends at . ? ! ; … or a new line; a dot between digits is a thousands separator.
CLAUSE = re.compile(r"(?:\.(?=\d)|[^.?!;…\n])+[.?!;…\n]*|[.?!;…\n]+")
WORD = re.compile(r"[a-z0-9]+|,")


@dataclass(frozen=True)
class Reading:
    stated: dict[str, Any]  # what the lead says is so, or wants
    asked: dict[str, Any]  # what they ask about ("e se fosse em 48x?"), not their choice


def _is_number(word: str) -> bool:
    """'60', '60x', 'quarenta'; not 'um' / 'uma', which are mostly articles."""
    if word[0].isdigit():
        return True
    if word in ("um", "uma"):
        return False
    try:
        text2num(word, "pt")
    except ValueError:
        return False
    return True


def _what_if_starts(clause: str) -> list[tuple[int, bool]]:
    """(position, is a question from here on) wherever the clause turns."""
    words = list(WORD.finditer(clause))
    plain_words = [match.group() for match in words]
    asking = "quanto" in plain_words or (
        clause.rstrip().endswith("?") and bool(ASKING.intersection(plain_words))
    )
    question = clause.rstrip().endswith("?")
    turns: list[tuple[int, bool]] = []
    what_if = wished = False
    for index, match in enumerate(words):
        word = match.group()
        following = plain_words[index + 1 : index + 4]
        opens = index == 0 or plain_words[index - 1] == ","
        turn: bool | None = None
        if word == ",":
            turn = wished = False
        elif word in WISHES and not NOT_A_WISH.intersection(following[:1]):
            turn, wished = False, True
        elif word in CONDITIONAL or (question and opens and word == "e"):
            turn = True
        elif (
            asking
            and not wished
            and word in ABOUT
            and (word == "sem" or any(_is_number(w) for w in following))
        ):
            turn = True  # "quanto fica em 60 meses?", "qual a parcela com 100 mil de entrada?"
        if turn is not None and turn != what_if:
            turns.append((match.start(), turn))
            what_if = turn
    return turns


def split_what_if(text: str) -> tuple[str, str]:
    """(the text the lead states, the text they ask about), clause by clause."""
    text = text[:MAX_CHARS]
    low = plain(text)
    source = text if len(low) == len(text) else low
    stated: list[str] = []
    asked: list[str] = []
    for clause in CLAUSE.finditer(low):
        start, what_if = clause.start(), False
        for position, turn in [*_what_if_starts(clause.group()), (len(clause.group()), False)]:
            part = source[start : clause.start() + position]
            (asked if what_if else stated).append(part)
            start, what_if = clause.start() + position, turn
    return " ".join(stated), " ".join(asked)


def read(text: str, awaited: str | None = None, known: dict[str, Any] | None = None) -> Reading:
    """Every field the message states, and every field it asks about."""
    stated, asked = split_what_if(text)
    return Reading(
        stated=extract(stated, awaited, known),
        asked=extract(asked, None, known) if asked.strip(" .?!;…\n") else {},
    )
