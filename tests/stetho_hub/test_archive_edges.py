"""The archive, exactly: what each kind of item leaves in the database, which audio is refused
and by which code, what a re-delivery writes (nothing), and the locks two hubs share."""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest

from edge_agent.wire import messages
from stetho_hub import wire
from stetho_hub.storage import Archive, AudioStore, iso, migrate, summary
from stetho_hub.storage.database import Dialect, Row, SqliteDatabase, Transaction
from stetho_testkit.hub.factory import WireRecording, exam_json, make_recording
from tests.firmware_bridge.test_flac_mismatch import flac_of_other_pcm_same_size

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXAM = "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b"


def meta(rec: WireRecording) -> wire.RecordingMeta:
    return wire.RecordingMeta(rec.meta, rec.meta_json)


def audio(rec: WireRecording, flac: bytes | None = None) -> wire.RecordingAudio:
    return wire.RecordingAudio(rec.recording_id, rec.site, rec.device, flac or rec.flac)


def same_size_other_sound(rec: WireRecording) -> bytes:
    """A valid FLAC of `rec`'s byte size whose PCM differs by one sample's last bit: it passes
    the size check, so only the PCM hash can tell."""
    return flac_of_other_pcm_same_size(rec.flac)


def rows(archive: Archive, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    with archive.db.transaction() as tx:
        return tx.all(sql, params)


def flac_files(archive: Archive) -> list[Path]:
    return sorted(archive.audio.root.rglob("*.flac"))


# -- recordings -----------------------------------------------------------------------------


def test_a_redelivered_half_of_an_archived_recording_writes_nothing(archive: Archive) -> None:
    rec = make_recording(0)
    archive.store(meta(rec))
    archived = archive.store(audio(rec)).archived
    assert archived is not None
    # Re-sent with other bytes (say, re-encoded): the archived file stays the only one.
    for item in (audio(rec, make_recording(1).flac), audio(rec), meta(rec)):
        again = archive.store(item)
        assert again.new is False and again.archived == archived and again.problem is None
    assert flac_files(archive) == [archive.audio.path_for(archived.audio_sha256)]
    assert rows(archive, "SELECT sha256 FROM audio") == [(archived.audio_sha256,)]


def test_audio_of_another_sound_is_refused_as_a_mismatch_and_its_row_forgotten(
    archive: Archive,
) -> None:
    rec = make_recording(0)
    assert archive.store(audio(rec, same_size_other_sound(rec))).new is True
    outcome = archive.store(meta(rec))  # the second half: the check runs now
    assert (outcome.new, outcome.archived, outcome.problem) == (True, None, "audio_mismatch")
    assert rows(archive, "SELECT COUNT(*) FROM audio") == [(0,)]
    assert summary(archive.db)["recordings_archived"] == 0
    assert archive.store(audio(rec)).archived is not None  # sent again, whole


def test_audio_that_does_not_decode_is_refused_as_undecodable(archive: Archive) -> None:
    rec = make_recording(0)
    archive.store(meta(rec))
    garbage = b"fLaC" + bytes(len(rec.flac) - 4)
    outcome = archive.store(audio(rec, garbage))
    assert (outcome.new, outcome.archived, outcome.problem) == (True, None, "audio_undecodable")
    assert rows(archive, "SELECT COUNT(*) FROM audio") == [(0,)]


def test_a_recording_keeps_its_triage_level_for_the_console(archive: Archive) -> None:
    analysed = make_recording(0, seconds=1.5, analysed=True)
    unanalysed = make_recording(1)
    assert analysed.meta.analysis is not None
    archive.store_batch([meta(analysed), meta(unanalysed)])
    levels: dict[str, str | None] = dict(
        rows(archive, "SELECT recording_id, triage_level FROM recordings")
    )
    assert levels == {
        analysed.recording_id: analysed.meta.analysis.triage.level,
        unanalysed.recording_id: None,
    }


def test_pending_receipts_carry_the_archived_record_oldest_first(archive: Archive) -> None:
    outcomes = []
    for seed in (2, 0, 1):
        archive.store(meta(make_recording(seed)))
        outcomes.append(archive.store(audio(make_recording(seed))).archived)
    assert archive.pending_receipts(10) == outcomes
    assert archive.pending_receipts(2) == outcomes[:2]


# -- every care home apart ------------------------------------------------------------------


def test_each_care_home_is_recorded_from_its_first_message_of_any_kind(
    archive: Archive,
) -> None:
    rec = make_recording(0, site="home-d")
    alert = messages.AlertMessage.model_validate({
        "alert_id": str(uuid.uuid4()), "agent": "pi-d", "level": "urgent",
        "audio_topic": rec.audio_topic, "recording_topic": rec.meta_topic, **_about(rec),
    })  # fmt: skip
    answer = messages.ExamAnswerMessage(
        exam_id=uuid.UUID(EXAM), by="dr-1", disposition="gp-visit-24h", at=AT
    )
    firsts = [  # each the first thing its care home ever sent
        audio(make_recording(0, site="home-b")),  # audio before its metadata
        wire.classify("stetho/v1/home-c/pi-c/status", status("home-c", "pi-c", AT)),
        wire.classify("stetho/v1/home-d/alerts", messages.to_json(alert)),
        wire.classify("stetho/v1/home-e/exams/answers", messages.to_json(answer)),
    ]
    for item in firsts:
        archive.store(item)
    sites = rows(archive, "SELECT site FROM sites ORDER BY site")
    assert sites == [("home-b",), ("home-c",), ("home-d",), ("home-e",)]


def test_recordings_of_two_care_homes_are_archived_each_under_its_own(archive: Archive) -> None:
    at_a = make_recording(0, site="home-a", device="steth-a")
    at_b = make_recording(1, site="home-b", device="steth-a")
    outcomes = archive.store_batch([meta(at_a), audio(at_b), audio(at_a), meta(at_b)])
    archived = {o.archived.recording_id: o.archived for o in outcomes if o.archived}
    assert {rid: a.site for rid, a in archived.items()} == {
        at_a.recording_id: "home-a", at_b.recording_id: "home-b",
    }  # fmt: skip
    assert rows(archive, "SELECT recording_id, site FROM audio ORDER BY site") == [
        (at_a.recording_id, "home-a"), (at_b.recording_id, "home-b"),
    ]  # fmt: skip


# -- everything else ------------------------------------------------------------------------


def status(
    site: str, agent: str, at: datetime | None, state: Literal["online", "offline"] = "online"
) -> bytes:
    return messages.to_json(messages.StatusMessage(state=state, site=site, agent=agent, at=at))


def _about(rec: WireRecording) -> dict[str, Any]:
    return {
        "recording_id": rec.recording_id, "site": rec.site, "device": rec.device,
        "resident": "res-1", "auscultation_site": "mitral", "kind": "heart",
        "recorded_at": AT, "flags": [],
    }  # fmt: skip


def test_triage_alerts_acks_and_answers_are_stored_once_as_they_came(archive: Archive) -> None:
    rec = make_recording(0)
    alert_id = uuid.uuid4()
    triage = messages.TriageMessage.model_validate({"level": "review", **_about(rec)})
    alert = messages.AlertMessage.model_validate({
        "alert_id": str(alert_id), "agent": "pi-a", "level": "urgent",
        "audio_topic": rec.audio_topic, "recording_topic": rec.meta_topic, **_about(rec),
    })  # fmt: skip
    ack = messages.AckMessage(alert_id=alert_id, by="dr-1", at=AT)
    answer = messages.ExamAnswerMessage(
        exam_id=uuid.UUID(EXAM), by="dr-1", disposition="gp-visit-24h", at=AT
    )
    sent = [
        ("stetho/v1/home-a/triage", messages.to_json(triage)),
        ("stetho/v1/home-a/alerts", messages.to_json(alert)),
        ("stetho/v1/home-a/acks", messages.to_json(ack)),
        ("stetho/v1/home-a/exams/answers", messages.to_json(answer)),
    ]
    items = [wire.classify(topic, payload) for topic, payload in sent]
    assert [o.new for o in archive.store_batch(items)] == [True] * 4
    assert [o.new for o in archive.store_batch(items)] == [False] * 4
    raw = [payload.decode() for _, payload in sent]
    at = iso(AT)
    assert rows(archive, "SELECT recording_id, site, level, payload FROM triage") == [
        (rec.recording_id, "home-a", "review", raw[0])
    ]
    assert rows(
        archive, "SELECT alert_id, recording_id, site, level, recorded_at, payload FROM alerts"
    ) == [(str(alert_id), rec.recording_id, "home-a", "urgent", at, raw[1])]
    assert rows(archive, "SELECT alert_id, by_whom, at, site, payload FROM acks") == [
        (str(alert_id), "dr-1", at, "home-a", raw[2])
    ]
    digest = hashlib.sha256(sent[3][1]).hexdigest()
    assert rows(
        archive, "SELECT exam_id, payload_sha256, site, answered_at, payload FROM exam_answers"
    ) == [(EXAM, digest, "home-a", at, raw[3])]


def test_an_exam_keeps_its_latest_state_when_an_older_message_comes_again(
    archive: Archive,
) -> None:
    opened, closed = (
        wire.classify("stetho/v1/home-a/exams", exam_json(EXAM, state))
        for state in ("open", "done")
    )
    assert [archive.store(i).new for i in (opened, closed, opened)] == [True, True, False]
    assert rows(archive, "SELECT payload FROM exams") == [(exam_json(EXAM, "done").decode(),)]
    assert rows(archive, "SELECT COUNT(*) FROM exam_messages") == [(2,)]


def test_a_status_without_a_time_is_kept_and_replaced_by_any_later_one(archive: Archive) -> None:
    topic = "stetho/v1/home-a/pi-a/status"
    untimed = wire.classify(topic, status("home-a", "pi-a", None, "offline"))
    timed = wire.classify(topic, status("home-a", "pi-a", AT, "online"))
    assert archive.store(untimed).new is True
    assert rows(archive, "SELECT state, at FROM status") == [("offline", None)]
    assert archive.store(timed).new is True
    assert rows(archive, "SELECT state, at FROM status") == [("online", iso(AT))]


def test_a_refusal_keeps_the_latest_topic_cut_to_200_characters(archive: Archive) -> None:
    long_topic = "stetho/v1/home-a/" + "x" * 300
    archive.count_refusal("unexpected_topic", "stetho/v1/home-a/first")
    archive.count_refusal("unexpected_topic", long_topic)
    assert rows(archive, "SELECT reason, count, last_topic FROM refusals") == [
        ("unexpected_topic", 2, long_topic[:200])
    ]


# -- time and locks -------------------------------------------------------------------------


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's own zone is not UTC (a hospital's machine in Paris)."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_times_are_stored_in_utc_whatever_the_servers_zone() -> None:
    paris = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert iso(paris) == "2026-12-01T11:00:00.000000+00:00"
    assert iso(AT) == "2026-12-01T09:00:00.000000+00:00"


