"""Waiting for something with a time limit, in a way that a stop always ends.

Python 3.11's ``asyncio.wait_for`` returns the awaited result when a cancellation arrives in
the same turn of the loop as that result, and drops the cancellation (CPython gh-86296, fixed
in 3.12 by building ``wait_for`` on ``asyncio.timeout``). A loop that then waits again never
stops: one in ten `stetho demo --serve` runs hung on SIGTERM so, in the receipts loop, as the
hub's receipts kept coming. ``asyncio.timeout`` counts its own cancellations apart from the
caller's, so every wait with a limit goes through :func:`within`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["within"]

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
