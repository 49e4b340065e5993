"""The blocked-loop guard's clock: what an event-loop callback itself cost, less its CPU waits.

asyncio's own check (debug mode, ``slow_callback_duration``) times each callback on the wall
clock, so a callback whose thread sat ready on a run queue behind other processes looked
blocked: with six CPU hogs on two cores, console tests failed at "took 2-3 seconds" while no
callback blocked. Linux counts that wait per thread (``/proc/thread-self/schedstat``, second
field, in ns: sched_info's run_delay); what is left of the wall time is the callback's CPU time
plus its time asleep (``time.sleep``, a blocking read, a lock), the blocking the guard is for.
Asleep includes waiting for the GIL while another thread of the test process holds it (a
browser test's driver thread, a collection of garbage there): with two test workers on two
cores a console callback waited 1.05 s so. Time asleep is therefore counted only past what
the process's other threads spent on a CPU meanwhile, or ready and waiting for one (a loaded
machine stretches the GIL holder's turn: 1.56 s on a CPU in 3.74 s of wall); a callback
asleep on a lock that a busy thread holds is counted out the same way.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from asyncio.base_events import _format_handle  # type: ignore[attr-defined]  # as asyncio's
from collections.abc import Callable
from types import TracebackType

# A callback that holds the event loop this long is a bug: BLE notifications and MQTT
# keep-alives wait behind it. Generous, because CI machines are shared and noisy: with two
# test workers on two cores, callbacks of harness code were timed at 0.51-0.52 s (wall time,
# the process descheduled, run-queue waits not yet taken off), failing runs at 0.5 s.
SLOW_CALLBACK_S = 1.0

SCHEDSTAT = "/proc/thread-self/schedstat"
TASKS = "/proc/self/task"
# How stale the other threads' run-queue waits may be when a callback starts: reading every
# thread's schedstat costs about 1 us a thread, too much for every callback; the waits of
# the 50 ms before a slow callback, counted with it, are small against its 1 s bound.
OTHERS_EVERY_NS = 50_000_000
# Missing off Linux, or on a kernel built without CONFIG_SCHED_INFO: the guard then falls back
# to the wall clock (the run's summary says so once).
SCHEDSTAT_READABLE = os.path.exists(SCHEDSTAT)


class _ThreadSchedstat:
    """This thread's schedstat, opened once: a ``pread`` per callback costs about 1 us, an
    ``open`` about 10 us. The file is bound to the thread that opened it, hence one each."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open(SCHEDSTAT, os.O_RDONLY)
        except OSError:
            self._fd = None

    def times_ns(self) -> tuple[int, int]:
        """This thread's time on a CPU and time waiting for one; without the file, the thread's
        CPU clock (the same count, the scheduler's runtime of the thread, to a tick) and 0."""
        if self._fd is None:
            return time.thread_time_ns(), 0
        on_cpu, waited = os.pread(self._fd, 128, 0).split()[:2]
        return int(on_cpu), int(waited)

    def __del__(self) -> None:  # the thread has ended: its thread-local is dropped
        if self._fd is not None:
            os.close(self._fd)


_per_thread = threading.local()


def thread_times_ns() -> tuple[int, int]:
    """Nanoseconds the calling thread has spent on a CPU, and ready but waiting for one (0 if
    unknown): one read of its schedstat."""
    reader: _ThreadSchedstat | None = getattr(_per_thread, "schedstat", None)
    if reader is None:
        reader = _per_thread.schedstat = _ThreadSchedstat()
    return reader.times_ns()


