"""Receipts: a recording stays in the outbox until the hospital says it archived it.

PUBACK only proves that the broker took a message. With receipts on, the outbox keeps every
recording's metadata and audio, sent or not, until the hub's `stetho.receipt` names it with the
SHA-256 of the very FLAC bytes it archived; a recording that waits too long is sent again.
Each recording's re-sends back off with the project's one policy (`stetho_common.backoff`):
a hub that falls behind must not get more to do (docs/hospital.md saw 3,350 re-sends of 146
recordings without it). The attempt count and the wait it drew live in the recording's row,
so a restart resumes the backoff instead of hammering again.
These functions run inside the outbox's own connection (and its transactions).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from stetho_common.backoff import persistent_delay

__all__ = [
    "AWAITING",
    "SCHEMA",
    "ReceiptOutcome",
    "ReceiptStats",
    "ResendPolicy",
    "apply_receipt",
    "expect_receipts",
    "receipt_stats",
    "resend_overdue",
    "upgrade",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    recording_id TEXT PRIMARY KEY,
    audio_sha256 TEXT NOT NULL,
    stored_at REAL NOT NULL,
    resent INTEGER NOT NULL DEFAULT 0,
    archived_at REAL,
    attempt INTEGER NOT NULL DEFAULT 0,
    wait_s REAL
);
CREATE INDEX IF NOT EXISTS receipts_awaiting ON receipts (stored_at) WHERE archived_at IS NULL;
"""
# Recordings the hospital has not confirmed: their messages are never pruned or dropped.
AWAITING = "SELECT recording_id FROM receipts WHERE archived_at IS NULL"
# What the hub archives (and so what is sent again): the metadata and the FLAC, not the triage
# or the alert, which a doctor must not receive twice.
_ARCHIVED_TOPICS = "(topic LIKE '%/recordings' OR topic LIKE '%/recordings/audio')"
FLAC = "audio/flac"
# Columns added after the first release, with how to add them to an older outbox.
_ADDED = {
    "attempt": "ALTER TABLE receipts ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0",
    "wait_s": "ALTER TABLE receipts ADD COLUMN wait_s REAL",
}


class _Stored(Protocol):
    @property
    def payload(self) -> bytes: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def recording_id(self) -> str | None: ...


class ReceiptOutcome(Enum):
    ARCHIVED = "archived"  # first receipt for a recording we hold: it is safe at the hospital
    ALREADY = "already"  # a repeated receipt (the hub re-sends after re-delivery): nothing to do
    MISMATCH = "mismatch"  # the hub holds other bytes: send ours again at once
    UNKNOWN = "unknown"  # no such recording waits here (another agent's, or long forgotten)


