"""Waiting with a time limit, or for a task to end, in a way that a stop always ends.

Python 3.11's ``asyncio.wait_for`` returns the awaited result when a cancellation arrives in
the same turn of the loop as that result, and drops the cancellation (CPython gh-86296, fixed
in 3.12 by building ``wait_for`` on ``asyncio.timeout``). A loop that then waits again never
stops: one in ten `stetho demo --serve` runs hung on SIGTERM so, in the receipts loop, as the
hub's receipts kept coming. ``asyncio.timeout`` counts its own cancellations apart from the
caller's, so every wait with a limit goes through :func:`within`.

Waiting for a task one has cancelled has the same trap: suppressing its CancelledError also
suppresses one aimed at the caller in the meantime. :func:`stopped` and :func:`ended` wait
with ``asyncio.wait``, which raises only the caller's cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["ended", "stopped", "within"]

T = TypeVar("T")


async def within(timeout_s: float, awaitable: Awaitable[T]) -> T | None:
    """What ``awaitable`` gives, or None when ``timeout_s`` seconds pass first.

    A cancellation of the caller always propagates, even when it comes with the result.

    Examples
    --------
    >>> import asyncio
    >>> asyncio.run(within(0.01, asyncio.Event().wait())) is None
    True
    """
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        return None


async def stopped(*tasks: asyncio.Future[Any]) -> None:
    """Cancel every task and wait until all have ended, even when the caller is cancelled.

    A stop of the caller meanwhile does not cut the tasks' clean-up short (they are not
    cancelled twice); it propagates once they have ended. Their own cancellations end here;
    the first other exception a task raised propagates after that.
    """
    for task in tasks:
        task.cancel()
    caller_cancelled = False
    while pending := [task for task in tasks if not task.done()]:
        try:
            await asyncio.wait(pending)  # never raises what the tasks raise, never cancels them
        except asyncio.CancelledError:
            caller_cancelled = True
    if caller_cancelled:
        raise asyncio.CancelledError
    _raise_error_of(tasks)


async def ended(task: asyncio.Future[Any]) -> None:
    """Wait until ``task`` has ended, without cancelling it when the caller is cancelled.

    Its cancellation by someone else ends here; what else it raises, and a cancellation of
    the caller, propagate.
    """
    await asyncio.wait((task,))
    _raise_error_of((task,))


def _raise_error_of(tasks: tuple[asyncio.Future[Any], ...]) -> None:
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
