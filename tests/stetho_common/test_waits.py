"""`within`: a wait with a limit that a stop always ends, even one that comes with the result."""

from __future__ import annotations

import asyncio
import sys

import pytest

from stetho_common.waits import within


def test_the_result_comes_back_before_the_limit() -> None:
    async def main() -> str | None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        queue.put_nowait("receipt")
        return await within(1.0, queue.get())

    assert asyncio.run(main()) == "receipt"


def test_none_when_the_limit_passes_first_and_a_later_item_stays_queued() -> None:
    async def main() -> tuple[str | None, int]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        got = await within(0.01, queue.get())
        queue.put_nowait("late")  # the timed-out getter took nothing and holds nothing
        return got, queue.qsize()

    assert asyncio.run(main()) == (None, 1)


async def _receipts_like(queue: asyncio.Queue[int], wait: str) -> None:
    """A loop like the agent's receipts loop: wait with a limit, take what comes, again."""
    while True:
        if wait == "within":
            await within(5.0, queue.get())
        else:
            await asyncio.wait_for(queue.get(), 5.0)


async def _stop_as_the_item_comes(wait: str) -> bool:
    """Put an item and cancel the waiting task in the same turn: did the task stop?"""
    queue: asyncio.Queue[int] = asyncio.Queue()
    task = asyncio.get_running_loop().create_task(_receipts_like(queue, wait))
    for _ in range(3):
        await asyncio.sleep(0)  # the task now waits for the queue
    queue.put_nowait(1)
    await asyncio.sleep(0)  # the queue's getter wakes up with the item
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    task.cancel()  # a second cancel ends the stuck one, so the test itself never hangs
    with pytest.raises(asyncio.CancelledError):
        await task
    return bool(done)


def test_a_stop_that_comes_with_the_result_still_stops_the_loop() -> None:
    assert asyncio.run(_stop_as_the_item_comes("within"))


def test_the_race_is_real_with_wait_for_on_this_python() -> None:
    """Proof that the test above tests something: 3.11's wait_for drops that stop."""
    if sys.version_info >= (3, 12):
        pytest.skip("fixed in Python 3.12 (CPython gh-86296)")
    assert not asyncio.run(_stop_as_the_item_comes("wait_for"))


def test_a_stop_while_waiting_propagates() -> None:
    async def main() -> None:
        task = asyncio.get_running_loop().create_task(within(5.0, asyncio.Event().wait()))
        await asyncio.sleep(0)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
