"""An aiohttp application served on a Unix socket from a thread, as the agent serves the exam
API: the `stetho exam` tests call it as the nurse's terminal would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web


@contextmanager
def serving_on_socket(
    build: Callable[[], web.Application], socket: Path
) -> Iterator[asyncio.AbstractEventLoop]:
    """`build()`'s application listening on `socket` until the block ends; its loop, for a test
    to act on the service as a stethoscope would."""
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()

    async def serve() -> None:
        runner = web.AppRunner(build())
        await runner.setup()
        await web.UnixSite(runner, str(socket)).start()
        started.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert started.wait(10), "the exam API did not start"
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