@dataclass(frozen=True)
class ResendPolicy:
    """When a recording without a receipt goes again: `timeout_s` after it was sent, then after
    waits that double (with jitter) up to `cap_s`; at most `per_pass` recordings at a time.

    `per_pass` bounds the burst after a long outage: each pass (runtime/receipts.py runs one
    every `timeout_s / 4`, 0.5-60 s) queues the longest-waiting recordings first.
    """

    timeout_s: float
    cap_s: float
    per_pass: int = 32

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.cap_s < self.timeout_s:
            raise ValueError(f"cap_s ({self.cap_s}) must be >= timeout_s ({self.timeout_s})")
        if self.per_pass < 1:
            raise ValueError(f"per_pass must be >= 1, got {self.per_pass}")

    def wait_after(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after re-send number `attempt` (1, 2, ...) before the next one.

        ``persistent_delay(attempt)`` with the timeout as base: the ceiling after the first
        re-send is twice the timeout and the draw its upper half, so no wait is below it.
        """
        return persistent_delay(attempt, None, base_s=self.timeout_s, cap_s=self.cap_s, rng=rng)


@dataclass(frozen=True)
class ReceiptStats:
    awaiting: int
    oldest_stored_at: float | None
    resent_total: int


def expect_receipts(db: sqlite3.Connection, messages: Sequence[_Stored], now: float) -> None:
    """Record that each recording among `messages` (its FLAC) awaits a receipt."""
    for message in messages:
        if message.recording_id is not None and message.content_type == FLAC:
            digest = hashlib.sha256(message.payload).hexdigest()
            db.execute(
                "INSERT OR IGNORE INTO receipts (recording_id, audio_sha256, stored_at)"
                " VALUES (?, ?, ?)",
                (message.recording_id, digest, now),
            )


def apply_receipt(
    db: sqlite3.Connection, recording_id: str, audio_sha256: str, now: float
) -> ReceiptOutcome:
    row = db.execute(
        "SELECT audio_sha256, archived_at FROM receipts WHERE recording_id = ?", (recording_id,)
    ).fetchone()
    if row is None:
        return ReceiptOutcome.UNKNOWN
    expected, archived_at = row
    if archived_at is not None:
        return ReceiptOutcome.ALREADY
    if expected != audio_sha256:
        _send_again(db, recording_id)
        # The hub answered: its next silence starts a new backoff, from the timeout.
        db.execute(
            "UPDATE receipts SET attempt = 0, wait_s = NULL WHERE recording_id = ?",
            (recording_id,),
        )
        return ReceiptOutcome.MISMATCH
    db.execute("UPDATE receipts SET archived_at = ? WHERE recording_id = ?", (now, recording_id))
    return ReceiptOutcome.ARCHIVED


def resend_overdue(
    db: sqlite3.Connection, policy: ResendPolicy, now: float, rng: random.Random | None = None
) -> list[str]:
    """Queue again the recordings whose wait since their last send is over, oldest first.

    A recording waits `policy.timeout_s` after its first send, then the wait its last re-send
    drew; one with a copy still unsent (the broker is away) is not queued twice.
    """
    overdue = [
        (str(rid), int(attempt))
        for (rid, attempt) in db.execute(
            "SELECT recording_id, attempt FROM (SELECT r.recording_id, r.attempt, r.wait_s,"  # noqa: S608
            " (SELECT MAX(m.sent_at) FROM messages m WHERE m.recording_id = r.recording_id"
            f" AND {_ARCHIVED_TOPICS}) AS last_sent FROM receipts r WHERE r.archived_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.recording_id = r.recording_id"
            f" AND m.sent_at IS NULL AND {_ARCHIVED_TOPICS}))"
            " WHERE last_sent < ? - COALESCE(wait_s, ?) ORDER BY last_sent LIMIT ?",
            (now, policy.timeout_s, policy.per_pass),
        )
    ]
    for recording_id, attempt in overdue:
        _send_again(db, recording_id)
        db.execute(
            "UPDATE receipts SET attempt = ?, wait_s = ? WHERE recording_id = ?",
            (attempt + 1, policy.wait_after(attempt + 1, rng), recording_id),
        )
    return [recording_id for recording_id, _ in overdue]


def _send_again(db: sqlite3.Connection, recording_id: str) -> None:
    """Copies as new rows (new seqs, so the publisher's cursor meets them), originals deleted."""
    old = [
        seq
        for (seq,) in db.execute(
            f"SELECT seq FROM messages WHERE recording_id = ? AND {_ARCHIVED_TOPICS}"  # noqa: S608
            " AND sent_at IS NOT NULL ORDER BY seq",
            (recording_id,),
        )
    ]
    for seq in old:
        new = db.execute(
            "INSERT INTO messages (recording_id, topic, qos, retain, content_type, expiry_s,"
            " user_properties, created_at) SELECT recording_id, topic, qos, retain,"
            " content_type, expiry_s, user_properties, created_at FROM messages WHERE seq = ?",
            (seq,),
        ).lastrowid
        db.execute("INSERT INTO payloads SELECT ?, payload FROM payloads WHERE seq = ?", (new, seq))
        db.execute("DELETE FROM messages WHERE seq = ?", (seq,))
    db.execute("UPDATE receipts SET resent = resent + 1 WHERE recording_id = ?", (recording_id,))


def upgrade(db: sqlite3.Connection) -> None:
    """Add the backoff's columns to a receipts table made by an older agent."""
    have = {str(row[1]) for row in db.execute("PRAGMA table_info(receipts)")}
    for column, statement in _ADDED.items():
        if column not in have:
            db.execute(statement)


def receipt_stats(db: sqlite3.Connection) -> ReceiptStats:
    awaiting, oldest = db.execute(
        "SELECT COUNT(*), MIN(stored_at) FROM receipts WHERE archived_at IS NULL"
    ).fetchone()
    (resent,) = db.execute("SELECT COALESCE(SUM(resent), 0) FROM receipts").fetchone()
    return ReceiptStats(int(awaiting), oldest, int(resent))


def forget_archived(db: sqlite3.Connection, older_than: float) -> int:
    """Receipt rows of recordings archived before `older_than` whose messages are gone."""
    return db.execute(
        "DELETE FROM receipts WHERE archived_at IS NOT NULL AND archived_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.recording_id = receipts.recording_id)",
        (older_than,),
    ).rowcount
