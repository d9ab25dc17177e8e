"""What Lívia says, in Brazilian Portuguese: money, rates and percentages written the
Brazilian way (babel), phrasing that varies from turn to turn, examples that fit the asset.

Pure functions; the numbers always come from the caller (the code's simulation).
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_currency, format_percent

ASSET_NAME = {"property": "imóvel", "vehicle": "veículo"}


def brl(value: float) -> str:
    """R$ 1.234,56 (a plain space: it reads the same on every phone)."""
    return str(format_currency(value, "BRL", locale="pt_BR")).replace("\xa0", " ")


def percent(share: float, decimals: int = 0) -> str:
    """0.2512 → '25%'; with decimals=2, 0.0099 → '0,99%'."""
    pattern = "#,##0%" if decimals == 0 else "#,##0." + "0" * decimals + "%"
    return str(format_percent(share, pattern, locale="pt_BR")).replace("\xa0", "")


def monthly_rate(rate: float) -> str:
    """'0,99% ao mês (12,55% ao ano)'"""
    yearly = (1 + rate) ** 12 - 1
    return f"{percent(rate, 2)} ao mês ({percent(yearly, 2)} ao ano)"


def months_text(months: int) -> str:
    """'360 meses (30 anos)', '48 meses'"""
    if months % 12 == 0 and months >= 24:
        return f"{months} meses ({months // 12} anos)"
    return f"{months} meses"


def first_name(collected: dict[str, Any]) -> str:
    return str(collected.get("full_name") or "").strip().split(" ")[0]


def pick(options: tuple[str, ...], turn: int) -> str:
    """A different phrasing from one turn to the next, deterministic for a given turn."""
    return options[turn % len(options)]


# --- opening and questions -------------------------------------------------------------

INTRODUCTION = (
    "Eu sou a Lívia, assistente virtual de financiamentos. Vou te fazer algumas perguntas "
    "rápidas para simular o seu financiamento."
)


def opening(greeting: str | None, name: str = "") -> str:
    """'Boa tarde, Marcos! Eu sou a Lívia, ...' — the lead's own greeting answered."""
    return f"{greeting or 'Olá'}{', ' + name if name else ''}! {INTRODUCTION}"


def question(name: str, collected: dict[str, Any], turn: int = 0) -> str:
    asset = collected.get("asset_type")
    if name == "full_name":
        return pick(("Para começar, qual é o seu nome completo?", "Como é o seu nome?"), turn)
    if name == "asset_type":
        return "Você quer financiar um imóvel ou um veículo?"
    if name == "asset_value":
        if asset == "vehicle":
            return "Qual é o valor aproximado do veículo?"
        return "Qual é o valor aproximado do imóvel?"
    if name == "down_payment":
        return pick(
            (
                "Quanto você pretende dar de entrada? Se não tiver entrada, é só dizer.",
                "E de entrada, quanto você consegue dar? (pode ser zero)",
            ),
            turn,
        )
    if name == "monthly_income":
        return pick(("E qual é a sua renda mensal?", "Qual é a sua renda por mês?"), turn)
    if name == "term_months":
        if asset == "vehicle":
            return "Em quantos meses gostaria de pagar? Por exemplo: 36, 48 ou 60 meses."
        return "Em quanto tempo gostaria de pagar? Por exemplo: 20 ou 30 anos (até 420 meses)."
    if name == "city":
        return pick(("Em qual cidade você mora?", "De qual cidade você fala?"), turn)
    return pick(
        (
            "Qual o melhor horário para um consultor falar com você: manhã, tarde ou noite?",
            "Por último: prefere que o consultor fale com você de manhã, à tarde ou à noite?",
        ),
        turn,
    )


def acknowledgement(collected: dict[str, Any], learned: list[str], turn: int) -> str:
    """A short, varied sign that she understood — and what she understood, to be corrected."""
    name = first_name(collected)
    heard = understood(collected, learned)
    if "full_name" in learned and name:
        opener = f"Prazer, {name}!"
    else:
        openers = (
            f"Perfeito, {name}!" if name else "Perfeito!",
            f"Obrigada, {name}." if name else "Obrigada!",
            "Entendi.",
            "Certo!",
            f"Ótimo, {name}!" if name else "Ótimo!",
        )
        opener = pick(openers if heard else (*openers, "Anotado!"), turn)
    return f"{opener} {heard}" if heard else opener


