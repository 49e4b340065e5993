"""The durable outbound queue of FHIR Bundles: one SQLite row per exam.

The decisions (what is due, how long to wait after a failure) are pure functions; `FhirQueue`
only stores their results. A Bundle is marked sent only after the server answered 2xx to
the transaction; a crash in between sends it again, which the conditional creates make
harmless. Every call takes `now` (Unix seconds) instead of reading the clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

from stetho_common import next_delay
from stetho_hub.fhir.errors import FhirConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fhir_outbox (
    exam_id TEXT PRIMARY KEY,
    bundle BLOB NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,            -- queued | sent | rejected
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    queued_at REAL NOT NULL,
    sent_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS fhir_outbox_due ON fhir_outbox (state, next_at);
"""


class State(Enum):
    QUEUED = "queued"
    SENT = "sent"
    REJECTED = "rejected"


@dataclasses.dataclass(frozen=True)
class Backoff:
    """The project's one backoff (`stetho_common.next_delay`) with the FHIR queue's range."""

    base_s: float = 2.0
    max_s: float = 600.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds before the next try after `attempts` failures (>= 1); pure but for jitter.

        Full jitter over the upper half keeps hubs that lost the same server from
        retrying in lockstep when it comes back.
        """
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        delay = next_delay(attempts - 1, None, base_s=self.base_s, cap_s=self.max_s, rng=rng)
        assert delay is not None  # a transient failure always has a delay
        return delay


@dataclasses.dataclass(frozen=True)
class Pending:
    exam_id: str
    bundle: bytes
    digest: str
    attempts: int


@dataclasses.dataclass(frozen=True)
class QueueStatus:
    """What the console and `stetho hub status` show."""

    queued: int
    sent: int
    failing: int  # queued after at least one failure, or rejected
    rejected: int
    last_error: str | None
    next_attempt_at: float | None


def digest(bundle: bytes) -> str:
    return hashlib.sha256(bundle).hexdigest()


class FhirQueue:
    """SQLite-backed queue, safe to call from the loop's worker threads (one lock)."""

    def __init__(self, path: Path, backoff: Backoff = Backoff()) -> None:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # health data: owner only
            os.close(fd)
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=30.0, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a sent mark survives power loss
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise FhirConfigError(f"cannot open the FHIR queue at {path}: {exc}") from exc
        self.backoff = backoff
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def enqueue(self, exam_id: str, bundle: bytes, now: float) -> bool:
        """Queue the exam's Bundle; False when these exact bytes are already queued or sent.

        A changed Bundle (a doctor's disposition made it final) replaces the old one and
        is sent again, whatever the old one's state.
        """
        d = digest(bundle)
        with self._tx() as db:
            row = db.execute(
                "SELECT digest FROM fhir_outbox WHERE exam_id=?", (exam_id,)
            ).fetchone()
            if row is not None and row[0] == d:
                return False
            db.execute(
                "INSERT OR REPLACE INTO fhir_outbox "
                "(exam_id, bundle, digest, state, attempts, next_at, queued_at) "
                "VALUES (?, ?, ?, 'queued', 0, ?, ?)",
                (exam_id, bundle, d, now, now),
            )
        return True

    def next_due(self, now: float) -> Pending | None:
        rows = self._read(
            "SELECT exam_id, bundle, digest, attempts FROM fhir_outbox "
            "WHERE state='queued' AND next_at<=? ORDER BY next_at, queued_at LIMIT 1",
            (now,),
        )
        if not rows:
            return None
        exam_id, bundle, d, attempts = rows[0]
        return Pending(str(exam_id), bytes(bundle), str(d), int(attempts))

    def next_wake(self) -> float | None:
        rows = self._read("SELECT MIN(next_at) FROM fhir_outbox WHERE state='queued'")
        value = rows[0][0] if rows else None
        return None if value is None else float(value)

    def mark_sent(self, item: Pending, now: float) -> None:
        # The digest guard: a Bundle replaced while in flight stays queued.
        with self._tx() as db:
            db.execute(
                "UPDATE fhir_outbox SET state='sent', sent_at=?, last_error=NULL "
                "WHERE exam_id=? AND digest=?",
                (now, item.exam_id, item.digest),
            )

    def mark_failed(self, item: Pending, now: float, error: str, retry: bool) -> float | None:
        """Record a failure; return when the next try is due, or None when rejected."""
        attempts = item.attempts + 1
        next_at = now + self.backoff.delay(attempts) if retry else None
        state = State.QUEUED.value if retry else State.REJECTED.value
        with self._tx() as db:
            db.execute(
                "UPDATE fhir_outbox SET state=?, attempts=?, next_at=COALESCE(?, next_at), "
                "last_error=? WHERE exam_id=? AND digest=?",
                (state, attempts, next_at, error[:500], item.exam_id, item.digest),
            )
        return next_at

    def retry_rejected(self, now: float) -> int:
        """Queue every rejected Bundle again (after the mapping or the server was fixed)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE fhir_outbox SET state='queued', next_at=? WHERE state='rejected'", (now,)
            )
            return cur.rowcount

    def status(self) -> QueueStatus:
        counts = {
            str(state): int(n)
            for state, n in self._read("SELECT state, COUNT(*) FROM fhir_outbox GROUP BY state")
        }
        failing = self._read(
            "SELECT COUNT(*) FROM fhir_outbox WHERE state='rejected' "
            "OR (state='queued' AND attempts>0)"
        )[0][0]
        last = self._read(
            "SELECT last_error FROM fhir_outbox WHERE last_error IS NOT NULL AND state!='sent' "
            "ORDER BY next_at DESC LIMIT 1"
        )
        return QueueStatus(
            queued=counts.get("queued", 0),
            sent=counts.get("sent", 0),
            failing=int(failing),
            rejected=counts.get("rejected", 0),
            last_error=str(last[0][0]) if last else None,
            next_attempt_at=self.next_wake(),
        )
