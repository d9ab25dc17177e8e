"""`leadflow dead-letters` against the real broker: list, show, replay (all or one)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from leadflow.bus import Delivery, QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import ASSIGNMENT_REQUESTS
from leadflow.cli import main
from leadflow.testing.services import delete_namespace

QUEUE = ASSIGNMENT_REQUESTS.name


async def dead_letter(url: str, namespace: str, ids: list[str]) -> None:
    """A consumer of QUEUE that fails every delivery, until `ids` are dead-lettered."""
    bus = RabbitBus(url, namespace=namespace, max_deliveries=1)

    async def broken(delivery: Delivery) -> None:
        raise RuntimeError("a bug")

    bus.consume(QueueSpec(QUEUE, bindings=("lead.assignment_requested",)), broken)
    await bus.start()
    try:
        for message_id in ids:
            await bus.publish("lead.assignment_requested", b'{"n": 1}', message_id=message_id)
        deadline = asyncio.get_running_loop().time() + 20
        while await bus.dead_letter_count(QUEUE) != len(ids):
            assert asyncio.get_running_loop().time() < deadline, "not dead-lettered in time"
            await asyncio.sleep(0.1)
    finally:
        await bus.stop()


async def handled_after_replay(url: str, namespace: str, expected: int) -> list[Delivery]:
    """What a fixed consumer of QUEUE receives (the replayed messages)."""
    bus = RabbitBus(url, namespace=namespace, max_deliveries=1)  # as declared
    got: list[Delivery] = []
    all_there = asyncio.Event()

    async def fixed(delivery: Delivery) -> None:
        got.append(delivery)
        if len(got) >= expected:
            all_there.set()

    bus.consume(QueueSpec(QUEUE, bindings=("lead.assignment_requested",)), fixed)
    await bus.start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_there.wait(), 20)
        await asyncio.sleep(0.3)  # a message replayed wrongly would show up meanwhile
    finally:
        await bus.stop()
    return got


@pytest.fixture
def broker(rabbitmq_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    namespace = f"dl{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("RABBITMQ_URL", rabbitmq_url)
    monkeypatch.setenv("BROKER_NAMESPACE", namespace)
    yield rabbitmq_url, namespace
    asyncio.run(delete_namespace(rabbitmq_url, namespace))


def test_an_operator_lists_shows_and_replays_dead_letters(
    broker: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, namespace = broker
    asyncio.run(dead_letter(url, namespace, ["first", "second"]))

    assert main(["dead-letters", "list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.split() == [QUEUE, "2"] for line in listing.splitlines())
    assert listing.splitlines()[-1].split() == ["total", "2"]

    assert main(["dead-letters", "show", QUEUE]) == 0
    shown = capsys.readouterr().out
    assert "first  lead.assignment_requested  reason=rejected" in shown
    assert '{"n": 1}' in shown and "2 dead letter(s)" in shown

    # One first, by id; then the rest. Each goes back to its queue with its event name.
    assert main(["dead-letters", "replay", QUEUE, "--id", "second"]) == 0
    assert "replayed 1 message(s) (second)" in capsys.readouterr().out
    assert main(["dead-letters", "replay", QUEUE]) == 0
    assert "replayed 1 message(s)" in capsys.readouterr().out
    got = asyncio.run(handled_after_replay(url, namespace, 2))
    assert sorted((d.message_id, d.routing_key) for d in got) == [
        ("first", "lead.assignment_requested"),
        ("second", "lead.assignment_requested"),
    ]
    assert main(["dead-letters", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["total", "0"]


def test_an_unknown_queue_is_a_clear_error(
    broker: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dead-letters", "show", "no.such.queue"]) == 2
    assert "no queue 'no.such.queue'" in capsys.readouterr().err
