"""A whole Lívia conversation through the WhatsApp simulator, every service a process."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from leadflow.testing.fake_groq import FakeGroq, Reply, json_answer
from leadflow.testing.fixtures import isolated_env
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.flows import (
    bearer,
    create_consultant,
    deactivate_every_consultant,
    eventually,
    login_admin,
    unique_email,
    unique_phone,
)

# Two clusters of every service (scripted, and with the fake Groq), shared by the tests.
pytestmark = pytest.mark.timeout(600)
READY_S = 300
CONSULTANT_NUMBER = "5511900000001"


def groq_like(request: dict[str, Any]) -> Reply:
    """A stand-in model: classifies HOT, and words Lívia's replies warmly."""
    system = request["messages"][0]["content"]
    if "classify leads" in system:
        return json_answer(
            {"temperature": "HOT", "score": 88, "reasons": ["groq: affordable installment (+40)"]}
        )
    return json_answer(
        {"reply": "Que bom falar com você! Pode me contar um pouco mais?", "extracted": {}}
    )


@pytest.fixture(scope="module")
def scripted(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Every service, no Groq: the scripted Lívia every installation falls back to."""
    with running_cluster(module_cluster_env, ready_timeout=READY_S) as running:
        yield running


@pytest.fixture(scope="module")
def fake_groq() -> Iterator[FakeGroq]:
    with FakeGroq(groq_like) as fake:
        yield fake
    assert fake.requests, "the ai service never called the fake Groq"


@pytest.fixture(scope="module")
def with_groq(
    rabbitmq_url: str, postgres_server_url: str, fake_groq: FakeGroq
) -> Iterator[Cluster]:
    """Every service, the ai service talking to the fake Groq (chat and speech-to-text)."""
    groq = {"GROQ_API_KEY": "test-key", "GROQ_BASE_URL": fake_groq.base_url}
    with (
        isolated_env(rabbitmq_url, postgres_server_url) as env,
        running_cluster(env | groq, ready_timeout=READY_S) as running,
    ):
        running.env["FAKE_GROQ_REQUESTS"] = "yes"
        yield running


@pytest.fixture(params=["scripted", "groq"])
def cluster(request: pytest.FixtureRequest) -> Cluster:
    found: Cluster = request.getfixturevalue(
        "scripted" if request.param == "scripted" else "with_groq"
    )
    return found


def names_consultant_number(text: str) -> bool:
    """The simulated consultant session's number, however it is written."""
    return CONSULTANT_NUMBER in "".join(ch for ch in text if ch.isdigit())


async def inbound(client: httpx.AsyncClient, json: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """The simulator's inbound, retried while the gateway answers 503 (retry-able: say,
    while it is still loading sessions just after starting)."""

    async def accepted() -> httpx.Response | None:
        response = await client.post("/api/dev/whatsapp/livia/inbound", json=json, **kwargs)
        return None if response.status_code == 503 else response

    response: httpx.Response = await eventually(accepted, timeout=60, interval=0.5)
    return response


async def admin_once_sessions_loaded(client: httpx.AsyncClient) -> str:
    """An admin token, once the gateway has loaded the sessions it checks tokens against
    (until then it answers 503, fail-closed)."""
    token = await login_admin(client)

    async def accepted() -> bool:
        response = await client.get("/api/leads", headers=bearer(token))
        return response.status_code != 503

    await eventually(accepted, timeout=60, interval=0.5)
    return token


async def sent_to(client: httpx.AsyncClient, phone: str) -> list[str]:
    outbox = await client.get("/api/dev/whatsapp/livia/outbox", params={"to": phone})
    return [m["text"] for m in outbox.json()["data"]]


async def test_livia_qualifies_a_lead_from_hello_to_an_assigned_consultant(
    cluster: Cluster,
) -> None:
    phone = unique_phone()
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        admin = await admin_once_sessions_loaded(client)
        client.headers.update(bearer(admin))  # the simulator's endpoints: admins only
        await deactivate_every_consultant(client, admin)  # Carla alone takes the lead
        carla = await create_consultant(client, admin, "Carla Souza", email=unique_email("carla"))

        async def say(text: str, replies: int) -> list[str]:
            response = await inbound(
                client,
                json={"from": phone, "text": text, "push_name": "Marina"},
            )
            assert response.status_code == 202

            async def answered() -> list[str] | None:
                texts = await sent_to(client, phone)
                return texts if len(texts) >= replies else None

            return await eventually(answered, timeout=30, interval=0.2)

        greeting = await say("Oi", 1)
        assert len(greeting) == 1
        simulation = await say(
            "Sou a Marina Lopes, quero um apartamento de 450 mil em Campinas, tenho 90 mil de "
            "entrada, ganho 15 mil por mês, quero pagar em 30 anos, pode ligar de manhã",
            2,
        )
        assert "R$ 360.000,00" in simulation[1] and "consultor" in simulation[1]
        everything = await say("sim, pode passar", 4)
        assert everything[2].startswith("Ótimo!")
        # The hand-off names the consultant, and the number consultants write from.
        assert "Carla Souza" in everything[3] and names_consultant_number(everything[3])
        later = await say("Oi Lívia, ainda não falaram comigo", 5)
        assert "Carla Souza" in later[4] and names_consultant_number(later[4])

        leads = (
            await client.get("/api/leads", params={"q": phone[3:]}, headers=bearer(admin))
        ).json()["data"]
        [lead] = leads
        detail = (await client.get(f"/api/leads/{lead['id']}", headers=bearer(admin))).json()
    data, conversation = detail["data"], detail["conversation"]
    assert (data["source"], data["status"], data["name"]) == (
        "whatsapp",
        "QUALIFIED",
        "Marina Lopes",
    )
    assert data["consultant_id"] == carla["id"] and data["temperature"] in ("HOT", "WARM", "COLD")
    assert conversation["stage"] == "TRANSFERRED"
    assert conversation["collected"]["down_payment"] == 90000
    assert conversation["collected"]["simulation"]["principal"] == 360000
    assert [m["direction"] for m in conversation["messages"]] == [
        "in",
        "out",
        "in",
        "out",
        "in",
        "out",
        "out",
        "in",
        "out",
    ]
    if cluster.env.get("FAKE_GROQ_REQUESTS"):
        assert data["ai_reasons"] == ["groq: affordable installment (+40)"]
        assert greeting == ["Que bom falar com você! Pode me contar um pouco mais?"]
    else:
        assert greeting[0].startswith("Olá! Eu sou a Lívia")
    assert json.dumps(conversation).count("Responda SEMPRE") == 0


async def test_a_whole_conversation_by_voice_note_reaches_the_handoff(
    with_groq: Cluster, fake_groq: FakeGroq
) -> None:
    phone = unique_phone()
    heard_before = len(fake_groq.audio_requests)
    async with httpx.AsyncClient(base_url=with_groq.gateway, timeout=15) as client:
        admin = await admin_once_sessions_loaded(client)
        client.headers.update(bearer(admin))  # the simulator's endpoints: admins only
        await deactivate_every_consultant(client, admin)
        await create_consultant(client, admin, "Carla Souza", email=unique_email("carla"))

        async def speak(words: str, replies: int) -> list[str]:
            # The fake Groq hears a voice note's bytes as its words.
            response = await inbound(
                client,
                json={
                    "from": phone,
                    "audio_b64": base64.b64encode(words.encode()).decode(),
                    "mime_type": "audio/ogg; codecs=opus",
                    "push_name": "Marina",
                },
                headers=bearer(admin),
            )
            assert response.status_code == 202

            async def answered() -> list[str] | None:
                texts = await sent_to(client, phone)
                return texts if len(texts) >= replies else None

            return await eventually(answered, timeout=30, interval=0.2)

        await speak("Oi, boa tarde", 1)
        simulation = await speak(
            "Sou a Marina Lopes, quero um apartamento de 450 mil em Campinas, tenho 90 mil "
            "de entrada, ganho 15 mil por mês, quero pagar em 30 anos, pode ligar de manhã",
            2,
        )
        assert "R$ 360.000,00" in simulation[1]
        handoff = await speak("sim, pode passar", 4)
        assert "Carla Souza" in handoff[3]
        [lead] = (
            await client.get("/api/leads", params={"q": phone[3:]}, headers=bearer(admin))
        ).json()["data"]
        detail = (await client.get(f"/api/leads/{lead['id']}", headers=bearer(admin))).json()
    assert len(fake_groq.audio_requests) == heard_before + 3
    conversation = detail["conversation"]
    assert conversation["stage"] == "TRANSFERRED"
    assert conversation["collected"]["asset_value"] == 450000
    heard = [m for m in conversation["messages"] if m["direction"] == "in"]
    assert [m["media_type"] for m in heard] == ["audio", "audio", "audio"]
    assert heard[2]["transcript"] == "sim, pode passar" == heard[2]["text"]


async def test_a_voice_note_without_speech_to_text_gets_a_kind_request_for_text(
    scripted: Cluster,
) -> None:
    phone = unique_phone()
    # No Groq: nobody can transcribe.
    async with httpx.AsyncClient(base_url=scripted.gateway, timeout=15) as client:
        admin = await admin_once_sessions_loaded(client)
        client.headers.update(bearer(admin))  # the simulator's endpoints: admins only
        response = await inbound(
            client,
            json={"from": phone, "audio_b64": base64.b64encode(b"oi").decode()},
            headers=bearer(admin),
        )
        assert response.status_code == 202

        async def answered() -> list[str] | None:
            texts = await sent_to(client, phone)
            return texts or None

        [ask] = await eventually(answered, timeout=30, interval=0.2)
    # She says she could not hear it and asks for the answer in writing.
    assert "áudio" in ask
    assert "escrito" in ask or "escrev" in ask
