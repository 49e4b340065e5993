"""The archive against a real SQLite file and a real PostgreSQL: idempotent, verified, private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge_agent.wire import messages
from stetho_hub import wire
from stetho_hub.errors import SchemaVersionError, StorageUnavailableError
from stetho_hub.storage import (
    LATEST,
    Archive,
    AudioStore,
    Database,
    check_version,
    current_version,
    migrate,
    summary,
)
from stetho_testkit.hub.factory import exam_json, make_recording

EXAM = "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b"


def _meta(seed: int = 0) -> wire.RecordingMeta:
    rec = make_recording(seed)
    return wire.RecordingMeta(rec.meta, rec.meta_json)


def _audio(seed: int = 0) -> wire.RecordingAudio:
    rec = make_recording(seed)
    return wire.RecordingAudio(rec.recording_id, rec.site, rec.device, rec.flac)


def test_migrations_are_versioned_and_rerun_as_no_ops(db: Database) -> None:
    assert current_version(db) == LATEST
    assert migrate(db) == []
    check_version(db)


def test_an_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    from stetho_hub.storage import DatabaseTarget, open_database

    with pytest.raises(SchemaVersionError, match="stetho hub migrate"):
        open_database(DatabaseTarget("sqlite", str(tmp_path / "fresh.db")))


@pytest.mark.parametrize("audio_first", [True, False])
def test_a_recording_is_archived_once_whichever_half_comes_first(
    archive: Archive, audio_first: bool
) -> None:
    halves = [_audio(), _meta()] if audio_first else [_meta(), _audio()]
    first = archive.store(halves[0])
    assert first.new and first.archived is None
    second = archive.store(halves[1])
    assert second.new and second.archived is not None
    rec = make_recording(0)
    assert second.archived.recording_id == rec.recording_id
    assert second.archived.audio_sha256 == wire_sha(rec.flac)
    assert second.archived.pcm_sha256 == rec.meta.audio.pcm_sha256
    # Re-deliveries store nothing and say the receipt is due again.
    for half in [*halves, *halves]:
        again = archive.store(half)
        assert not again.new and again.archived == second.archived
    counts = summary(archive.db)
    assert counts["recordings_metadata"] == counts["recordings_audio"] == 1
    assert counts["recordings_archived"] == counts["receipts_pending"] == 1


def wire_sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_audio_that_does_not_match_its_metadata_is_not_archived(archive: Archive) -> None:
    archive.store(_meta(0))
    wrong = wire.RecordingAudio(make_recording(0).recording_id, "home-a", "steth-a", b"fLaC")
    outcome = archive.store(wrong)
    assert outcome.archived is None and outcome.problem == "audio_size_mismatch"
    other = make_recording(1).flac  # a real FLAC, but another recording's sound
    rec0 = make_recording(0)
    meta = rec0.meta.model_copy(
        update={"audio": rec0.meta.audio.model_copy(update={"size_bytes": len(other)})}
    )
    archive.store(wire.RecordingMeta(meta, messages.to_json(meta)))  # already there: ignored
    outcome = archive.store(wire.RecordingAudio(rec0.recording_id, "home-a", "steth-a", other))
    assert outcome.problem == "audio_size_mismatch" or outcome.problem == "audio_mismatch"
    # The right audio, re-sent, is then archived.
    good = archive.store(_audio(0))
    assert good.archived is not None


def test_receipts_pending_until_marked_sent(archive: Archive) -> None:
    for seed in range(3):
        archive.store(_meta(seed))
        archive.store(_audio(seed))
    pending = archive.pending_receipts(10)
    assert [p.recording_id for p in pending] == [make_recording(s).recording_id for s in range(3)]
    archive.mark_receipts_sent([pending[0].recording_id])
    assert len(archive.pending_receipts(10)) == 2


def test_alerts_triage_acks_exams_status_are_idempotent(archive: Archive) -> None:
    items = [
        wire.classify(topic, payload)
        for topic, payload in [
            ("stetho/v1/home-a/exams", exam_json(EXAM, "open")),
            ("stetho/v1/home-a/exams", exam_json(EXAM, "done")),
            ("stetho/v1/home-a/pi-a/status", _status("online", "2026-12-01T10:00:00Z")),
            ("stetho/v1/home-a/acks", _ack()),
        ]
    ]
    results = [archive.store(i).new for i in items]
    assert results == [True, True, True, True]
    assert [archive.store(i).new for i in items] == [False, False, False, False]
    # An older retained status re-delivered after a newer one does not replace it.
    older = wire.classify(
        "stetho/v1/home-a/pi-a/status", _status("offline", "2026-12-01T09:00:00Z")
    )
    assert not archive.store(older).new
    with archive.db.transaction() as tx:
        assert tx.one("SELECT state FROM status WHERE source = 'pi-a'") == ("online",)
        assert tx.one("SELECT payload FROM exams WHERE exam_id = ?", (EXAM,)) == (
            exam_json(EXAM, "done").decode(),
        )


def _status(state: str, at: str) -> bytes:
    return (
        f'{{"schema":"stetho.status","schema_version":1,"state":"{state}","site":"home-a",'
        f'"agent":"pi-a","at":"{at}"}}'
    ).encode()


def _ack() -> bytes:
    return (
        b'{"schema":"stetho.ack","schema_version":1,'
        b'"alert_id":"6c1f0e2a-8a43-4c39-9c6b-3f1d2f0b7a10","by":"dr-lee",'
        b'"at":"2026-12-01T10:00:00Z"}'
    )


def test_refusals_are_counted_not_kept(archive: Archive) -> None:
    for _ in range(3):
        archive.count_refusal("invalid_recording", "stetho/v1/home-a/steth-a/recordings")
    assert summary(archive.db)["refused"] == {"invalid_recording": 3}


def test_audio_files_are_private_and_content_addressed(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio")
    data = make_recording(0).flac
    digest = store.put(data)
    assert store.put(data) == digest
    path = store.path_for(digest)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, tmp_path / "audio"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert list(path.parent.iterdir()) == [path]  # no temporary left behind


def test_an_audio_dir_that_is_a_file_stops_the_hub_at_start(tmp_path: Path) -> None:
    # Before: the store opened, every recording's audio then failed to store and was retried
    # without end, the broker holding the messages, nothing saying the setting was wrong.
    (tmp_path / "audio").write_text("a file")
    with pytest.raises(StorageUnavailableError, match=r"^audio archive .*audio: Not a directory"):
        AudioStore(tmp_path / "audio")


def test_a_batch_stores_both_halves_and_their_duplicates_in_one_transaction(
    archive: Archive,
) -> None:
    batch: list[wire.Incoming] = [_audio(0), _meta(0), _audio(0), _meta(1), _meta(0), _audio(1)]
    outcomes = archive.store_batch(batch)
    assert [o.new for o in outcomes] == [True, True, False, True, False, True]
    assert [o.archived is not None for o in outcomes] == [False, True, True, False, True, True]
    assert len(archive.pending_receipts(10)) == 2
    assert all(not o.new for o in archive.store_batch(batch))
