"""Take every field a lead's message states, written the way Brazilians write on WhatsApp.

"R$ 450.000", "450 mil", "80k", "15.000,00", "1,5 milhão", "meio milhão", "3 mil e 200",
"três mil e duzentos" (text2num), "entre 300 e 400 mil" (the middle), "30 anos" (= 360
months), "nada de entrada" (0). A money amount goes to the field named by the nearest
keyword before it in its clause (entrada, renda, valor, an asset word or a car model...),
else by the words right after it ("50 mil de entrada"), else to the field Lívia just asked
for, else to the asset's value. A correction ("na verdade são 500 mil", "ops, 380")
replaces the value it corrects. Keyword and city typos are forgiven (rapidfuzz).

Linear in the message: the text is cut at `MAX_CHARS`, tokenised once, and every rule
looks at a bounded window of tokens around each number.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from text_to_num import alpha2digit

from ai.livia.cities import AMBIGUOUS, CITIES, NICKNAMES, STATES

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
MAX_CHARS = 2000  # a WhatsApp burst worth reading; the rest of a longer text is ignored
WINDOW = 8  # tokens looked back from a number for its keyword


def plain(text: str) -> str:
    """Lower case without accents, for keyword matching."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --- vocabulary -----------------------------------------------------------------------

PROPERTY = {
    "imovel", "imoveis", "apartamento", "apto", "ap", "casa", "casinha", "terreno", "lote",
    "sobrado", "cobertura", "kitnet", "kitinete", "chacara", "sitio", "fazenda", "flat",
    "studio", "loft", "predio", "sala", "loja", "galpao", "residencia", "moradia",
}  # fmt: skip
VEHICLE = {
    "carro", "moto", "motocicleta", "veiculo", "caminhonete", "caminhao", "suv", "automovel",
    "picape", "pickup", "utilitario", "seminovo", "zero", "0km", "van", "scooter",
}  # fmt: skip
MODELS = {
    "onix", "hb20", "gol", "civic", "corolla", "compass", "renegade", "hilux", "s10", "strada",
    "toro", "kwid", "mobi", "argo", "cronos", "polo", "virtus", "tcross", "nivus", "tracker",
    "creta", "kicks", "hrv", "fit", "sandero", "logan", "duster", "ecosport", "ranger",
    "amarok", "saveiro", "fox", "uno", "palio", "siena", "cg", "biz", "fazer", "titan", "pcx",
    "xre", "cb", "ninja", "jeep", "fiat", "chevrolet", "volkswagen", "vw", "volks", "toyota",
    "honda", "hyundai", "renault", "nissan", "ford", "peugeot", "citroen", "bmw", "audi",
    "mercedes", "kia", "mitsubishi", "yamaha", "byd", "caoa", "chery", "celta", "prisma",
    "cruze", "spin", "montana", "fiorino", "pulse", "fastback", "taos", "jetta", "tiguan",
    "yaris", "etios", "sw4", "rav4", "frontier", "versa", "sentra", "march", "c3", "captur",
    "oroch", "tiggo", "dolphin", "commander", "f250", "lancer",
}  # fmt: skip
# models that are also everyday words ("quero fazer um financiamento"): a vehicle only after
# an article or before a number ("uma fazer 250", "um gol")
WORD_MODELS = {"fazer", "gol", "versa", "pulse", "march", "toro", "spin", "polo", "fit", "fox"}
ARTICLES = {"um", "uma", "o", "a", "meu", "minha", "esse", "essa", "este", "esta"}
ABBREVIATIONS = {
    "vc": "voce", "q": "que", "tb": "tambem", "tbm": "tambem", "pq": "porque", "p": "para",
    "pra": "para", "pro": "para", "c": "com", "s": "sem", "n": "nao", "naum": "nao",
    "mto": "muito", "td": "tudo", "hj": "hoje", "msm": "mesmo", "dps": "depois",
    "sal": "salario", "apt": "apto", "ape": "apto",
    "fin": "financiar", "entr": "entrada", "blz": "beleza", "obg": "obrigado",
}  # fmt: skip
# Typos of these are corrected (rapidfuzz); short words are too easy to confuse.
FUZZY_VOCABULARY = (
    "apartamento", "imovel", "terreno", "cobertura", "sobrado", "chacara", "veiculo",
    "caminhonete", "motocicleta", "automovel", "entrada", "salario", "financiar",
    "financiamento", "renda", "ganho", "recebo", "guardado", "mensal", "parcelas",
)  # fmt: skip

