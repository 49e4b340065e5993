"""The hub's one storage-outage policy: the waits it draws, the line it logs, the sleep it takes.

The loops that use it (the ingest's store, the receipts, the FHIR export) are tested with it in
test_ingest_service.py and fhir/test_from_archive.py, its delay patched there in its one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

import pytest

from stetho_common import Response
from stetho_hub.errors import StorageUnavailableError
from stetho_hub.storage import STORAGE_MAX_DELAY_S, StorageOutage, outage, storage_delay

DOWN = StorageUnavailableError("PostgreSQL: the database system is starting up")


def test_the_waits_double_from_half_a_second_up_to_the_storage_cap() -> None:
    assert all(0.5 <= storage_delay(0, DOWN) <= 1.0 for _ in range(50))
    assert all(4.0 <= storage_delay(3, DOWN) <= 8.0 for _ in range(50))
    for attempt in (10, 50, 10**6):  # a night's outage: never longer than the cap
        waits = [storage_delay(attempt, DOWN) for _ in range(200)]
        assert min(waits) >= STORAGE_MAX_DELAY_S / 2 and max(waits) <= STORAGE_MAX_DELAY_S


def test_the_hub_tries_the_database_again_within_10_s_however_long_it_was_down() -> None:
    # The idle time once it is back (the broker links' 60 s let it idle up to a minute).
    waits = [storage_delay(attempt, DOWN) for attempt in range(40) for _ in range(20)]
    assert max(waits) <= 10.0 and STORAGE_MAX_DELAY_S == 10.0


def test_a_storage_error_that_says_it_repeats_waits_the_longest_from_the_first() -> None:
    class Refused(StorageUnavailableError):
        response: ClassVar[Response] = Response.RETRY_LATER  # as a refused password would

    assert storage_delay(0, Refused("password authentication failed")) == STORAGE_MAX_DELAY_S


def test_each_wait_is_logged_under_its_loop_counted_and_slept(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked: list[tuple[int, BaseException]] = []

    def delay(attempt: int, error: BaseException) -> float:
        asked.append((attempt, error))
        return 0.05

    monkeypatch.setattr(outage, "storage_delay", delay)
    caplog.set_level(logging.ERROR, logger=outage.__name__)
    waits = StorageOutage("receipts")

    async def outages() -> list[float]:
        slept = []
        for _ in range(3):
            started = time.monotonic()
            await waits.wait(DOWN)
            slept.append(time.monotonic() - started)
        waits.ended()  # the storage answered: the next outage starts over
        await waits.wait(DOWN)
        return slept

    slept = asyncio.run(outages())
    assert asked == [(0, DOWN), (1, DOWN), (2, DOWN), (0, DOWN)]
    assert min(slept) >= 0.05  # a pause before the next try, not a spin
    line = (
        "event=storage_unavailable error='PostgreSQL: the database system is starting up'"
        " during=receipts retry_in_s=0.1"
    )
    assert [r.getMessage() for r in caplog.records] == [line] * 4
