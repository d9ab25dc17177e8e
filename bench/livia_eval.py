"""Lívia's conversation evaluation: scripted personas talk to her through the WhatsApp
simulator, every service its own process, in rules mode and with the fake Groq server.

    .venv/bin/python -m bench.livia_eval [--mode rules|groq|both] [--repeat N]

Each persona is a lead with known facts and a way of talking (everything at once; one
word at a time; asking questions; correcting himself; going off-topic; voice notes). It
answers whatever Lívia asks, until she hands it off to a consultant. Printed per mode:
completion rate (reached the hand-off), lead messages to the hand-off, questions asked
twice (a question about something the lead had already told her; must be 0) and fields
wrong at the hand-off (what she collected against the persona's facts).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from ai.livia.extraction import FIELDS, plain
from leadflow.testing.fake_groq import FakeGroq, Reply, json_answer
from leadflow.testing.fixtures import TEST_ADMIN
from leadflow.testing.processes import running_cluster

from bench.scratch import scratch_sync

SERVICES = ("gateway", "leads", "ai", "assignment", "wa-livia", "wa-consultant")
MAX_MESSAGES = 30  # a persona that needs more has failed
CONSULTANT = "Carla Souza"  # the one consultant: every hand-off names her


# What Lívia's question is about, from the words she uses (scripted or worded by a model).
# In this order: the first that matches names the question.
ASKS = {
    "asset_type": r"imovel ou (um )?veiculo|veiculo ou (um )?imovel",
    "full_name": r"\bnome\b",
    "asset_value": r"\bvalor\b",
    "down_payment": r"\bentrada\b",
    "monthly_income": r"\brenda\b",
    "term_months": r"quanto tempo|\bprazo\b|quantos (meses|anos)",
    "city": r"\bcidade\b",
    "contact_time": r"\bhorario\b|de manha, a tarde ou a noite",
    "consent": r"\(sim/nao\)|posso (te )?passar|passe o seu atendimento",
    "text_please": r"por escrito|em texto|escrev",
}


def asked(reply: str) -> str | None:
    """The field Lívia's message asks for (its last question), or None."""
    # Only her last question: the acknowledgement before it names the field just answered,
    # and figures she lists before it sit on lines of their own.
    questions = re.findall(r"[^.!?\n]*\?", plain(reply))
    text = questions[-1] if questions else plain(reply)
    for name, pattern in ASKS.items():
        if re.search(pattern, text):
            return name
    return None


@dataclass
class Persona:
    """A lead: the facts they hold, the words they answer each field with, how they talk."""

    name: str
    facts: dict[str, Any]
    answers: dict[str, str]
    opening: str = "Oi"
    opening_tells: tuple[str, ...] = ()  # the fields the opening message states
    # field -> something said before answering it (a question, a detour, a slip to correct)
    before: dict[str, str] = field(default_factory=dict)
    voice: bool = False  # answers by voice note

    def reply_to(self, question: str | None, told: set[str]) -> tuple[str, list[str]]:
        """(what to send, the fields it tells): a field's answer, or consent."""
        if question == "consent":
            return "sim, pode passar", []
        if question in self.answers:
            said = self.before.pop(question, None)
            if said is not None:
                return said, []
            return self.answers[question], [question]
        missing = [f for f in FIELDS if f not in told]
        if missing:  # she asked nothing we recognise: offer the next fact
            return self.answers[missing[0]], [missing[0]]
        return "sim", []


