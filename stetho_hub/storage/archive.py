"""The archive: every received item stored once, and recordings marked archived when whole.

A recording is *archived* when its metadata and its audio are both stored and the audio's
decoded PCM matches the metadata's `pcm_sha256`; only then is a receipt due. The two halves
may arrive in either order, and with shared subscriptions on two different hub processes
at once, so the check runs in the transaction that stores the second half, under a
per-recording lock (SQLite serialises writers; PostgreSQL takes an advisory lock).
Synchronous: the ingest service calls it from its storage thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from firmware_bridge.flac import flac_mismatch
from stetho_hub import wire
from stetho_hub.storage.audio_store import AudioStore
from stetho_hub.storage.database import Database, Transaction

Clock = Callable[[], datetime]
RECORDING_ITEMS = (wire.RecordingMeta, wire.RecordingAudio)


def iso(moment: datetime) -> str:
    """Fixed-width RFC 3339 UTC, so that text comparison orders by time in both databases."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ArchivedRecording:
    recording_id: str
    site: str
    device: str
    audio_sha256: str
    pcm_sha256: str
    size_bytes: int
    archived_at: str


@dataclass(frozen=True)
class StoreOutcome:
    new: bool
    """Something was stored now (False: a re-delivery, nothing written)."""
    archived: ArchivedRecording | None = None
    """Set when this item's recording is archived (now or before): a receipt is due."""
    problem: str | None = None
    """A reason code when the item was kept apart from the archive (e.g. audio_mismatch)."""


# A constant column list; the only text ever formatted into this module's SQL (hence S608).
_ARCHIVED_COLUMNS = "recording_id, site, device, audio_sha256, pcm_sha256, size_bytes, archived_at"


