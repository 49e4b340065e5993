"""Every asyncio loop in these tests runs in debug mode and fails the test if it was blocked.

Debug mode also rejects loop calls from foreign threads. The threshold is generous (1 s) because
the machine is shared; it catches a blocking read or sleep on the loop, not slowness.
"""

from __future__ import annotations

import asyncio.base_events
import logging
from collections.abc import Iterator

import pytest

BLOCKED_LOOP_S = 1.0


@pytest.fixture(autouse=True)
def fail_if_the_loop_is_blocked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    monkeypatch.setenv("PYTHONASYNCIODEBUG", "1")
    original_init = asyncio.base_events.BaseEventLoop.__init__

    def init_with_threshold(self: asyncio.base_events.BaseEventLoop) -> None:
        original_init(self)
        self.slow_callback_duration = BLOCKED_LOOP_S

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "__init__", init_with_threshold)
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield
    blocked = [r.getMessage() for r in caplog.records
               if r.name == "asyncio" and "took" in r.getMessage()]  # fmt: skip
    assert not blocked, f"the event loop was blocked: {blocked}"
