"""The durable outbox: every message is on disk (SQLite, WAL, synchronous=FULL) before it is sent.

A message leaves the outbox only after the broker's PUBACK. The admission rule is a pure
function, so quota behaviour is tested without filling a disk.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge_agent.errors import OutboxError, OutboxFullError
from edge_agent.storage import receipts
from stetho_common.private_files import private_dir, private_file

T = TypeVar("T")
# Page cache per connection, KiB (SQLite's default is 2000). Payloads are written once and read
# once, so a cache mostly holds FLAC pages no one reads again; each connection filled its 2 MB
# in the first recordings and kept it (issue 18). This keeps the tables' and indexes' pages.
CACHE_KIB = 512

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id TEXT,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    content_type TEXT,
    expiry_s INTEGER,
    user_properties TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
);
-- Payloads live apart: marking a message sent then rewrites a small row, not its FLAC.
CREATE TABLE IF NOT EXISTS payloads (
    seq INTEGER PRIMARY KEY REFERENCES messages (seq),
    payload BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS payloads_follow AFTER DELETE ON messages
BEGIN DELETE FROM payloads WHERE seq = old.seq; END;
CREATE INDEX IF NOT EXISTS messages_unsent ON messages (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_sent_at ON messages (sent_at) WHERE sent_at IS NOT NULL;
"""


