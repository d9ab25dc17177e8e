"""Take every field a lead's message states, in Brazilian Portuguese money and number forms.

"R$ 450.000", "450 mil", "80k", "15.000,00", "1,5 milhão", "30 anos" (= 360 months).
A money amount is assigned by the keyword before it in its clause (entrada, renda, valor,
...), or, with no keyword, to the field Lívia just asked for.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

FIELDS = (
    "full_name",
    "asset_type",
    "asset_value",
    "down_payment",
    "monthly_income",
    "term_months",
    "city",
    "contact_time",
)
MONEY_FIELDS = ("asset_value", "down_payment", "monthly_income")

NUMBER = r"\d{1,3}(?:[.\s]\d{3})+(?:,\d{1,2})?|\d+(?:,\d{1,2})?|\d+(?:\.\d{1,2})?"
MONEY = re.compile(
    rf"(?:r\$\s*)?(?P<number>{NUMBER})\s*(?P<scale>mil\b|milh(?:ao|ão|oes|ões)\b|mi\b|k\b|m\b)?",
    re.IGNORECASE,
)
KEYWORDS = {
    "down_payment": ("entrada", "de entrada", "dar de entrada", "tenho guardado", "guardado"),
    "monthly_income": ("renda", "ganho", "salario", "recebo", "ganhamos", "faturo", "por mes"),
    "asset_value": (
        "valor",
        "custa",
        "vale",
        "imovel de",
        "apartamento de",
        "casa de",
        "carro de",
        "moto de",
        "financiar",
        "preco",
        "avaliado",
        "de uns",
        "de r$",
    ),
}
PROPERTY = ("imovel", "apartamento", "apto", "casa", "terreno", "sobrado", "cobertura", "kitnet")
VEHICLE = ("carro", "moto", "veiculo", "caminhonete", "caminhao", "suv", "automovel", "picape")
TIMES = {
    "manhã": ("de manha", "pela manha", "manha"),
    "tarde": ("a tarde", "de tarde", "tarde"),
    "noite": ("a noite", "de noite", "noite"),
    "horário comercial": ("horario comercial",),
    "qualquer horário": ("qualquer horario", "qualquer hora"),
}
NAME = re.compile(
    r"(?:meu nome (?:e|eh)|me chamo|aqui (?:e|eh) (?:o|a)|sou (?:o|a))\s+"
    r"(?P<name>[a-z]+(?:\s+(?:d[aeo]s?\s+)?[a-z]+){0,4}?)(?=\s*(?:[,.;!?]|$|\s+e\s|\s+quero|\s+moro))",
)
CITY = re.compile(
    r"(?:moro em|moro no|moro na|sou de|cidade (?:e|eh|de)?|em)\s+"
    r"(?P<city>[A-ZÀ-Ú][\wà-ú]+(?:\s+(?:d[aeo]s?\s+)?[A-ZÀ-Ú][\wà-ú]+){0,3})"
)
TERM = re.compile(r"(?P<n>\d{1,3})\s*(?P<unit>anos?|meses|mes|x\b|vezes|parcelas)", re.IGNORECASE)
NOT_CITIES = {"Real", "Reais", "Mil", "Janeiro", "Dezembro", "Oi", "Ola"}


def plain(text: str) -> str:
    """Lower case without accents, for keyword matching."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_money(number: str, scale: str | None) -> float | None:
    """'450.000' → 450000; '15.000,00' → 15000; '1,5' + 'milhão' → 1500000; '80' + 'k'."""
    digits = number.replace(" ", "")
    if "," in digits:
        digits = digits.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", digits):
        digits = digits.replace(".", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    factor = {"mil": 1e3, "k": 1e3, "milhao": 1e6, "milhoes": 1e6, "mi": 1e6, "m": 1e6}
    return value * factor.get(plain(scale or ""), 1.0)


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[;\n]|(?<!\d)[.,](?!\d)|\s+e\s+|\s+mas\s+", text) if c.strip()]


def _money_fields(text: str, awaited: str | None) -> dict[str, float]:
    found: dict[str, float] = {}
    for clause in _clauses(text):
        lowered = plain(clause)
        for match in MONEY.finditer(clause):
            before = lowered[: match.start()]
            if TERM.match(clause[match.start() :]) and not match.group("scale"):
                continue  # "30 anos", "48x": a term, not money
            value = parse_money(match.group("number"), match.group("scale"))
            if value is None or value < 100:
                continue
            field = None
            best = -1
            for candidate, words in KEYWORDS.items():
                for word in words:
                    position = before.rfind(word)
                    if position > best:
                        field, best = candidate, position
            after = lowered[match.end() : match.end() + 16]
            if after.lstrip().startswith(("de entrada", "na entrada", "para entrada")):
                field = "down_payment"  # "90 mil de entrada": the keyword follows
            elif after.lstrip().startswith(("por mes", "mensais", "de renda", "de salario")):
                field = "monthly_income"
            field = field or (awaited if awaited in MONEY_FIELDS else None)
            if field and field not in found:
                found[field] = value
    return found


def extract(text: str, awaited: str | None = None) -> dict[str, Any]:
    """Every field present in `text`; `awaited` is the field Lívia just asked for."""
    lowered = plain(text)
    found: dict[str, Any] = {}
    # Matched on the accent-free text (same length for composed input), read from the original.
    if (match := NAME.search(lowered)) and len(lowered) == len(text):
        name = text[match.start("name") : match.end("name")]
        found["full_name"] = " ".join(
            w.capitalize() if len(w) > 2 else w.lower() for w in name.split()
        )
    elif awaited == "full_name" and re.fullmatch(r"\s*[A-Za-zÀ-ú]+(\s+[A-Za-zÀ-ú]+){1,4}\s*", text):
        found["full_name"] = " ".join(w.capitalize() for w in text.split())
    if any(re.search(rf"\b{w}\b", lowered) for w in PROPERTY):
        found["asset_type"] = "property"
    elif any(re.search(rf"\b{w}\b", lowered) for w in VEHICLE):
        found["asset_type"] = "vehicle"
    found.update(_money_fields(text, awaited))
    for match in TERM.finditer(text):
        n, unit = int(match.group("n")), plain(match.group("unit"))
        months = n * 12 if unit.startswith("ano") else n
        if 6 <= months <= 420:
            found["term_months"] = months
            break
    if (match := CITY.search(text)) and match.group("city") not in NOT_CITIES:
        found["city"] = match.group("city")
    elif awaited == "city" and re.fullmatch(r"\s*[A-Za-zÀ-ú]+(\s+[A-Za-zÀ-ú]+){0,3}\s*", text):
        found["city"] = text.strip().title()
    for label, words in TIMES.items():
        if any(w in lowered for w in words):
            found["contact_time"] = label
            break
    return found
