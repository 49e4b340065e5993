"""The blocked-loop guard fails a callback that blocks, not one whose thread waited for a CPU.

Each test here watches loops of its own, hence `blocks_loop` (the autouse guard stands aside).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import loop_guard
from tests.loop_guard import SLOW_CALLBACK_S, LoopWatch

pytestmark = pytest.mark.blocks_loop

needs_schedstat = pytest.mark.skipif(
    not loop_guard.SCHEDSTAT_READABLE, reason="the kernel gives no run-queue wait"
)


def _run(watch: LoopWatch, main: Coroutine[Any, Any, None]) -> float:
    """Run `main` on a watched loop; the wall seconds it took."""
    start = time.monotonic()
    with asyncio.Runner(loop_factory=watch.new_loop) as runner:
        runner.run(main)
    return time.monotonic() - start


def _spin(cpu_s: float) -> None:
    """Busy for `cpu_s` seconds of this thread's own CPU time, however long the wall clock."""
    end = time.thread_time() + cpu_s
    while time.thread_time() < end:
        pass


def test_a_coroutine_that_sleeps_fails_the_guard() -> None:
    async def blocks() -> None:
        time.sleep(1.5)  # noqa: ASYNC251 - the blocking call the guard is for

    with LoopWatch() as watch:
        _run(watch, blocks())
    assert len(watch.reports) == 1
    assert "blocks()" in watch.reports[0] and " took 1." in watch.reports[0]


def test_a_cpu_bound_coroutine_fails_the_guard() -> None:
    async def computes() -> None:
        _spin(1.5)

    with LoopWatch() as watch:
        _run(watch, computes())
    assert len(watch.reports) == 1
    assert "computes()" in watch.reports[0]


def test_quick_callbacks_and_unwatched_loops_pass() -> None:
    async def blocks() -> None:
        time.sleep(0.3)  # noqa: ASYNC251 - on a loop the watch did not make

    async def quick() -> None:
        for _ in range(100):
            await asyncio.sleep(0)

    unwrapped = asyncio.Handle._run
    with LoopWatch(slow_s=0.2) as watch:
        assert asyncio.Handle._run is not unwrapped
        _run(watch, quick())
        asyncio.run(blocks())
    assert watch.reports == []
    assert asyncio.Handle._run is unwrapped


@contextmanager
def _sharing_one_cpu_with_hogs(hogs: int) -> Iterator[None]:
    """This thread and `hogs` busy processes pinned to one CPU, each running a share of it."""
    cpu = min(os.sched_getaffinity(0))
    pin = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nprint(flush=True)\nwhile True: pass"
    started = [
        subprocess.Popen([sys.executable, "-c", pin], stdout=subprocess.PIPE) for _ in range(hogs)
    ]
    mask = os.sched_getaffinity(0)
    try:
        for hog in started:
            assert hog.stdout is not None and hog.stdout.readline() == b"\n"  # pinned, spinning
        os.sched_setaffinity(0, {cpu})  # this thread only
        yield
    finally:
        os.sched_setaffinity(0, mask)
        for hog in started:  # at once: a hog left running skews every other measurement
            hog.kill()
        for hog in started:
            hog.wait()
            assert hog.stdout is not None
            hog.stdout.close()


@needs_schedstat
def test_a_callback_slowed_only_by_run_queue_waits_passes() -> None:
    cpu_s: list[float] = []

    async def busy_while_others_run() -> None:
        start, cpu = time.monotonic(), time.thread_time()
        while time.monotonic() - start < 1.2 * SLOW_CALLBACK_S:
            pass
        cpu_s.append(time.thread_time() - cpu)

    with LoopWatch() as watch, _sharing_one_cpu_with_hogs(2):
        wall_s = _run(watch, busy_while_others_run())
    # Busy past the limit on the wall clock (asyncio's own check failed here), but the CPU was
    # shared: the callback ran about a third of the time, and waited for a CPU the rest.
    assert wall_s >= SLOW_CALLBACK_S and cpu_s[0] < 0.6 * SLOW_CALLBACK_S, (wall_s, cpu_s)
    assert watch.reports == []


def test_without_schedstat_the_guard_keeps_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loop_guard, "SCHEDSTAT", str(tmp_path / "schedstat"))
    waited: list[int] = []
    reader = threading.Thread(target=lambda: waited.append(loop_guard.run_queue_wait_ns()))
    reader.start()  # a new thread: its schedstat is opened afresh, and found missing
    reader.join()
    assert waited == [0]


@contextmanager
def _a_thread_holding_the_gil(
    count: int, held_s: list[float]
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """A thread that, once told to go, holds the GIL through one C call, then stays alive (as
    a browser driver's thread does) until the block ends; yields the go and done events."""
    go, done, leave = threading.Event(), threading.Event(), threading.Event()

    def holds_the_gil() -> None:
        go.wait()
        start = time.thread_time()
        sum(range(count))  # one C call: the GIL is not let go until it returns
        held_s.append(time.thread_time() - start)
        done.set()
        leave.wait()

    other = threading.Thread(target=holds_the_gil)  # pinned as its starter is, if it is
    other.start()
    try:
        yield go, done
    finally:
        leave.set()
        other.join()


async def _waits_for(go_done: tuple[threading.Event, threading.Event]) -> None:
    go, done = go_done
    go.set()
    time.sleep(0.05)  # noqa: ASYNC251 - lets the other thread take the GIL, then waits
    done.wait()


def test_a_callback_that_waits_for_the_gil_another_thread_holds_passes() -> None:
    held_s: list[float] = []
    with LoopWatch(slow_s=0.5) as watch, _a_thread_holding_the_gil(60_000_000, held_s) as go_done:
        wall_s = _run(watch, _waits_for(go_done))
    # Past the limit on the wall clock, blocked by the other thread's CPU, not its own.
    assert wall_s >= 0.5 and held_s[0] >= 0.5, (wall_s, held_s)
    assert watch.reports == []


@needs_schedstat
def test_a_gil_wait_stretched_by_a_shared_cpu_passes() -> None:
    held_s: list[float] = []
    with (
        LoopWatch(slow_s=0.5) as watch,
        _sharing_one_cpu_with_hogs(2),
        _a_thread_holding_the_gil(40_000_000, held_s) as go_done,
    ):
        wall_s = _run(watch, _waits_for(go_done))
    # The holder ran about a third of the wall time and waited for the CPU the rest: its
    # waits, not only its CPU time, are what the callback slept through.
    assert wall_s >= 2 * held_s[0] >= 0.5, (wall_s, held_s)
    assert watch.reports == []