@dataclass(frozen=True)
class OutboundMessage:
    """One MQTT publish, as the outbox stores it."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    content_type: str | None = None
    expiry_s: int | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    recording_id: str | None = None


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    created_at: float
    message: OutboundMessage


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending_at: float | None
    used_bytes: int
    quota_bytes: int
    free_disk_bytes: int

    @property
    def used_fraction(self) -> float:
        return self.used_bytes / self.quota_bytes


@dataclass(frozen=True)
class Admission:
    accept: bool
    alarm: bool
    reason: str | None


def _wall_clock() -> float:
    return time.time()  # looked up at each call, so a test may patch time.time


def admit(
    used_bytes: int,
    incoming_bytes: int,
    quota_bytes: int,
    free_disk_bytes: int,
    min_free_disk_bytes: int,
    alarm_fraction: float,
) -> Admission:
    """Decide whether a new recording fits; never by deleting an unsent one.

    The alarm rises before refusal so that the care home hears of it while
    recordings are still accepted.
    """
    after = used_bytes + incoming_bytes
    if after > quota_bytes:
        return Admission(
            False, True, f"outbox quota reached ({after} of {quota_bytes} bytes): recording refused"
        )
    if free_disk_bytes - incoming_bytes < min_free_disk_bytes:
        return Admission(
            False,
            True,
            f"disk nearly full ({free_disk_bytes} bytes free, {min_free_disk_bytes} kept in "
            "reserve): recording refused",
        )
    if after >= alarm_fraction * quota_bytes:
        return Admission(True, True, f"outbox at {after / quota_bytes:.0%} of its quota")
    return Admission(True, False, None)


class OutboxStore:
    """Synchronous SQLite store; use it from one thread (the async Outbox does)."""

    def __init__(
        self,
        path: Path,
        quota_bytes: int,
        alarm_fraction: float = 0.9,
        min_free_disk_bytes: int = 32 * 1024 * 1024,
        await_receipts: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        try:  # a state_dir under a file, or one this user may not write (`stetho run` by hand)
            private_dir(path.parent)  # the state directory holds health data: 0700
            for suffix in ("", "-wal", "-shm"):  # SQLite gives its WAL and -shm the file's mode
                if suffix == "" or Path(f"{path}{suffix}").exists():
                    private_file(Path(f"{path}{suffix}"))
        except OSError as exc:
            raise OutboxError(f"cannot open the outbox {path}: {exc.strerror}") from exc
        self.await_receipts = await_receipts
        # Wall time (tests pass a simulated one): sent_at and receipt waits outlive a restart.
        self._clock = clock if clock is not None else _wall_clock
        self.path = path
        self.quota_bytes = quota_bytes
        self.alarm_fraction = alarm_fraction
        self.min_free_disk_bytes = min_free_disk_bytes
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a crash of this process.
            self._db.execute("PRAGMA synchronous=FULL")
            # Checkpoint every ~400 KB and cap the WAL: the free-space check cannot foresee
            # a WAL that grows by megabytes between checkpoints on a small SD card.
            self._db.execute("PRAGMA wal_autocheckpoint=100")
            # FAST: no zero-filling of every freed page (Debian builds default to ON), which
            # would push megabytes through the WAL exactly when the disk is full.
            self._db.execute("PRAGMA secure_delete=FAST")
            self._db.execute(f"PRAGMA journal_size_limit={2 * 1024 * 1024}")
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._db.executescript(_SCHEMA)
            self._db.executescript(receipts.SCHEMA)
            receipts.upgrade(self._db)
            # A second connection for the publisher's reads: in WAL mode it reads committed
            # rows while the writer is busy in fsync, so draining never waits on a commit.
            self._reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._reader.execute("PRAGMA query_only=1")
            self._reader.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open the outbox {path}: {exc}") from exc

    def close(self) -> None:
        self._reader.close()
        self._db.close()

    def _page_bytes(self) -> tuple[int, int]:
        """Bytes in use and bytes of freed pages inside the database file."""
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size), int(free * page_size)

    def admission(self, incoming_bytes: int) -> Admission:
        used, reusable = self._page_bytes()
        # Pages freed inside the file count as free: SQLite reuses them before growing it.
        free = shutil.disk_usage(self.path.parent).free + reusable
        return admit(
            used,
            incoming_bytes,
            self.quota_bytes,
            free,
            self.min_free_disk_bytes,
            self.alarm_fraction,
        )

    def put_many(self, messages: list[OutboundMessage]) -> list[int]:
        """Store messages atomically (all or none); raise OutboxFullError when they do not fit."""
        return self.put_admitted(messages)[0]

    def put_admitted(self, messages: list[OutboundMessage]) -> tuple[list[int], Admission]:
        """`put_many`, returning also the admission that let them in (with its alarm).

        Returned, not kept on the store: two devices storing at once must each see their own.
        """
        incoming = sum(len(m.payload) + len(m.topic) + 200 for m in messages)
        decision = self.admission(incoming)
        if not decision.accept and self._drop_sent():
            decision = self.admission(incoming)  # sent copies made room: try again
        if not decision.accept:
            raise OutboxFullError(decision.reason or "outbox full")
        now = self._clock()
        rows = [_to_row(m, now) for m in messages]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            seqs = []
            for row, message in zip(rows, messages, strict=True):
                seq = self._db.execute(_INSERT, row).lastrowid or 0
                self._db.execute("INSERT INTO payloads VALUES (?, ?)", (seq, message.payload))
                seqs.append(seq)
            if self.await_receipts:
                receipts.expect_receipts(self._db, messages, now)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                raise OutboxFullError(f"disk full while storing: {exc}") from exc
            raise OutboxError(f"cannot store in the outbox: {exc}") from exc
        return seqs, decision

    def _drop_sent(self) -> int:
        """Delete every acknowledged message (kept only as a courtesy); never an unsent one."""
        try:
            return self._db.execute(
                f"DELETE FROM messages WHERE sent_at IS NOT NULL {_SAFE}"  # noqa: S608
            ).rowcount
        except sqlite3.Error:  # on a full disk even a DELETE can fail (the WAL needs room)
            return 0

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # no transaction was open
            self._db.execute("ROLLBACK")

    def has_recording(self, recording_id: str) -> bool:
        """True if any message of this recording is stored, sent or not (journal recovery)."""
        row = self._db.execute(
            "SELECT 1 FROM messages WHERE recording_id = ? LIMIT 1", (recording_id,)
        ).fetchone()
        return row is not None

    def payloads_on(self, topic: str) -> list[bytes]:
        """Payloads of every stored message on `topic`, sent or not, oldest first."""
        cursor = self._reader.execute(
            "SELECT payload FROM messages JOIN payloads USING (seq) WHERE topic = ? ORDER BY seq",
            (topic,),
        )
        return [bytes(row[0]) for row in cursor.fetchall()]

    def pending(self, limit: int, after_seq: int = 0) -> list[StoredMessage]:
        """The oldest unsent messages after `after_seq` (reader connection, committed rows)."""
        cursor = self._reader.execute(
            "SELECT seq, created_at, recording_id, topic, payload, qos, retain, content_type,"
            " expiry_s, user_properties FROM messages JOIN payloads USING (seq)"
            " WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [_from_row(row) for row in cursor.fetchall()]

    def mark_sent(self, seq: int) -> None:
        self.mark_sent_many([seq])

    def mark_sent_many(self, seqs: list[int]) -> None:
        """One transaction (one fsync) for a batch of PUBACKs."""
        now = self._clock()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "UPDATE messages SET sent_at = ? WHERE seq = ?", [(now, seq) for seq in seqs]
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()  # left unsent: it will be published again (a duplicate, not a loss)
            raise OutboxError(f"cannot mark messages sent: {exc}") from exc

    def prune_sent(self, older_than_s: float) -> int:
        cutoff = self._clock() - older_than_s
        cursor = self._db.execute(
            f"DELETE FROM messages WHERE sent_at IS NOT NULL AND sent_at < ? {_SAFE}",  # noqa: S608
            (cutoff,),
        )
        receipts.forget_archived(self._db, cutoff)
        return cursor.rowcount

    def apply_receipt(self, recording_id: str, audio_sha256: str) -> receipts.ReceiptOutcome:
        return self._in_transaction(
            lambda: receipts.apply_receipt(self._db, recording_id, audio_sha256, self._clock())
        )

    def resend_overdue(self, policy: receipts.ResendPolicy) -> list[str]:
        """Recordings whose wait for a receipt is over, queued again (their ids)."""
        return self._in_transaction(
            lambda: receipts.resend_overdue(self._db, policy, self._clock())
        )

    def receipt_stats(self) -> receipts.ReceiptStats:
        return receipts.receipt_stats(self._db)

    def _in_transaction(self, work: Callable[[], T]) -> T:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            result = work()
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise OutboxError(f"cannot update receipts in the outbox: {exc}") from exc
        return result

    def stats(self) -> OutboxStats:
        count, oldest = self._db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM messages WHERE sent_at IS NULL"
        ).fetchone()
        return OutboxStats(
            pending=int(count),
            oldest_pending_at=oldest,
            used_bytes=self._page_bytes()[0],
            quota_bytes=self.quota_bytes,
            free_disk_bytes=shutil.disk_usage(self.path.parent).free,
        )


# Sent copies that may go: never those of a recording still waiting for the hospital's receipt.
# (Queries built from these constant fragments bind every value: the S608 notes are reviewed.)
_SAFE = f"AND (recording_id IS NULL OR recording_id NOT IN ({receipts.AWAITING}))"

_INSERT = (
    "INSERT INTO messages (recording_id, topic, qos, retain, content_type, expiry_s,"
    " user_properties, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _to_row(message: OutboundMessage, now: float) -> tuple[Any, ...]:
    return (
        message.recording_id,
        message.topic,
        message.qos,
        int(message.retain),
        message.content_type,
        message.expiry_s,
        json.dumps(message.user_properties),
        now,
    )


def _from_row(row: tuple[Any, ...]) -> StoredMessage:
    seq, created_at, recording_id, topic, payload, qos, retain, ctype, expiry, props = row
    message = OutboundMessage(
        topic=topic,
        payload=bytes(payload),
        qos=int(qos),
        retain=bool(retain),
        content_type=ctype,
        expiry_s=expiry,
        user_properties=tuple((str(k), str(v)) for k, v in json.loads(props)),
        recording_id=recording_id,
    )
    return StoredMessage(seq=int(seq), created_at=float(created_at), message=message)
