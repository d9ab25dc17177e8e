"""Financing simulation computed in code, never by the model: Price and SAC tables."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MONTHLY_RATE = {"property": 0.0099, "vehicle": 0.0159}


@dataclass(frozen=True)
class Simulation:
    system: str
    monthly_rate: float
    principal: float
    term_months: int
    first_installment: float
    last_installment: float
    total_paid: float
    income_commitment: float | None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Money rounded to cents; rates and shares kept precise."""
        precise = {"monthly_rate", "income_commitment"}
        return {
            k: (round(v, 6 if k in precise else 2) if isinstance(v, float) else v)
            for k, v in self.__dict__.items()
        }


def price(principal: float, rate: float, months: int) -> tuple[float, float]:
    """(fixed installment, total paid) of the Price (French) table."""
    if rate == 0:
        return principal / months, principal
    installment = principal * rate / (1 - (1 + rate) ** -months)
    return installment, installment * months


def sac(principal: float, rate: float, months: int) -> tuple[float, float, float]:
    """(first installment, last installment, total paid) of the SAC table."""
    amortisation = principal / months
    first = amortisation + principal * rate
    last = amortisation + amortisation * rate
    total = principal + rate * amortisation * months * (months + 1) / 2
    return first, last, total


def simulate(
    asset_value: float,
    down_payment: float,
    months: int,
    rate: float,
    income: float | None,
    system: str = "PRICE",
) -> Simulation:
    principal = max(asset_value - down_payment, 0.0)
    if system == "SAC":
        first, last, total = sac(principal, rate, months)
    else:
        first, total = price(principal, rate, months)
        last = first
    commitment = first / income if income else None
    return Simulation(system, rate, principal, months, first, last, total, commitment)


def brl(value: float) -> str:
    """R$ 1.234,56"""
    whole, cents = f"{value:,.2f}".split(".")
    return f"R$ {whole.replace(',', '.')},{cents}"