# keywords naming a money field, as token tuples, looked for before a number
KEYWORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "down_payment": (
        ("entrada",), ("sinal",), ("guardado",), ("guardados",), ("guardei",), ("juntei",),
        ("juntar",), ("economias",), ("poupanca",), ("fgts",), ("tenho",), ("dou",),
        ("dar",), ("der",), ("desse",), ("daria",),
    ),
    "monthly_income": (
        ("renda",), ("ganho",), ("ganha",), ("ganhamos",), ("salario",), ("recebo",),
        ("recebemos",), ("faturo",), ("tiro",), ("mensal",), ("rendimento",), ("clt",),
    ),
    "asset_value": (
        ("valor",), ("custa",), ("custando",), ("vale",), ("preco",), ("avaliado",),
        ("avaliada",), ("financiar",), ("financiamento",), ("sai",), ("anunciado",),
        ("orcamento",), ("faixa",), ("compra",),
    ),
}  # fmt: skip
WEAK_KEYWORDS = {
    "tenho",
    "dou",
    "dar",
    "der",
    "desse",
    "daria",
    "sai",
    "faixa",
    "compra",
}  # an asset noun outranks them
AFTER = {  # words right after a number that name its field
    "entrada": "down_payment",
    "guardado": "down_payment",
    "guardados": "down_payment",
    "mes": "monthly_income",
    "mensais": "monthly_income",
    "mensal": "monthly_income",
    "renda": "monthly_income",
    "salario": "monthly_income",
    "liquido": "monthly_income",
    "bruto": "monthly_income",
}
CORRECTIONS = {
    "verdade", "alias", "ops", "opa", "corrigindo", "errei", "enganei", "digo", "dizer",
    "pera", "perai", "espera", "nao",
}  # fmt: skip
NOT_MONEY_UNITS = {
    "quarto", "quartos", "qts", "qto", "qtos", "dorm", "dorms", "dormitorio", "dormitorios",
    "suite", "suites", "vaga", "vagas", "banheiro", "banheiros", "m2", "m²", "metros", "mts",
    "metro", "km", "kms", "filho", "filhos", "pessoas", "dias", "dia", "h", "hs", "hrs",
    "horas", "hora", "andar", "andares", "cilindradas", "cc", "portas", "lugares", "anos",
    "ano", "meses", "mes", "x", "vezes", "parcelas", "prestacoes", "%",
}  # fmt: skip
TERM_UNITS = {"anos": 12, "ano": 12, "meses": 1, "mes": 1, "x": 1, "vezes": 1, "parcelas": 1,
              "prestacoes": 1}  # fmt: skip
SCALES = {"mil": 1e3, "k": 1e3, "milhao": 1e6, "milhoes": 1e6, "mi": 1e6, "kk": 1e6}
SMALL = {"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5,
         "seis": 6, "sete": 7, "oito": 8, "nove": 9, "meio": 0.5, "meia": 0.5}  # fmt: skip