def personas() -> list[Persona]:
    joao = {
        "full_name": "João Pereira",
        "asset_type": "vehicle",
        "asset_value": 80000,
        "down_payment": 20000,
        "monthly_income": 7000,
        "term_months": 48,
        "city": "Curitiba",
        "contact_time": "tarde",
    }
    short = {
        "full_name": "João Pereira",
        "asset_type": "carro",
        "asset_value": "80 mil",
        "down_payment": "20 mil",
        "monthly_income": "7 mil",
        "term_months": "48 meses",
        "city": "Curitiba",
        "contact_time": "tarde",
    }
    ana = {
        "full_name": "Ana Souza",
        "asset_type": "property",
        "asset_value": 550000,
        "down_payment": 110000,
        "monthly_income": 18000,
        "term_months": 360,
        "city": "Campinas",
        "contact_time": "manhã",
    }
    ana_says = {
        "full_name": "meu nome é Ana Souza",
        "asset_type": "quero financiar um apartamento",
        "asset_value": "o apartamento custa 550 mil",
        "down_payment": "tenho 110 mil de entrada",
        "monthly_income": "ganho 18 mil por mês",
        "term_months": "quero pagar em 30 anos",
        "city": "moro em Campinas",
        "contact_time": "de manhã",
    }
    return [
        Persona(
            "tells everything at once",
            joao,
            short,
            opening=(
                "Oi! Sou o João Pereira, quero financiar um carro de 80 mil, tenho 20 mil de "
                "entrada, ganho 7 mil por mês, quero pagar em 48 meses, moro em Curitiba e "
                "pode me ligar à tarde"
            ),
            opening_tells=FIELDS,
        ),
        Persona("answers one word at a time", joao, short),
        Persona(
            "asks questions",
            ana,
            {
                **ana_says,
                "asset_value": "o apartamento custa 550 mil. qual a taxa de juros de vocês?",
                "term_months": "30 anos. quanto fica a parcela se for em 20 anos?",
            },
            opening="Oi, vocês financiam imóvel?",
        ),
        Persona(
            "corrects himself",
            ana,
            {**ana_says, "down_payment": "na verdade o apê é 550 mil. tenho 110 mil de entrada"},
            before={"asset_value": "o apartamento custa 500 mil"},
        ),
        Persona(
            "goes off-topic",
            ana,
            ana_says,
            before={
                "asset_value": "vocês abrem no sábado?",
                "city": "nossa, que calor hoje hein",
            },
        ),
        Persona("sends audio", ana, ana_says, voice=True),
    ]


@dataclass
class Outcome:
    persona: str
    completed: bool
    messages: int
    asked_twice: list[str]
    wrong: list[str]
    seconds: float


def wrong_fields(facts: dict[str, Any], collected: dict[str, Any]) -> list[str]:
    wrong = []
    for name, expected in facts.items():
        got = collected.get(name)
        if isinstance(expected, int | float):
            ok = isinstance(got, int | float) and abs(float(got) - expected) <= 0.01 * expected
        else:
            ok = got is not None and plain(str(expected)) in plain(str(got))
        if not ok:
            wrong.append(f"{name}={got!r}")
    return wrong


