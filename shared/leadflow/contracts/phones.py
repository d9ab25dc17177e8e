"""Phone numbers as people type them, stored as E.164 (`+digits`).

One helper for every entry point (REST, webhook, WhatsApp, consultants' phones): a
number without a country code is read in the default country (`DEFAULT_COUNTRY`, BR by
default, with its mobile ninth-digit rules), and a number that is not valid for its
country is refused — `(11) 98765-1111` is São Paulo, never a North American number.
"""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_COUNTRY = "BR"
PHONE_PATTERN = re.compile(r"^\+?[1-9]\d{1,14}$")
PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


_process_default = [DEFAULT_COUNTRY]


def set_default_country(code: str) -> None:
    """The process's DEFAULT_COUNTRY, set once by a composition root from its Settings:
    request bodies are validated by FastAPI, which cannot pass a validation context."""
    _process_default[0] = code.upper()


def default_country() -> str:
    return _process_default[0]


def normalise_phone(raw: str | None, default_country: str | None = None) -> str:
    """`+digits` of a valid number, or `ValueError` saying what is wrong with it."""
    default_country = default_country or _process_default[0]
    compact = PHONE_PUNCTUATION.sub("", raw or "")
    if not PHONE_PATTERN.match(compact):
        raise ValueError("must be a phone number: digits with an optional leading +")
    # Without a "+": a national number first (what people type), then the digits as
    # international (what forms that drop the "+" send: 5511987654321).
    candidates = [compact] if compact.startswith("+") else [compact, "+" + compact]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_country.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if compact.startswith("+"):
        raise ValueError("is not a valid phone number for its country")
    raise ValueError(
        f"is not a valid phone number (a number without a country code is read in "
        f"{default_country.upper()})"
    )


def is_country_code(value: str) -> bool:
    """Whether `value` is a region `phonenumbers` knows (BR, PT, US, ...)."""
    return value.upper() in phonenumbers.SUPPORTED_REGIONS