NO_DOWN = re.compile(
    r"\b(?:nada|zero|nenhuma|sem|nao tenho|nao vou dar|nao consigo dar|nao tenho nada)"
    r"(?: (?:de|para|pra|pro|na|como|valor de|dinheiro para|dinheiro pra))? entrada\b"
    r"|\bentrada\W{0,3}(?:zero|nenhuma|nada|nao tenho|0)\b"
    r"|\bsem dinheiro para entrada\b|\bs/ ?entrada\b"
)
NOTHING = re.compile(r"^\W*(?:nada|zero|nenhum|nenhuma|nao tenho|nao|0|sem|nao tenho nada)\W*$")
GREETING = re.compile(r"\b(?:bom dia|boa tarde|boa noite|boa madrugada)\b")
TIMES = (
    ("qualquer horário", re.compile(r"\bqualquer (?:horario|hora|momento)\b|\btanto faz\b")),
    ("horário comercial", re.compile(r"\bhorario comercial\b|\bdurante o dia\b")),
    ("manhã", re.compile(r"\b(?:manha|manhazinha|cedo|cedinho)\b")),
    ("tarde", re.compile(r"(?<!mais )(?<!ate mais )\btarde\b|\balmoco\b")),
    ("noite", re.compile(r"\b(?:noite|noitinha)\b")),
)
HOUR = re.compile(
    r"\b(?:as|das|partir das|depois das|apos as|a partir das)\s+(\d{1,2})(?:h|hs|hr|hrs)?\b"
)
HOUR_SUFFIX = re.compile(r"\b(\d{1,2})\s?(?:h|hs|hr|hrs|horas|:\d\d)\b")
NAME_TRIGGER = re.compile(
    r"\b(?:meu nome (?:e|eh|é)|me chamo|aqui (?:e|eh) (?:o|a)|sou (?:o|a)|eu sou (?:o|a)"
    r"|falo com (?:o|a)|quem fala (?:e|eh) (?:o|a)|pode me chamar de)\s+"
)
CITY_TRIGGER = re.compile(
    r"\b(?:moro|moramos|resido|residimos|vivo|vivemos|fico|to|tou|estou|estamos)"
    r"(?: aqui)? (?:em|no|na|num|numa)\s+"
    r"|\b(?:sou|somos) (?:de|do|da)\s+|\baqui (?:de|em|no|na|e(?! [oa] ))\s+"
    r"|\bcidade(?: de| e| eh|:)?\s+|\bregiao de\s+"
)
STRONG = ("moro", "moramos", "resido", "residimos", "vivo", "vivemos", "cidade", "sou", "somos")
NAME_STOP = {
    "e", "quero", "queria", "moro", "tenho", "to", "tou", "estou", "sou", "gostaria",
    "preciso", "procuro", "aqui", "ganho", "trabalho", "em", "com", "para", "pra", "na", "no",
    "um", "uma", "meu", "minha", "tudo", "bem", "vim", "vi", "financiar", "interesse",
    "interessado", "interessada", "boa", "bom", "oi", "ola", "tarde", "noite", "dia", "ta",
    "td", "blz", "beleza", "obrigado", "obrigada", "sim", "nao", "ok", "certo", "pode",
    "gostei", "vou", "ia", "achei", "vc", "voce", "livia", "pois", "entao", "mas", "ai",
    "que", "fala", "tbm", "tambem", "cliente", "casado", "casada", "solteiro", "solteira",
}  # fmt: skip
NOT_A_NAME = NAME_STOP | PROPERTY | VEHICLE | {
    "eae", "opa", "salve", "hello", "alo", "tudo", "bom", "otimo", "legal", "quanto",
    "qual", "como", "quando", "onde", "porque", "por", "favor", "duvida", "quero", "saber",
    "manha", "cedo", "mil", "reais", "real", "entrada", "renda", "valor", "financiamento",
    "simulacao", "simular", "consultor", "ola", "oii", "oie", "bem", "ne", *CORRECTIONS,
}  # fmt: skip
CONNECTORS = {"da", "de", "do", "das", "dos", "e", "d'"}
# Exclamations that open a message ("nossa, que calor", "caramba!"): neither a name nor a
# city, though "Nossa Senhora do Socorro" is one. Typos of the longer ones are forgiven.
INTERJECTIONS = (
    "nossa senhora", "minha nossa", "nossa mae", "meu deus", "meu pai", "nossa", "caramba",
    "caraca", "poxa", "puxa", "eita", "vixe", "vish", "credo", "putz", "oxe", "oxente",
    "uai", "ixi", "ixe", "aff", "affe", "uau", "nossinha", "misericordia", "jesus amado",
    "gente", "nossa gente", "carambolas", "pqp",
)  # fmt: skip


# --- tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    text: str  # the word as written (accents and case kept)
    low: str  # lower case, no accents, typos and abbreviations resolved
    number: float | None = None
    raw_digits: str = ""  # the digits as written, for "is this a year / a phone"


TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:\d+[^\W\d_]*)*|[^\W_]+|\S")
SUFFIXED = re.compile(r"^(\d+(?:[.,]\d+)*)([a-z²]+\d*)$")


