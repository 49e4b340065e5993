"""How the hub waits out a storage outage: one policy for every loop that needs the database.

The ingest's store, the receipts' reads and marks and the FHIR export's scan meet the same
outage (a PostgreSQL restart, SQLite's disk gone) and wait it out the same way: the project's
backoff (`stetho_common.backoff`), one log line per wait naming the loop, never giving up.

Capped at 10 s, not the links' 60 s: the longest wait is how long the hub may sit idle once the
database is back, and a try costs one local connect and one log line. With 60 s, PostgreSQL
down a minute left the hub idle 24-42 s after it was back (measured; up to 60 s); with 10 s,
2-9 s, for one line every 5-10 s per waiting loop (docs/hospital.md §3). A 5 s cap would save
2 s more for twice the journal's lines.
"""

from __future__ import annotations

import asyncio
import logging

from stetho_common import persistent_delay
from stetho_hub.errors import StorageUnavailableError

__all__ = ["STORAGE_MAX_DELAY_S", "StorageOutage", "storage_delay"]

log = logging.getLogger(__name__)
STORAGE_MAX_DELAY_S = 10.0


def storage_delay(attempt: int, error: BaseException) -> float:
    """Seconds before the storage is tried again after `attempt` + 1 failures in a row: 0.5-1 s,
    then doubling up to STORAGE_MAX_DELAY_S."""
    return persistent_delay(attempt, error, cap_s=STORAGE_MAX_DELAY_S)


class StorageOutage:
    """One loop's failures in a row: each is logged under the loop's name (`during`), then
    waited out; `ended()` once the storage answered, so the next outage starts at 0.5-1 s."""

    def __init__(self, during: str) -> None:
        self.during = during
        self.attempt = 0

    async def wait(self, error: StorageUnavailableError) -> None:
        delay = storage_delay(self.attempt, error)
        log.error(
            "event=storage_unavailable error=%r during=%s retry_in_s=%.1f",
            str(error), self.during, delay,
        )  # fmt: skip
        self.attempt += 1
        await asyncio.sleep(delay)

    def ended(self) -> None:
        self.attempt = 0