class _LockRecordingTx:
    """A SQLite transaction that answers PostgreSQL's advisory lock and notes its key."""

    def __init__(self, tx: Transaction, locks: list[int]) -> None:
        self._tx, self._locks = tx, locks

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._tx.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        if sql.lower() == "select pg_advisory_xact_lock(?)":
            self._locks.extend(params)
            return (None,)
        return self._tx.one(sql, params)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._tx.all(sql, params)


class _PostgresLikeDatabase:
    """SQLite that says it is PostgreSQL, so the archive takes its per-recording locks."""

    dialect: Dialect = "postgresql"

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path)
        self.locks: list[int] = []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._db.transaction() as tx:
            yield _LockRecordingTx(tx, self.locks)

    def close(self) -> None:
        self._db.close()


def test_two_hubs_lock_a_batchs_recordings_in_one_order_one_lock_each(tmp_path: Path) -> None:
    sqlite = SqliteDatabase(tmp_path / "hub.db")
    migrate(sqlite)
    sqlite.close()
    db = _PostgresLikeDatabase(tmp_path / "hub.db")
    archive = Archive(db, AudioStore(tmp_path / "audio"))
    recs = [make_recording(seed) for seed in range(4)]
    exam = wire.classify("stetho/v1/home-a/exams", exam_json(EXAM))
    db.locks.clear()
    archive.store_batch([audio(recs[3]), meta(recs[0]), exam, audio(recs[0]), meta(recs[1])])
    keys = [uuid.UUID(r.recording_id).int & (2**63 - 1) for r in (recs[0], recs[1], recs[3])]
    assert db.locks == sorted(keys)  # a bigint each, in one order: no deadlock between hubs
    assert all(0 <= key < 2**63 for key in db.locks)
    db.close()