def parse_number(digits: str) -> float | None:
    """'450.000' → 450000; '15.000,00' → 15000; '1,5' → 1.5; '1.2' → 1.2."""
    if "," in digits:
        digits = digits.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", digits):
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    if word in ABBREVIATIONS:
        return ABBREVIATIONS[word]
    if len(word) < 6 or word in NAME_STOP:
        return word
    match = process.extractOne(word, FUZZY_VOCABULARY, scorer=fuzz.ratio, score_cutoff=84)
    return match[0] if match else word


def tokenize(text: str) -> list[Token]:
    """Words, numbers and punctuation; "80k" → 80, k; number words → digits."""
    tokens: list[Token] = []
    for match in TOKEN.finditer(text):
        word = match.group()
        low = plain(word)
        if (split := SUFFIXED.match(low)) and split.group(1):
            digits = split.group(1)
            tokens.append(Token(digits, digits, parse_number(digits), digits))
            tokens.append(Token(split.group(2), split.group(2)))
        elif low[0].isdigit():
            tokens.append(Token(word, low, parse_number(low), low))
        else:
            tokens.append(Token(word, _corrected(low)))
    return tokens


HYPHENATED = re.compile(r"\b([a-z]{1,2})-([a-z]+)\b")
DIGIT_SCALE = re.compile(r"(\d)\s*(mil|milhao|milhoes)\b")


def numeric_view(text: str) -> list[Token]:
    """Tokens of the accent-free text with number words written as digits."""
    low = HYPHENATED.sub(r"\1\2", plain(text))  # "t-cross", "hr-v"
    # text2num reads "3 mil" as "3 1000": digits with a scale word are ours to read
    low = DIGIT_SCALE.sub(lambda m: f"{m.group(1)} {'kk' if m.group(2) != 'mil' else 'k'}", low)
    if re.search(r"[a-z]{3,}", low):
        low = alpha2digit(low, "pt", threshold=10)  # "dois quartos" stays words
    return tokenize(low)


# --- money ---------------------------------------------------------------------------------


@dataclass
class Amount:
    value: float
    start: int  # token index of its first token
    end: int  # token index after its last token
    explicit: bool  # written with a scale, currency or cents: surely money
    bare_small: bool  # "entrada 10": thousands are meant


def _scale(tokens: list[Token], j: int) -> tuple[float, int]:
    if j < len(tokens) and tokens[j].low in SCALES:
        return SCALES[tokens[j].low], j + 1
    return 1.0, j


def _value_at(tokens: list[Token], i: int) -> float | None:
    token = tokens[i]
    if token.number is not None:
        return token.number
    if token.low in SMALL and i + 1 < len(tokens) and tokens[i + 1].low in SCALES:
        return SMALL[token.low]
    if token.low == "mil":  # "mil e quinhentos": a bare thousand
        return 1.0
    return None


def _amount_at(tokens: list[Token], i: int) -> Amount | None:
    """The money amount starting at token i, with its scale, cents, range or remainder."""
    value = _value_at(tokens, i)
    if value is None:
        return None
    currency = i >= 1 and tokens[i - 1].low in ("$", "r$")
    if tokens[i].low == "mil":
        scale, j = 1e3, i + 1
    else:
        scale, j = _scale(tokens, i + 1)
    total = value * scale
    if scale > 1 and j + 1 < len(tokens) and tokens[j].low == "e":
        rest = _value_at(tokens, j + 1)
        if tokens[j + 1].low == "meio":
            total += 0.5 * scale
            j += 2
        elif rest is not None:
            rest_scale, k = _scale(tokens, j + 2)
            if rest * rest_scale < scale and (
                (k < len(tokens) and tokens[k].low not in NOT_MONEY_UNITS) or k >= len(tokens)
            ):
                total += rest * rest_scale
                j = k
        elif tokens[j + 1].low == "pouco":
            j += 2
    elif scale == 1 and j + 2 < len(tokens) and tokens[j].low in ("a", "e", "-", "ate", "ou"):
        upper = _value_at(tokens, j + 1)
        upper_scale, k = _scale(tokens, j + 2)
        if upper is not None and upper_scale > 1 and value < upper:
            low = value * upper_scale if value * upper_scale <= upper * upper_scale else value
            return Amount((low + upper * upper_scale) / 2, i, k, True, False)
    if j < len(tokens) and tokens[j].low in ("reais", "real", "conto", "contos"):
        currency, j = True, j + 1
    cents = "," in tokens[i].raw_digits
    explicit = scale > 1 or currency or cents
    return Amount(total, i, j, explicit, not explicit and total < 1000)


