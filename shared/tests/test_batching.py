"""Natural batching: alone when quiet, together under load, failures reach every caller."""

from __future__ import annotations

import asyncio

import pytest
from leadflow.batching import Batcher


async def test_an_item_submitted_alone_is_processed_alone_at_once() -> None:
    batches: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        batches.append(items)
        return [2 * i for i in items]

    batcher = Batcher(double)
    assert await batcher.submit(21) == 42
    assert await batcher.submit(5) == 10
    assert batches == [[21], [5]]


async def test_items_arriving_during_a_run_form_the_next_batch_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []
    first_run_started = asyncio.Event()
    release_first_run = asyncio.Event()

    async def square(items: list[int]) -> list[int]:
        batches.append(items)
        if len(batches) == 1:
            first_run_started.set()
            await release_first_run.wait()
        return [i * i for i in items]

    batcher = Batcher(square, max_size=3)
    first = asyncio.create_task(batcher.submit(1))
    await first_run_started.wait()
    later = [asyncio.create_task(batcher.submit(i)) for i in range(2, 7)]
    await asyncio.sleep(0)
    release_first_run.set()

    assert await first == 1
    assert [await task for task in later] == [4, 9, 16, 25, 36]
    assert batches == [[1], [2, 3, 4], [5, 6]]  # at most max_size at once, in order


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    calls = 0

    async def flaky(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise ConnectionError("database went away")
        return [item.upper() for item in items]

    batcher = Batcher(flaky)
    results = await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert await batcher.submit("c") == "C"


async def test_a_process_returning_the_wrong_number_of_results_is_an_error() -> None:
    async def loses_one(items: list[int]) -> list[int]:
        return items[1:]

    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await Batcher(loses_one).submit(1)
