"""Financing simulation computed in code, never by the model: Price and SAC tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def system_for(asset: str | None) -> str:
    """Property is simulated on SAC (what Brazilian banks offer first), vehicles on PRICE."""
    return "SAC" if asset != "vehicle" else "PRICE"


def rate_for(asset: str | None, rates: dict[str, float] | None = None) -> float:
    rates = rates or DEFAULT_MONTHLY_RATE
    key = asset if asset in ("property", "vehicle") else "property"
    return rates.get(key, DEFAULT_MONTHLY_RATE[key])


def run_simulation(
    collected: dict[str, Any], rates: dict[str, float] | None = None, system: str | None = None
) -> dict[str, Any]:
    """The one computation Lívia tells the lead and the classifier scores: the main table
    by asset type (or `system`), the other table as an alternative."""
    asset = str(collected.get("asset_type") or "property")
    rate = rate_for(asset, rates)
    main = system or system_for(asset)
    value = float(collected["asset_value"])
    down = float(collected.get("down_payment") or 0)
    months = int(collected["term_months"])
    income = float(collected.get("monthly_income") or 0) or None
    result: dict[str, Any] = simulate(value, down, months, rate, income, system=main).as_dict()
    other = simulate(
        value, down, months, rate, income, system="PRICE" if main == "SAC" else "SAC"
    ).as_dict()
    result["alternative"] = {
        k: other[k] for k in ("system", "first_installment", "last_installment", "total_paid")
    }
    return result