class Chat:
    """One phone talking to Lívia through the gateway's simulator endpoints."""

    def __init__(self, client: httpx.AsyncClient, token: str, phone: str) -> None:
        self.client, self.phone = client, phone
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send(self, text: str, *, voice: bool = False) -> None:
        body: dict[str, Any] = {"from": self.phone, "push_name": "Contato"}
        if voice:  # the fake Groq hears the audio's bytes as its words
            audio = base64.b64encode(text.encode()).decode()
            body |= {"audio_b64": audio, "mime_type": "audio/ogg"}
        else:
            body["text"] = text
        response = await self.client.post(
            "/api/dev/whatsapp/livia/inbound", json=body, headers=self.headers
        )
        response.raise_for_status()

    async def replies(self) -> list[str]:
        response = await self.client.get(
            "/api/dev/whatsapp/livia/outbox", params={"to": self.phone}, headers=self.headers
        )
        response.raise_for_status()
        return [m["text"] for m in response.json()["data"]]

    async def wait_for_more(self, seen: int, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = await self.replies()
            if len(texts) > seen:
                await asyncio.sleep(0.3)  # she may send two in a row (a reply and the hand-off)
                return await self.replies()
            await asyncio.sleep(0.1)
        raise TimeoutError(f"Lívia did not answer {self.phone}")

    async def conversation(self) -> dict[str, Any] | None:
        leads = await self.client.get(
            "/api/leads", params={"q": self.phone[1:]}, headers=self.headers
        )
        found = leads.json()["data"]
        if not found:
            return None
        detail = await self.client.get(f"/api/leads/{found[0]['id']}", headers=self.headers)
        conversation: dict[str, Any] | None = detail.json()["conversation"]
        return conversation


async def talk(client: httpx.AsyncClient, token: str, persona: Persona) -> Outcome:
    chat = Chat(client, token, "+55419" + str(uuid.uuid4().int)[:8])
    started = time.monotonic()
    told: set[str] = set()
    twice: list[str] = []
    seen = 0
    voice_ok = persona.voice
    message, fields = persona.opening, list(persona.opening_tells)
    for sent in range(1, MAX_MESSAGES + 1):
        await chat.send(message, voice=voice_ok)
        told.update(fields)
        try:
            texts = await chat.wait_for_more(seen)
        except TimeoutError:
            break
        new, seen = texts[seen:], len(texts)
        if any(CONSULTANT in t for t in new):  # she introduced the consultant: handed off
            conversation = await chat.conversation() or {}
            return Outcome(
                persona.name,
                conversation.get("stage") == "TRANSFERRED",
                sent,
                twice,
                wrong_fields(persona.facts, conversation.get("collected") or {}),
                time.monotonic() - started,
            )
        question = asked(new[-1])
        if question == "text_please":
            voice_ok = False  # she could not hear the audio: the same answer, written
            continue
        if question in told:
            twice.append(question)
        message, fields = persona.reply_to(question, told)
    return Outcome(
        persona.name, False, MAX_MESSAGES, twice, ["(no hand-off)"], time.monotonic() - started
    )


async def evaluate(gateway: str, repeat: int) -> list[Outcome]:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        login = await client.post(
            "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
        )
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 120
        # The gateway answers 503 until it has loaded the sessions it checks tokens against.
        while (await client.get("/api/leads", headers=auth)).status_code == 503:
            if time.monotonic() > deadline:
                raise TimeoutError("the gateway never accepted the admin token")
            await asyncio.sleep(0.5)
        await client.post(
            "/api/consultants",
            json={
                "name": CONSULTANT,
                "email": f"carla-{uuid.uuid4().hex[:6]}@example.com",
                "password": "carla-password-123",
                "role": "consultant",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        outcomes = []
        for _ in range(repeat):
            for persona in personas():
                outcomes.append(await talk(client, token, persona))
        return outcomes


def report(mode: str, outcomes: list[Outcome]) -> bool:
    print(f"\n--- Lívia, {mode} ---")
    for o in outcomes:
        status = "hand-off" if o.completed else "NOT COMPLETED"
        print(
            f"{o.persona:28} {status:14} {o.messages:2} messages  "
            f"asked twice: {','.join(o.asked_twice) or '-':20} wrong: {', '.join(o.wrong) or '-'}"
            f"  ({o.seconds:.1f} s)"
        )
    done = [o for o in outcomes if o.completed]
    twice = sum(len(o.asked_twice) for o in outcomes)
    wrong = sum(len(o.wrong) for o in done)
    rate = 100 * len(done) / len(outcomes)
    turns = statistics.median(o.messages for o in done) if done else float("nan")
    print(
        f"completion {rate:.0f}% ({len(done)}/{len(outcomes)}), lead messages to hand-off "
        f"median {turns:.0f} (max {max((o.messages for o in done), default=0)}), "
        f"questions asked twice {twice}, fields wrong at hand-off {wrong}"
    )
    return rate == 100 and twice == 0


def model_like(request: dict[str, Any]) -> Reply:
    """The fake Groq: classifies, and words Lívia's turns without extracting anything —
    the code decides fields and stages whatever the model says."""
    system = request["messages"][0]["content"]
    if "classify leads" in system:
        return json_answer({"temperature": "WARM", "score": 60, "reasons": ["fake groq"]})
    return json_answer({"reply": "Entendi, obrigada! 😊", "extracted": {}})


@contextmanager
def cluster_for(mode: str) -> Iterator[str]:
    with scratch_sync() as sandbox, ExitStack() as stack:
        env = sandbox.env()
        if mode == "groq":
            fake = stack.enter_context(FakeGroq(model_like))
            env |= {"GROQ_API_KEY": "eval-key", "GROQ_BASE_URL": fake.base_url}
        with running_cluster(env, services=SERVICES, ready_timeout=300) as cluster:
            yield cluster.gateway


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["rules", "groq", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    modes: list[str] = ["rules", "groq"] if args.mode == "both" else [args.mode]
    passed = True
    for mode in modes:
        with cluster_for(mode) as gateway:
            passed &= report(mode, asyncio.run(evaluate(gateway, args.repeat)))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
