"""One way to wait in tests and benches: poll a condition until it holds or a deadline passes.

A test waits on something another process or thread does (an agent stores a recording, a
broker acks, a status file changes). Every wait used to hand-write its loop; this is that loop
once, so each wait states only what it waits for, how long, how often, and what to show when
it fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T | None],
    timeout_s: float,
    *,
    every_s: float = 0.05,
    what: str = "the condition",
    describe: Callable[[], object] | None = None,
    alive: Callable[[], bool] | None = None,
) -> T:
    """`check()`'s first truthy value, called every `every_s` until `timeout_s` has passed.

    `check` is called at least once, even with no time left. `describe`, if given, tells the
    last state for the failure message (e.g. "agents stored 3 of 5"). `alive`, if given, is
    asked after each failed check: once it is false (the process the wait depends on died)
    waiting on is pointless, so the wait fails at once.

    Raises TimeoutError once the deadline passes (as asyncio.timeout does), AssertionError
    when `alive()` is false; exceptions from `check` pass through.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if alive is not None and not alive():
            raise AssertionError(_message(f"stopped waiting for {what}: it died", describe))
        if time.monotonic() >= deadline:
            raise TimeoutError(_message(f"waited {timeout_s} s for {what}", describe))
        time.sleep(every_s)


async def eventually(
    check: Callable[[], T | None],
    timeout_s: float,
    every_s: float = 0.02,
    *,
    what: str = "the condition",
    describe: Callable[[], object] | None = None,
) -> T:
    """`wait_until` for a coroutine: the event loop runs between checks (the code under test
    shares it), so the sleep is asyncio's."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(_message(f"waited {timeout_s} s for {what}", describe))
        await asyncio.sleep(every_s)


def _message(head: str, describe: Callable[[], object] | None) -> str:
    return head if describe is None else f"{head}; {describe()}"