class _OtherThreads:
    """The run-queue waits of the process's other threads, by thread id, each schedstat
    opened once (a thread that has ended drops out: its wait is no longer counted)."""

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}
        self.read_ns = 0
        self.waits: dict[str, int] = {}

    def read(self) -> dict[str, int]:
        own = str(threading.get_native_id())
        waits: dict[str, int] = {}
        try:
            tids = os.listdir(TASKS)
        except OSError:
            return waits
        for tid in tids:
            if tid == own:
                continue
            try:
                fd = self._fds.get(tid)
                if fd is None:
                    fd = self._fds[tid] = os.open(f"{TASKS}/{tid}/schedstat", os.O_RDONLY)
                waits[tid] = int(os.pread(fd, 128, 0).split()[1])
            except (OSError, IndexError, ValueError):
                self._forget(tid)
        for gone in self._fds.keys() - waits.keys():
            self._forget(gone)
        return waits

    def waited_since(self, before: dict[str, int]) -> int:
        """Nanoseconds the other threads waited for a CPU since ``before`` (a thread that
        started since counts whole)."""
        return sum(ns - before.get(tid, 0) for tid, ns in self.read().items())

    def _forget(self, tid: str) -> None:
        fd = self._fds.pop(tid, None)
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        for tid in list(self._fds):
            self._forget(tid)


def others_before(now_ns: int) -> _OtherThreads | None:
    """The calling thread's view of the other threads, their waits read at most
    ``OTHERS_EVERY_NS`` before ``now_ns``; None without schedstat."""
    if not SCHEDSTAT_READABLE:
        return None
    others: _OtherThreads | None = getattr(_per_thread, "others", None)
    if others is None:
        others = _per_thread.others = _OtherThreads()
    if now_ns - others.read_ns >= OTHERS_EVERY_NS:
        others.waits, others.read_ns = others.read(), now_ns
    return others


def run_queue_wait_ns() -> int:
    """Nanoseconds the calling thread has spent ready but waiting for a CPU; 0 if unknown."""
    return thread_times_ns()[1]


class LoopWatch:
    """Times every callback of the loops from :meth:`new_loop`, while entered.

    It wraps ``asyncio.Handle._run``, the one call through which a loop runs each callback and
    task step (asyncio's own debug timing sits around the same call), so callbacks of other
    loops pass through untimed.
    """

    def __init__(self, slow_s: float = SLOW_CALLBACK_S) -> None:
        self.slow_s = slow_s
        self.reports: list[str] = []
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._unwrapped: Callable[[asyncio.Handle], None] | None = None

    def new_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.SelectorEventLoop()
        loop.set_debug(True)  # its other checks: unawaited coroutines, calls from other threads
        loop.slow_callback_duration = float("inf")  # the wall-clock timing, replaced here
        self._loops.add(loop)
        return loop

    def __enter__(self) -> LoopWatch:
        unwrapped = self._unwrapped = asyncio.Handle._run
        watch = self

        def timed(handle: asyncio.Handle) -> None:
            if handle._loop not in watch._loops:  # type: ignore[attr-defined]
                unwrapped(handle)
                return
            start_ns, all_before = time.monotonic_ns(), time.process_time_ns()
            others = others_before(start_ns)
            own_before, waited_before = thread_times_ns()
            unwrapped(handle)
            wall_ns = time.monotonic_ns() - start_ns
            if wall_ns >= watch.slow_s * 1e9:  # else the wait cannot matter: no second read
                own_after, waited_after = thread_times_ns()
                own_ns = own_after - own_before
                others_ns = time.process_time_ns() - all_before - own_ns
                if others is not None:
                    others_ns += others.waited_since(others.waits)
                watch._judge(handle, wall_ns, waited_after - waited_before, own_ns, others_ns)

        asyncio.Handle._run = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._unwrapped is not None:
            asyncio.Handle._run = self._unwrapped  # type: ignore[method-assign]

    def _judge(
        self, handle: asyncio.Handle, wall_ns: int, waited_ns: int, own_ns: int, others_ns: int
    ) -> None:
        asleep_ns = wall_ns - waited_ns - own_ns
        cost_s = (own_ns + max(0, asleep_ns - others_ns)) / 1e9
        if cost_s >= self.slow_s:
            self.reports.append(
                f"Executing {_format_handle(handle)} took {cost_s:.3f} seconds"
                f" ({wall_ns / 1e9:.3f} s on the wall clock, {waited_ns / 1e9:.3f} s of it"
                f" waiting for a CPU, {own_ns / 1e9:.3f} s on one, other threads"
                f" {others_ns / 1e9:.3f} s on a CPU or waiting for one)"
            )