def _is_money(tokens: list[Token], amount: Amount) -> bool:
    i, j = amount.start, amount.end
    following = tokens[j].low if j < len(tokens) else ""
    if following in NOT_MONEY_UNITS or (following in ("/", ":") and not amount.explicit):
        return False
    if following == "-" and j + 1 < len(tokens) and tokens[j + 1].number is not None:
        return False  # a phone number or a postcode
    if following in ("salario", "salarios") and not amount.explicit:
        return False  # "1 salário mínimo e meio": not an amount in reais
    if amount.explicit:
        return True
    digits = tokens[i].raw_digits
    if len(digits) >= 8 and digits.isdigit():
        return False  # a phone number
    previous = tokens[i - 1].low if i >= 1 else ""
    if previous in MODELS or previous in ("ano", "modelo", "cep", "numero", "n", "no"):
        return False  # "cg 160", "Corolla 2020", "ano 2019"
    if digits.isdigit() and len(digits) == 4 and 1950 <= int(digits) <= 2035:
        near = {t.low for t in tokens[max(0, i - 3) : i]}
        if near & (VEHICLE | MODELS | {"ano", "modelo"}):
            return False
    if previous in ("as", "das", "apos"):
        return False  # "depois das 18"
    return amount.value >= 100 or amount.bare_small


CLAUSE_END = {".", ";", "!", "?", "\n", ","}


def _field_of(tokens: list[Token], amount: Amount, previous_end: int) -> tuple[str | None, bool]:
    """(the field the words around the amount name, whether a correction marker precedes)."""
    field: str | None = None
    weak: str | None = None
    corrected = False
    k = amount.start - 1
    while k >= max(previous_end, amount.start - WINDOW, 0):
        word = tokens[k].low
        if word in CORRECTIONS:
            corrected = True
        if word in CLAUSE_END and k < amount.start - 1:
            break
        if field is None:
            if word in PROPERTY or word in VEHICLE or word in MODELS:
                field = "asset_value"
            else:
                for candidate, keywords in KEYWORDS.items():
                    if (word,) in keywords:
                        if word in WEAK_KEYWORDS:
                            weak = weak or candidate
                        else:
                            field = candidate
                        break
        k -= 1
    after = amount.end
    if field is None and after < len(tokens) and tokens[after].low == ",":
        after += 1  # "uns 45 mil, de entrada"
    for j in range(after, min(after + 3, len(tokens))):
        word = tokens[j].low
        if word in CLAUSE_END:
            break
        if word in AFTER and field is None:
            field = AFTER[word]
            break
    return field or weak, corrected