class Archive:
    def __init__(self, db: Database, audio: AudioStore, clock: Clock | None = None) -> None:
        self.db = db
        self.audio = audio
        self._clock = clock or (lambda: datetime.now(UTC))

    def _now(self) -> str:
        return iso(self._clock())

    def store(self, item: wire.Incoming) -> StoreOutcome:
        """Store one parsed item durably (committed, files fsync'd) before returning."""
        return self.store_batch([item])[0]

    def store_batch(self, items: Sequence[wire.Incoming]) -> list[StoreOutcome]:
        """Store `items` durably in one transaction (one commit fsync for the lot): the audio
        files first, then every row. Outcomes come in the order of `items`."""
        audio = [i for i in items if isinstance(i, wire.RecordingAudio)]
        done = self._archived_among([a.recording_id for a in audio])
        fresh = [a for a in audio if a.recording_id not in done]  # re-deliveries write nothing
        written = self.audio.put_many([a.flac for a in fresh])
        digests = {id(a): digest for a, digest in zip(fresh, written, strict=True)}
        recordings = {i.recording_id for i in items if isinstance(i, RECORDING_ITEMS)}
        with self.db.transaction() as tx:
            self._lock_recordings(tx, recordings)
            return [self._store_one(tx, item, digests.get(id(item))) for item in items]

    def _store_one(self, tx: Transaction, item: wire.Incoming, digest: str | None) -> StoreOutcome:
        if isinstance(item, wire.RecordingAudio):
            return self._store_audio(tx, item, digest)
        if isinstance(item, wire.RecordingMeta):
            return self._store_meta(tx, item)
        if isinstance(item, wire.TriageItem):
            return StoreOutcome(self._triage(tx, item))
        if isinstance(item, wire.AlertItem):
            return StoreOutcome(self._alert(tx, item))
        if isinstance(item, wire.AckItem):
            return StoreOutcome(self._ack(tx, item))
        if isinstance(item, wire.StatusItem):
            return StoreOutcome(self._status(tx, item))
        if isinstance(item, wire.ExamAnswerItem):
            return StoreOutcome(self._exam_answer(tx, item))
        return StoreOutcome(self._exam(tx, item))

    # -- recordings -------------------------------------------------------------------------

    def _store_audio(
        self, tx: Transaction, item: wire.RecordingAudio, digest: str | None
    ) -> StoreOutcome:
        if digest is None:  # archived before this batch: nothing written
            return StoreOutcome(False, self._archived(tx, item.recording_id))
        self._site(tx, item.site)
        new = tx.execute(
            "INSERT INTO audio (recording_id, site, device, sha256, size_bytes, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recording_id) DO NOTHING",
            (item.recording_id, item.site, item.device, digest, len(item.flac), self._now()),
        )
        return self._try_archive(tx, item.recording_id, new == 1)

    def _store_meta(self, tx: Transaction, item: wire.RecordingMeta) -> StoreOutcome:
        m = item.message
        self._site(tx, m.site)
        level = m.analysis.triage.level if m.analysis is not None else None
        new = tx.execute(
            "INSERT INTO recordings (recording_id, site, agent, device, resident, kind,"
            " auscultation_site, started_at, ended_at, exam_id, partial, pcm_sha256,"
            " audio_size, triage_level, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (recording_id) DO NOTHING",
            (
                item.recording_id, m.site, m.agent, m.device, m.resident, m.kind,
                m.auscultation_site, iso(m.started_at), iso(m.ended_at), item.exam_id,
                int(m.partial), m.audio.pcm_sha256, m.audio.size_bytes, level,
                item.raw.decode("utf-8"), self._now(),
            ),
        )  # fmt: skip
        return self._try_archive(tx, item.recording_id, new == 1)

    def _try_archive(self, tx: Transaction, recording_id: str, new: bool) -> StoreOutcome:
        done = self._archived(tx, recording_id)
        if done is not None:
            return StoreOutcome(new, done)
        row = tx.one(
            "SELECT r.site, r.device, r.pcm_sha256, r.audio_size, a.sha256, a.size_bytes"
            " FROM recordings r JOIN audio a ON a.recording_id = r.recording_id"
            " WHERE r.recording_id = ?",
            (recording_id,),
        )
        if row is None:
            return StoreOutcome(new)  # the other half has not arrived yet
        site, device, expected_pcm, expected_size, digest, size = row
        problem = self._verify(digest, int(size), int(expected_size), expected_pcm)
        if problem is not None:
            # Forget the audio row (the metadata is the reference): a correct re-send replaces it.
            tx.execute("DELETE FROM audio WHERE recording_id = ?", (recording_id,))
            return StoreOutcome(new, None, problem)
        archived = ArchivedRecording(
            recording_id, site, device, digest, expected_pcm, int(size), self._now()
        )
        tx.execute(
            f"INSERT INTO archived ({_ARCHIVED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                archived.recording_id, archived.site, archived.device, archived.audio_sha256,
                archived.pcm_sha256, archived.size_bytes, archived.archived_at,
            ),
        )  # fmt: skip
        return StoreOutcome(new, archived)

    def _verify(self, digest: str, size: int, expected_size: int, expected_pcm: str) -> str | None:
        if size != expected_size:  # known without reading the audio
            return "audio_size_mismatch"
        return flac_mismatch(self.audio.read(digest), expected_size, expected_pcm)

    def _archived(self, tx: Transaction, recording_id: str) -> ArchivedRecording | None:
        row = tx.one(
            f"SELECT {_ARCHIVED_COLUMNS} FROM archived WHERE recording_id = ?",  # noqa: S608
            (recording_id,),
        )
        if row is None:
            return None
        return ArchivedRecording(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), int(row[5]),
            str(row[6]),
        )  # fmt: skip

    def _archived_among(self, recording_ids: list[str]) -> set[str]:
        if not recording_ids:
            return set()
        marks = ", ".join("?" for _ in recording_ids)
        with self.db.transaction() as tx:
            rows = tx.all(
                f"SELECT recording_id FROM archived WHERE recording_id IN ({marks})",  # noqa: S608
                recording_ids,
            )
        return {str(r[0]) for r in rows}

    def _lock_recordings(self, tx: Transaction, recording_ids: set[str]) -> None:
        """PostgreSQL: one advisory lock per recording, taken in a fixed order so two hubs
        storing overlapping batches cannot deadlock. SQLite's BEGIN IMMEDIATE already
        serialises writers."""
        if self.db.dialect != "postgresql":
            return
        for key in sorted(UUID(r).int & 0x7FFF_FFFF_FFFF_FFFF for r in recording_ids):
            tx.one("SELECT pg_advisory_xact_lock(?)", (key,))

    def _site(self, tx: Transaction, site: str) -> None:
        tx.execute(
            "INSERT INTO sites (site, first_seen) VALUES (?, ?) ON CONFLICT (site) DO NOTHING",
            (site, self._now()),
        )

    # -- everything else --------------------------------------------------------------------

    def _triage(self, tx: Transaction, item: wire.TriageItem) -> bool:
        m = item.message
        self._site(tx, m.site)
        return (
            tx.execute(
                "INSERT INTO triage (recording_id, site, level, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (recording_id) DO NOTHING",
                (str(m.recording_id), m.site, m.level, item.raw.decode("utf-8"), self._now()),
            )
            == 1
        )

    def _alert(self, tx: Transaction, item: wire.AlertItem) -> bool:
        m = item.message
        self._site(tx, m.site)
        return tx.execute(
            "INSERT INTO alerts (alert_id, recording_id, site, level, recorded_at, payload,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING",
            (
                str(m.alert_id), str(m.recording_id), m.site, m.level, iso(m.recorded_at),
                item.raw.decode("utf-8"), self._now(),
            ),
        ) == 1  # fmt: skip

    def _ack(self, tx: Transaction, item: wire.AckItem) -> bool:
        m = item.message
        return (
            tx.execute(
                "INSERT INTO acks (alert_id, by_whom, at, site, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id, by_whom, at) DO NOTHING",
                (
                    str(m.alert_id),
                    m.by,
                    iso(m.at),
                    item.site,
                    item.raw.decode("utf-8"),
                    self._now(),
                ),
            )
            == 1
        )

    def _status(self, tx: Transaction, item: wire.StatusItem) -> bool:
        m = item.message
        self._site(tx, m.site)
        # Keep the newest: a retained copy re-delivered after a fresher one must not win.
        return tx.execute(
            "INSERT INTO status (site, source, agent, device, state, at, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, source) DO UPDATE SET"
            " agent = excluded.agent, device = excluded.device, state = excluded.state,"
            " at = excluded.at, payload = excluded.payload, received_at = excluded.received_at"
            " WHERE status.at IS NULL OR excluded.at IS NULL OR excluded.at > status.at",
            (
                m.site, item.source, m.agent, m.device, m.state,
                iso(m.at) if m.at is not None else None, item.raw.decode("utf-8"), self._now(),
            ),
        ) == 1  # fmt: skip

    def _exam_answer(self, tx: Transaction, item: wire.ExamAnswerItem) -> bool:
        self._site(tx, item.site)
        return (
            tx.execute(
                "INSERT INTO exam_answers (exam_id, payload_sha256, site, answered_at, payload,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (exam_id, payload_sha256) DO NOTHING",
                (
                    str(item.message.exam_id),
                    hashlib.sha256(item.raw).hexdigest(),
                    item.site,
                    iso(item.message.at),
                    item.raw.decode("utf-8"),
                    self._now(),
                ),
            )
            == 1
        )

    def _exam(self, tx: Transaction, item: wire.ExamItem) -> bool:
        self._site(tx, item.site)
        now, text = self._now(), item.raw.decode("utf-8")
        digest = hashlib.sha256(item.raw).hexdigest()
        new = tx.execute(
            "INSERT INTO exam_messages (exam_id, payload_sha256, payload, received_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (exam_id, payload_sha256) DO NOTHING",
            (item.exam_id, digest, text, now),
        )
        if new == 1:  # only a message not seen before may replace the exam's latest state
            tx.execute(
                "INSERT INTO exams (exam_id, site, payload, received_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (exam_id) DO UPDATE SET"
                " payload = excluded.payload, updated_at = excluded.updated_at",
                (item.exam_id, item.site, text, now, now),
            )
        return new == 1

    # -- receipts and refusals --------------------------------------------------------------

    def pending_receipts(self, limit: int) -> list[ArchivedRecording]:
        with self.db.transaction() as tx:
            rows = tx.all(
                f"SELECT {_ARCHIVED_COLUMNS} FROM archived WHERE receipt_sent_at IS NULL"  # noqa: S608
                " ORDER BY archived_at LIMIT ?",
                (limit,),
            )
        return [
            ArchivedRecording(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]),
                              str(r[6]))
            for r in rows
        ]  # fmt: skip

    def mark_receipts_sent(self, recording_ids: Sequence[str]) -> None:
        now = self._now()
        with self.db.transaction() as tx:
            for recording_id in recording_ids:
                tx.execute(
                    "UPDATE archived SET receipt_sent_at = ? WHERE recording_id = ?",
                    (now, recording_id),
                )

    def count_refusal(self, reason: str, topic: str) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO refusals (reason, count, last_topic, last_at) VALUES (?, 1, ?, ?)"
                " ON CONFLICT (reason) DO UPDATE SET count = refusals.count + 1,"
                " last_topic = excluded.last_topic, last_at = excluded.last_at",
                (reason, topic[:200], self._now()),
            )