def understood(collected: dict[str, Any], learned: list[str]) -> str:
    """'Anotei: imóvel de R$ 450.000,00 e entrada de R$ 90.000,00.'"""
    parts: list[str] = []
    for name in learned:
        value = collected.get(name)
        if name == "asset_value" and value is not None:
            asset = ASSET_NAME.get(str(collected.get("asset_type")), "bem")
            parts.append(f"{asset} de {brl(float(value))}")
        elif name == "down_payment" and value is not None:
            parts.append("sem entrada" if not value else f"entrada de {brl(float(value))}")
        elif name == "monthly_income" and value is not None:
            parts.append(f"renda de {brl(float(value))}")
        elif name == "term_months" and value is not None:
            parts.append(f"prazo de {months_text(int(value))}")
        elif name == "city" and value:
            parts.append(f"cidade {value}")
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " e " + parts[-1]
    return f"Anotei: {listed}."


# --- the simulation and the answers computed from it ----------------------------------


def installment_line(sim: dict[str, Any]) -> str:
    if sim["system"] == "SAC":
        return (
            f"parcelas decrescentes (SAC): a primeira de {brl(sim['first_installment'])} e a "
            f"última de {brl(sim['last_installment'])}"
        )
    return f"parcelas fixas (PRICE) de {brl(sim['first_installment'])}"


def commitment_line(sim: dict[str, Any]) -> str | None:
    share = sim.get("income_commitment")
    if share is None:
        return None
    which = "a primeira parcela" if sim["system"] == "SAC" else "a parcela"
    line = f"{which} compromete {percent(share)} da sua renda"
    if share > 0.30:
        line += " — acima de 30%, o banco pode pedir uma entrada maior ou um prazo mais longo"
    return line


def simulation_text(
    collected: dict[str, Any], sim: dict[str, Any], what_if: str | None = None
) -> str:
    """The simulation as she tells it; `what_if` (an answer to the lead's question about
    another scenario) goes before the consent question."""
    name = first_name(collected)
    asset = ASSET_NAME.get(str(collected.get("asset_type")), "bem")
    lines = [
        f"Pronto{', ' + name if name else ''}! Fiz a simulação do seu financiamento, com "
        f"taxa de {monthly_rate(sim['monthly_rate'])}:",
        f"• valor do {asset}: {brl(float(collected['asset_value']))}, "
        + (
            f"entrada de {brl(down)}"
            if (down := float(collected.get("down_payment") or 0))
            else "sem entrada"
        ),
        f"• valor financiado: {brl(sim['principal'])} em {months_text(sim['term_months'])}",
        f"• {installment_line(sim)}",
        f"• total pago: {brl(sim['total_paid'])}",
    ]
    if commitment := commitment_line(sim):
        lines.append(f"• {commitment}")
    alternative = sim.get("alternative")
    if alternative:
        lines.append(f"Na outra tabela, {alternative_line(alternative)}.")
    if what_if:
        lines.append(what_if)
    lines.append(CONSENT_QUESTION)
    return "\n".join(lines)


def alternative_line(alt: dict[str, Any]) -> str:
    if alt["system"] == "SAC":
        return (
            f"SAC, a primeira parcela seria de {brl(alt['first_installment'])}, caindo até "
            f"{brl(alt['last_installment'])} (total {brl(alt['total_paid'])})"
        )
    return (
        f"PRICE, as parcelas seriam fixas de {brl(alt['first_installment'])} "
        f"(total {brl(alt['total_paid'])})"
    )


CONSENT_QUESTION = "Posso passar o seu atendimento para um dos nossos consultores? (sim/não)"
CONSENT_AGAIN = (
    "Quer que eu passe o seu atendimento para um consultor seguir com a proposta? (sim/não)",
    "Posso te passar para um consultor agora? (sim/não)",
)


