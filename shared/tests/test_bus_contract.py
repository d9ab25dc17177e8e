"""One contract, two buses: the in-memory bus must behave like RabbitMQ where we rely on it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import asyncpg
import pytest
from leadflow.bus import Bus, Delivery, InMemoryBus, QueueSpec, RpcTimeout
from leadflow.bus.rabbit import RabbitBus


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


async def until_truthy(
    fetch: Callable[[], Awaitable[list[Delivery]]], timeout: float = 10.0
) -> list[Delivery]:
    """What `fetch` returns once it is not empty."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await fetch()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("nothing arrived before the deadline")
        await asyncio.sleep(0.05)
    return found


BusFactory = Callable[..., Awaitable[Bus]]


@pytest.fixture(params=["memory", "rabbitmq"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Builds buses of one kind sharing one namespace; starts nothing by itself."""
    made: list[Bus] = []
    namespace = f"c{uuid.uuid4().hex[:10]}."
    shared_memory = InMemoryBus(max_deliveries=3)
    rabbitmq_url = request.getfixturevalue("rabbitmq_url") if request.param == "rabbitmq" else ""

    async def factory(max_deliveries: int = 3) -> Bus:
        if request.param == "memory":
            # One process, one in-memory broker: "replicas" share it.
            shared_memory.max_deliveries = max_deliveries
            bus: Bus = shared_memory
        else:
            bus = RabbitBus(rabbitmq_url, namespace=namespace, max_deliveries=max_deliveries)
        made.append(bus)
        return bus

    yield factory
    for bus in {id(b): b for b in made}.values():
        await bus.stop()
    if request.param == "rabbitmq":
        await _delete_test_namespace(rabbitmq_url, namespace)


async def _delete_test_namespace(url: str, namespace: str) -> None:
    connection = await aio_pika.connect(url)
    try:
        for name in CREATED_QUEUES:
            for full in (f"{namespace}{name}", f"{namespace}{name}.dlq", f"{namespace}rpc.{name}"):
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.queue_delete(full)
        for exchange in ("leadflow.events", "leadflow.dlx"):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(f"{namespace}{exchange}")
    finally:
        await connection.close()


CREATED_QUEUES = (
    "routing",
    "work",
    "flaky",
    "poison",
    "echo",
    "slow",
    "replayable",
    "outage",
    "background",
    "foreground",
    "held",
)


async def start_all(*buses: Bus) -> None:
    for bus in {id(b): b for b in buses}.values():
        await bus.start()


async def test_topic_patterns_route_like_rabbitmq(make_bus: BusFactory) -> None:
    bus = await make_bus()
    seen: list[str] = []

    async def record(delivery: Delivery) -> None:
        seen.append(delivery.routing_key)

    bus.consume(QueueSpec("routing", bindings=("lead.*", "whatsapp.#")), record)
    await start_all(bus)
    for key in ("lead.created", "lead.created.extra", "whatsapp", "whatsapp.a.b", "other"):
        await bus.publish(key, b"{}")
    await wait_until(lambda: len(seen) >= 3)
    await asyncio.sleep(0.2)  # give a wrongly routed message the chance to show up
    assert sorted(seen) == ["lead.created", "whatsapp", "whatsapp.a.b"]


async def test_replicas_of_a_service_share_its_queue(make_bus: BusFactory) -> None:
    first, second = await make_bus(), await make_bus()
    handled: list[tuple[str, bytes]] = []

    def worker(name: str) -> Callable[[Delivery], Awaitable[None]]:
        async def handle(delivery: Delivery) -> None:
            handled.append((name, delivery.body))
            await asyncio.sleep(0.005)

        return handle

    spec = QueueSpec("work", bindings=("job.run",))
    first.consume(spec, worker("a"))
    second.consume(spec, worker("b"))
    await start_all(first, second)
    bodies = [str(i).encode() for i in range(60)]
    for body in bodies:
        await first.publish("job.run", body)
    await wait_until(lambda: len(handled) >= 60)
    await asyncio.sleep(0.2)
    assert sorted(body for _, body in handled) == sorted(bodies)  # each exactly once


async def test_per_replica_queues_each_see_every_event(make_bus: BusFactory) -> None:
    first, second = await make_bus(), await make_bus()
    seen: dict[str, list[bytes]] = {"a": [], "b": []}

    def replica(name: str) -> Callable[[Delivery], Awaitable[None]]:
        async def handle(delivery: Delivery) -> None:
            seen[name].append(delivery.body)

        return handle

    spec = QueueSpec("fanout", bindings=("news.#",), per_replica=True)
    first.consume(spec, replica("a"))
    second.consume(spec, replica("b"))
    await start_all(first, second)
    for i in range(5):
        await first.publish("news.today", str(i).encode())
    await wait_until(lambda: len(seen["a"]) == 5 and len(seen["b"]) == 5)


async def test_a_failing_message_is_retried_then_handled(make_bus: BusFactory) -> None:
    bus = await make_bus(max_deliveries=4)
    attempts: list[int] = []

    async def flaky(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if len(attempts) < 3:
            raise RuntimeError("transient failure")

    bus.consume(QueueSpec("flaky", bindings=("flaky.job",)), flaky)
    await start_all(bus)
    await bus.publish("flaky.job", b"x", message_id="m-1")
    await wait_until(lambda: len(attempts) == 3)
    await asyncio.sleep(0.3)
    assert attempts == [1, 2, 3]
    assert await bus.dead_letters("flaky") == []


async def test_a_poison_message_is_dead_lettered_after_bounded_attempts(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus(max_deliveries=3)
    attempts: list[int] = []

    async def always_fails(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        raise RuntimeError("poison")

    bus.consume(QueueSpec("poison", bindings=("poison.job",)), always_fails)
    await start_all(bus)
    await bus.publish("poison.job", b'{"bad": true}', message_id="m-poison")
    await wait_until(lambda: len(attempts) >= 3)
    dead = await until_truthy(lambda: bus.dead_letters("poison"))
    await asyncio.sleep(0.3)
    assert attempts == [1, 2, 3]  # bounded: never a fourth time
    assert [(d.body, d.message_id, d.routing_key) for d in dead] == [
        (b'{"bad": true}', "m-poison", "poison.job")
    ]


async def test_an_outage_is_waited_out_without_spending_the_delivery_budget(
    make_bus: BusFactory,
) -> None:
    # Two deliveries allowed, five runs that meet a database outage: the message is still
    # handled, on its first delivery, and nothing is dead-lettered.
    bus = await make_bus(max_deliveries=2)
    runs: list[int] = []

    async def database_restarting(delivery: Delivery) -> None:
        runs.append(delivery.attempt)
        if len(runs) <= 5:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    bus.consume(QueueSpec("outage", bindings=("outage.job",)), database_restarting)
    await start_all(bus)
    await bus.publish("outage.job", b"x", message_id="o-1")
    await wait_until(lambda: len(runs) == 6, timeout=30)
    await asyncio.sleep(0.3)
    assert runs == [1] * 6
    assert await bus.dead_letters("outage") == []


async def test_an_outage_longer_than_the_window_counts_as_a_failed_delivery(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus(max_deliveries=2)
    bus.outage_retry_s = 0.5
    runs: list[int] = []

    async def database_gone(delivery: Delivery) -> None:
        runs.append(delivery.attempt)
        raise ConnectionRefusedError("connection refused")

    bus.consume(QueueSpec("outage", bindings=("outage.long",)), database_gone)
    await start_all(bus)
    await bus.publish("outage.long", b"y", message_id="o-2")
    await until_truthy(lambda: bus.dead_letters("outage"), timeout=20)
    assert sorted(set(runs)) == [1, 2]  # each delivery tried through its window, then counted


async def test_requests_get_their_own_replies_concurrently(make_bus: BusFactory) -> None:
    bus = await make_bus()

    async def echo(body: bytes) -> bytes:
        await asyncio.sleep(0.01)
        return b"echo:" + body

    bus.serve("echo", echo)
    await start_all(bus)
    bodies = [str(i).encode() for i in range(50)]
    replies = await asyncio.gather(*(bus.request("echo", b, timeout=5) for b in bodies))
    assert replies == [b"echo:" + b for b in bodies]


async def test_a_request_nobody_answers_times_out(make_bus: BusFactory) -> None:
    bus = await make_bus()

    async def slow(body: bytes) -> bytes:
        await asyncio.sleep(5)
        return body

    bus.serve("slow", slow)
    await start_all(bus)
    started = asyncio.get_running_loop().time()
    with pytest.raises(RpcTimeout):
        await bus.request("slow", b"x", timeout=0.3)
    assert asyncio.get_running_loop().time() - started < 2


async def test_dead_letters_can_be_replayed_once_the_cause_is_fixed(make_bus: BusFactory) -> None:
    bus = await make_bus(max_deliveries=2)
    fixed = False
    handled: list[bytes] = []

    async def until_fixed(delivery: Delivery) -> None:
        if not fixed:
            raise RuntimeError("bug")
        handled.append(delivery.body)

    bus.consume(QueueSpec("replayable", bindings=("replay.job",)), until_fixed)
    await start_all(bus)
    await bus.publish("replay.job", b"1", message_id="r-1")

    await until_truthy(lambda: bus.dead_letters("replayable"))
    fixed = True
    assert await bus.replay_dead_letters("replayable") == 1
    await wait_until(lambda: handled == [b"1"])
    assert await bus.dead_letters("replayable") == []


class HeldRequests:
    """An endpoint whose requests are answered only when the test releases them."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def handle(self, body: bytes) -> bytes:
        self.started += 1
        await self.release.wait()
        return body


def recorder(into: list[bytes]) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        into.append(delivery.body)
        await asyncio.sleep(0.002)  # some work, as a handler's database round trips

    return handle


async def test_a_backlog_that_yields_to_requests_waits_while_a_request_is_served(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus()
    held = HeldRequests()
    background: list[bytes] = []
    foreground: list[bytes] = []  # the same events on an ordinary queue: they do flow
    bus.serve("held", held.handle)
    bus.consume(
        QueueSpec("background", ("bulk.job",), prefetch=4, yields_to_requests=True),
        recorder(background),
    )
    bus.consume(QueueSpec("foreground", ("bulk.job",), prefetch=4), recorder(foreground))
    await start_all(bus)
    answer = asyncio.create_task(bus.request("held", b"intake", timeout=30))
    await wait_until(lambda: held.started == 1)

    for i in range(40):
        await bus.publish("bulk.job", str(i).encode())
    await wait_until(lambda: len(foreground) == 40)
    assert background == []  # 40 waiting, none started while the request is served

    held.release.set()
    assert await answer == b"intake"
    await wait_until(lambda: len(background) == 40)


async def test_a_steady_stream_of_requests_slows_a_yielding_queue_but_never_stops_it(
    make_bus: BusFactory,
) -> None:
    bus = await make_bus()
    bus.requests_first.max_wait_s = 0.2
    held = HeldRequests()
    background: list[bytes] = []
    bus.serve("held", held.handle)
    bus.consume(
        QueueSpec("background", ("bulk.job",), prefetch=4, yields_to_requests=True),
        recorder(background),
    )
    await start_all(bus)
    answer = asyncio.create_task(bus.request("held", b"intake", timeout=30))
    await wait_until(lambda: held.started == 1)

    await bus.publish("bulk.job", b"late")
    await wait_until(lambda: background == [b"late"])
    assert not answer.done()  # handled while the request was still being served
    held.release.set()
    await answer