def _money(tokens: list[Token], awaited: str | None, known: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    last_field: str | None = None
    previous_end = 0
    scaled_thousands = False
    i = 0
    amounts: list[tuple[Amount, str | None, bool]] = []
    while i < len(tokens):
        amount = _amount_at(tokens, i)
        if amount is None or not _is_money(tokens, amount):
            i += 1
            continue
        field, corrected = _field_of(tokens, amount, previous_end)
        amounts.append((amount, field, corrected))
        scaled_thousands = scaled_thousands or amount.value >= 1000
        previous_end = amount.end
        i = amount.end
    previous: Amount | None = None
    for amount, named, corrected in amounts:
        field = named
        between = tokens[previous.end : amount.start] if previous else []
        corrected = corrected or any(t.low in CORRECTIONS for t in between)
        household = last_field == "monthly_income" and not corrected and _another_earner(between)
        previous = amount
        if household and field in (None, "monthly_income"):
            found["monthly_income"] += amount.value  # "ela ganha 3 mil e eu 4 mil"
            continue
        if field is None and corrected:
            field = last_field or _closest_known(amount.value, known, scaled_thousands)
        if field is None and awaited in MONEY_FIELDS:
            field = awaited
        if field is None and (amount.explicit or amount.value >= 1000) and amount.value >= 5000:
            field = "asset_value" if "asset_value" not in found else None
        if field is None:
            continue
        value = amount.value
        if amount.bare_small and (field != "monthly_income" or value < 100):
            value *= 1000  # "entrada 10", "uma casa de uns 400": thousands
        if not amount.explicit and value < 100:
            continue
        found[field] = value  # a later amount for the same field corrects the earlier
        last_field = field
    return found


EARNERS = {"eu", "ela", "ele", "marido", "esposa", "mulher", "namorado", "namorada",
           "companheiro", "companheira", "esposo", "noivo", "noiva", "conjuge"}  # fmt: skip


def _another_earner(between: list[Token]) -> bool:
    """'... e eu 4 mil', '..., meu marido ganha 5 mil': a second income of the household."""
    words = {t.low for t in between}
    return 0 < len(between) <= 6 and bool(words & EARNERS)


def _closest_known(value: float, known: dict[str, Any], thousands: bool) -> str | None:
    """The money field a bare correction most plausibly corrects: the nearest in magnitude."""
    best: tuple[float, str] | None = None
    for name in MONEY_FIELDS:
        current = known.get(name)
        if isinstance(current, int | float) and current > 0 and value > 0:
            distance = abs(math.log(value / current))
            if best is None or distance < best[0]:
                best = (distance, name)
    return best[1] if best else None


def _percent_down(tokens: list[Token], value: float | None) -> float | None:
    """ "20% de entrada" of a known asset value."""
    if not value:
        return None
    for i, token in enumerate(tokens[:-1]):
        if token.number is not None and tokens[i + 1].low == "%":
            around = {t.low for t in tokens[max(0, i - 3) : i + 5]}
            if "entrada" in around and 0 <= token.number <= 100:
                return round(value * token.number / 100, 2)
    return None


# --- term ---------------------------------------------------------------------------------


def _term(tokens: list[Token], awaited: str | None, asset: str | None) -> int | None:
    term: int | None = None
    for i, token in enumerate(tokens):
        if token.number is None or i + 1 >= len(tokens):
            continue
        unit = tokens[i + 1].low
        if unit not in TERM_UNITS:
            continue
        previous = {t.low for t in tokens[max(0, i - 2) : i]}
        if previous & {"tenho", "idade", "ha", "faz", "desde", "trabalho", "casado", "com"}:
            continue  # an age or a time in a job, not a term
        months = token.number * TERM_UNITS[unit]
        if i + 3 < len(tokens) and tokens[i + 2].low == "e" and tokens[i + 3].low == "meio":
            months += 6 * (unit.startswith("ano"))
        if 6 <= months <= 420:
            term = int(months)
    if term is None and awaited == "term_months":
        numbers = [t.number for t in tokens if t.number is not None]
        if len(numbers) == 1 and numbers[0] is not None:
            n = numbers[0]
            months = n * 12 if n <= 35 and asset != "vehicle" else n
            if 6 <= months <= 420:
                term = int(months)
    return term


# --- asset type --------------------------------------------------------------------------


def _asset_type(tokens: list[Token]) -> str | None:
    first: str | None = None
    for i, token in enumerate(tokens):
        kind = (
            "property"
            if token.low in PROPERTY
            else "vehicle"
            if token.low in VEHICLE or token.low in MODELS
            else None
        )
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind is None or (token.low == "zero" and not (following and following.low == "km")):
            continue
        if token.low in WORD_MODELS and not (
            (i and tokens[i - 1].low in ARTICLES) or (following and following.number is not None)
        ):
            continue
        before = {t.low for t in tokens[max(0, i - 3) : i]}
        if before & {"vender", "vendi", "vendendo", "meu", "minha", "trocar", "troco"} and not (
            before & {"primeira", "primeiro", "novo", "nova"}
        ):
            first = first or kind  # what they own, not what they want
            continue
        return kind
    return first


# --- name, city, contact time -----------------------------------------------------------


def _title(words: list[str]) -> str:
    return " ".join(
        w.lower() if plain(w) in CONNECTORS else w[:1].upper() + w[1:].lower() for w in words
    )


@lru_cache(maxsize=1)
def _city_index() -> dict[str, str]:
    index = {plain(city): city for city in CITIES}
    index.update(NICKNAMES)
    return index


@lru_cache(maxsize=1)
def _city_prefixes() -> dict[str, str]:
    """Two or more leading words of a city's name, when they start no other city's."""
    starting: dict[str, set[str]] = {}
    for key, city in _city_index().items():
        words = key.split()
        for size in range(2, len(words)):
            starting.setdefault(" ".join(words[:size]), set()).add(city)
    return {prefix: cities.pop() for prefix, cities in starting.items() if len(cities) == 1}


def interjection_length(words: list[str]) -> int:
    """How many of the first words are an exclamation ("nossa", "nossa senhora", "caraamba")."""
    for size in (2, 1):
        candidate = " ".join(plain(w) for w in words[:size])
        if len(words) < size:
            continue
        if candidate in INTERJECTIONS or (
            len(candidate) >= 5
            and process.extractOne(candidate, INTERJECTIONS, scorer=fuzz.ratio, score_cutoff=86)
        ):
            return size
    return 0


def _known_city(words: list[str], *, fuzzy: bool) -> tuple[str, int] | None:
    """The gazetteer city the first words name (longest first), and how many words it took."""
    index = _city_index()
    for size in range(min(5, len(words)), 0, -1):
        candidate = " ".join(plain(w) for w in words[:size])
        if candidate in index:
            return index[candidate], size
    prefixes = _city_prefixes()
    for size in range(min(5, len(words)), 1, -1):
        # "Sao Bernardo": the start of exactly one city's name
        if city := prefixes.get(" ".join(plain(w) for w in words[:size])):
            return city, size
    if fuzzy:
        for size in range(min(5, len(words)), 0, -1):
            candidate = " ".join(plain(w) for w in words[:size])
            if len(candidate) < 5:
                continue
            match = process.extractOne(
                candidate,
                [k for k in index if len(k) >= 5 and k[0] == candidate[0]],
                scorer=fuzz.ratio,
                score_cutoff=86,
            )
            if match:
                return index[match[0]], size
    return None


PLACE_AND_STATE = re.compile(r"\b([^\W\d_][^\W\d_ ]*(?: [^\W\d_]+){0,3})\s*[-/(,]\s*([a-z]{2})\b")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|-|/|\(|\)|,|\.|;|!|\?|\n|\d+")


def _words_after(text: str, position: int, limit: int = 6) -> list[str]:
    """Up to `limit` words after `position`, stopping at punctuation or digits."""
    words: list[str] = []
    for match in WORD.finditer(text, position):
        word = match.group()
        if not word[0].isalpha() or len(words) >= limit:
            break
        words.append(word)
    return words


def _strip_state(words: list[str]) -> list[str]:
    while words and plain(words[-1]) in STATES and len(words) > 1:
        words = words[:-1]
    return words


def _city_from(words: list[str], *, strong: bool) -> str | None:
    if not words:
        return None
    if found := _known_city(words, fuzzy=True):
        city, _ = found
        return city
    if not strong:
        return None
    kept: list[str] = []
    for word in words:
        if plain(word) in NAME_STOP and plain(word) not in CONNECTORS:
            break
        kept.append(word)
    kept = _strip_state(kept)
    while kept and plain(kept[-1]) in CONNECTORS:
        kept.pop()
    return _title(kept) if kept and len(kept) <= 4 else None


def _city(text: str, low: str, awaited: str | None) -> str | None:
    # A message names its city in its first few mentions: bounded work on any text.
    for match in itertools.islice(CITY_TRIGGER.finditer(low), 5):
        words = _words_after(text, match.end())
        strong = match.group().split()[0] in STRONG
        if city := _city_from(words, strong=strong):
            return city
    # "Curitiba - PR", "Curitiba/PR", "Niterói (RJ)": a place followed by its state
    for match in itertools.islice(PLACE_AND_STATE.finditer(low), 10):
        if match.group(2) in STATES:
            words = _words_after(text, match.start(1))
            words = words[: len(match.group(1).split())]
            for start in range(len(words)):
                if known_city := _known_city(words[start:], fuzzy=True):
                    return known_city[0]
            if awaited == "city":
                tail = [w for w in words if plain(w) not in NAME_STOP or plain(w) in CONNECTORS]
                if tail:
                    return _title(tail)
    words = _words_after(text, 0, limit=12)
    if awaited == "city" and words and len(words) <= 6 and not re.search(r"\d", text):
        bare = _strip_state(words)
        if exclaimed := interjection_length(bare):
            # "nossa senhora!" is not Nossa Senhora do Socorro unless its whole name is said
            # and after an exclamation only a city Lívia knows is one ("nossa, que calor")
            exact = _city_index().get(" ".join(plain(w) for w in bare))
            after = _known_city(bare[exclaimed:], fuzzy=False) if bare[exclaimed:] else None
            return exact or (after[0] if after else None)
        if found := _known_city(bare, fuzzy=True):
            return found[0]
        if len(bare) <= 4 and not any(plain(w) in NOT_A_NAME - CONNECTORS for w in bare):
            return _title(bare)
    # a known city anywhere ("apartamento em Curitiba", "Sou o Marcos, de Curitiba")
    for match in itertools.islice(re.finditer(r"\b(?:em|de|do|da|no|na|para|pra)\s+", low), 30):
        found = _known_city(_words_after(text, match.end()), fuzzy=False)
        if found and found[0] not in AMBIGUOUS and plain(found[0]) not in NICKNAMES:
            return found[0]
    return None


def _name(text: str, low: str, awaited: str | None) -> str | None:
    match = NAME_TRIGGER.search(low)
    if match:
        words = _words_after(text, match.end())
    elif awaited == "full_name":
        words = _words_after(text, 0, limit=7)
        if not words or len(words) > 6 or re.search(r"\d", text):
            return None
        if words and plain(words[-1]) == "aqui":
            words = words[:-1]
        if any(plain(w) in NOT_A_NAME for w in words) or interjection_length(words):
            return None
    else:
        return None
    kept: list[str] = []
    for index, word in enumerate(words):
        lowered = plain(word)
        if lowered in CONNECTORS and lowered != "e":
            rest = words[index + 1 :]
            if not rest or _known_city(rest, fuzzy=False) or plain(rest[0]) in NAME_STOP:
                break
            kept.append(word)
            continue
        if lowered in NOT_A_NAME or len(kept) >= 5:
            break
        kept.append(word)
    while kept and plain(kept[-1]) in CONNECTORS:
        kept.pop()
    return _title(kept) if kept else None


def _contact_time(low: str) -> str | None:
    low = GREETING.sub(" ", low)
    for label, pattern in TIMES:
        if pattern.search(low):
            return label
    for pattern in (HOUR, HOUR_SUFFIX):
        if match := pattern.search(low):
            hour = int(match.group(1))
            if 6 <= hour < 12:
                return "manhã"
            if 12 <= hour < 18:
                return "tarde"
            if 18 <= hour <= 22:
                return "noite"
    return None


# --- the whole message --------------------------------------------------------------------


def extract(
    text: str, awaited: str | None = None, known: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every field present in `text`; `awaited` is the field Lívia just asked for, `known`
    what she knew before (to tell which value a bare correction corrects)."""
    text = unicodedata.normalize("NFC", text[:MAX_CHARS])
    low = plain(text)
    if len(low) != len(text):  # a compatibility character: read the plain text throughout
        text = low
    known = known or {}
    tokens = numeric_view(text)
    found: dict[str, Any] = {}
    if name := _name(text, low, awaited):
        found["full_name"] = name
    if asset := _asset_type(tokens):
        found["asset_type"] = asset
    found.update(_money(tokens, awaited, known))
    if NO_DOWN.search(low) or (awaited == "down_payment" and NOTHING.match(low)):
        found["down_payment"] = 0.0
    value = found.get("asset_value") or known.get("asset_value")
    if "down_payment" not in found and (down := _percent_down(tokens, value)) is not None:
        found["down_payment"] = down
    if term := _term(tokens, awaited, found.get("asset_type") or known.get("asset_type")):
        found["term_months"] = term
    if city := _city(text, low, awaited):
        found["city"] = city
    if time := _contact_time(low):
        found["contact_time"] = time
    return found