def what_if_text(change: str, sim: dict[str, Any], redone: bool = True) -> str:
    """Another scenario the lead asks about; `redone` once she has simulated their own."""
    lines = [
        f"Refiz a conta {change}:" if redone else f"Fazendo a conta {change}, fica assim:",
        f"• valor financiado: {brl(sim['principal'])} em {months_text(sim['term_months'])}",
        f"• {installment_line(sim)}",
        f"• total pago: {brl(sim['total_paid'])}",
    ]
    if commitment := commitment_line(sim):
        lines.append(f"• {commitment}")
    return "\n".join(lines)


def systems_text(sim: dict[str, Any], other: dict[str, Any]) -> str:
    sac, price = (sim, other) if sim["system"] == "SAC" else (other, sim)
    return (
        "Na tabela PRICE as parcelas são fixas; na SAC elas começam maiores e vão "
        "diminuindo, e o total de juros é menor. Para o seu caso:\n"
        f"• PRICE: parcelas fixas de {brl(price['first_installment'])}, total "
        f"{brl(price['total_paid'])}\n"
        f"• SAC: primeira de {brl(sac['first_installment'])}, última de "
        f"{brl(sac['last_installment'])}, total {brl(sac['total_paid'])}"
    )


def rate_text(asset: str | None, rates: dict[str, float]) -> str:
    if asset in rates:
        return (
            f"A taxa que uso na simulação de {ASSET_NAME[asset]} é de "
            f"{monthly_rate(rates[asset])}. A taxa final depende da análise de crédito."
        )
    return (
        f"As taxas que uso na simulação são de {monthly_rate(rates['property'])} para imóvel "
        f"e de {monthly_rate(rates['vehicle'])} para veículo. A taxa final depende da "
        "análise de crédito."
    )


# --- hand-off, after it, and voice notes -----------------------------------------------


def _consultant(name: str | None) -> str:
    return f"{name}, do nosso time de consultores," if name else "um dos nossos consultores,"


def _from_number(phone: str | None) -> str:
    return f"pelo WhatsApp {phone}" if phone else "pelo WhatsApp da nossa equipe de consultores"


def handoff_text(consultant_name: str | None, consultant_phone: str | None) -> str:
    """The truth: the consultant writes from the consultant number, not from Lívia's; when
    nobody is assigned yet, she says she will tell who and from which number."""
    if not consultant_name and not consultant_phone:
        return (
            "Ótimo! Vou passar o seu atendimento para um dos nossos consultores. Em instantes "
            "te digo quem vai falar com você e de qual número."
        )
    return (
        f"Ótimo! Passei o seu atendimento para {_consultant(consultant_name)} que vai falar "
        f"com você {_from_number(consultant_phone)} — é um número diferente deste, pode "
        "salvar. A sua simulação já foi junto."
    )


def consultant_assigned_text(
    lead_first_name: str, consultant_name: str | None, consultant_phone: str | None
) -> str:
    """Once the consultant is assigned: who they are and the number they will write from."""
    hello = f"{lead_first_name}, prontinho!" if lead_first_name else "Prontinho!"
    return (
        f"{hello} O seu atendimento está com {_consultant(consultant_name)} que vai falar "
        f"com você {_from_number(consultant_phone)} — é um número diferente deste, pode "
        "salvar. Obrigada pela conversa! 😊"
    )


def after_handoff_text(
    consultant_name: str | None, consultant_phone: str | None, repeated: bool
) -> str:
    if repeated:
        who = consultant_name or "o consultor"
        return f"Avisei {who} de novo; o contato vem {_from_number(consultant_phone)}."
    return (
        f"Oi! O seu atendimento está com {_consultant(consultant_name)} que vai falar com "
        f"você {_from_number(consultant_phone)}. Já avisei que você escreveu."
    )


def ask_for_text(already_asked: bool) -> str:
    if already_asked:
        return "Ainda não consegui ouvir o áudio 😕 Pode me mandar por escrito?"
    return (
        "Desculpe, não consegui ouvir o seu áudio. Pode me escrever a sua resposta em "
        "texto, por favor?"
    )
