"""`within`: a wait with a limit that a stop always ends, even one that comes with the result."""

from __future__ import annotations

import asyncio
import sys

import pytest

from stetho_common.waits import ended, stopped, within


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


async def _sleeper(log: list[str], name: str, cleanup_s: float = 0.0) -> None:
    try:
        await asyncio.sleep(60)
    finally:
        await asyncio.sleep(cleanup_s)  # a link closing, a file finished
        log.append(name)


def test_stopped_cancels_every_task_and_waits_for_each_to_end() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        tasks = [asyncio.create_task(_sleeper(log, n, 0.02)) for n in ("a", "b")]
        await asyncio.sleep(0)
        await stopped(*tasks)
        assert all(t.cancelled() for t in tasks)
        return log

    assert sorted(asyncio.run(main())) == ["a", "b"]


def test_stopped_raises_a_tasks_own_error_once_all_have_ended() -> None:
    async def broken() -> None:
        raise OSError("link lost")

    async def main() -> list[str]:
        log: list[str] = []
        tasks = [asyncio.create_task(broken()), asyncio.create_task(_sleeper(log, "b", 0.02))]
        await asyncio.sleep(0)
        with pytest.raises(OSError, match="link lost"):
            await stopped(*tasks)
        return log

    assert asyncio.run(main()) == ["b"]


def test_a_stop_of_the_caller_while_it_stops_tasks_propagates_after_they_end() -> None:
    """The old `task.cancel(); with suppress(CancelledError): await task` ate this stop."""

    async def main() -> tuple[list[str], bool]:
        log: list[str] = []
        tasks = [asyncio.create_task(_sleeper(log, n, 0.05)) for n in ("a", "b")]
        await asyncio.sleep(0)
        caller = asyncio.create_task(stopped(*tasks))
        await asyncio.sleep(0.01)  # the caller waits for "a" to clean up
        caller.cancel()
        try:
            await caller
        except asyncio.CancelledError:
            return log, True
        return log, False

    log, propagated = asyncio.run(main())
    assert propagated and sorted(log) == ["a", "b"]


def test_ended_waits_without_cancelling_and_keeps_the_callers_stop() -> None:
    async def main() -> None:
        log: list[str] = []
        other = asyncio.create_task(_sleeper(log, "other"))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(ended(other))
        await asyncio.sleep(0.01)
        waiter.cancel()  # the caller's stop: it propagates, the task it waited for lives on
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not other.done()
        waiter = asyncio.create_task(ended(other))
        await asyncio.sleep(0)
        other.cancel()  # someone else's stop of the task: waiting for it ends quietly
        await waiter
        assert log == ["other"]

    asyncio.run(main())
