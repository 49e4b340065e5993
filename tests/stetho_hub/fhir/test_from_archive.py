"""A closed exam, as the hub archived it, becomes a validated FHIR Bundle (stetho hub fhir)."""

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.wire import messages
from stetho_hub import wire
from stetho_hub.errors import StorageUnavailableError
from stetho_hub.fhir import FhirQueue, FhirServerSettings, export, run_sender
from stetho_hub.fhir.bundle import Naming, build_bundle, bundle_json
from stetho_hub.fhir.errors import InvalidInputError
from stetho_hub.fhir.export import changed_closed_exams, export_changed, run_export
from stetho_hub.fhir.from_archive import exam_from_archive
from stetho_hub.storage import Archive, DatabaseTarget, open_database, outage
from stetho_testkit.hub.factory import AGENT, SITE, make_recording
from tests.stetho_hub.fhir.conftest import TOKEN
from tests.stetho_hub.fhir.fhir_double import FhirDouble, FhirStore

EXAM = "7d8e4a8c-2f71-4f53-9a1c-3c1f3b2d9e10"


Waits = list[tuple[int, type[BaseException] | None]]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    """The storage outage waits the export draws (attempt, error type), each cut to 10 ms, and
    the export's scan period cut to 10 ms too."""
    drawn: Waits = []
    monkeypatch.setattr(outage, "storage_delay", lambda n, e: drawn.append((n, type(e))) or 0.01)
    monkeypatch.setattr(export, "SCAN_S", 0.01)
    return drawn


def _exam(state: str) -> bytes:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    exam = messages.ExamMessage(
        exam_id=uuid.UUID(EXAM), event="closed" if state == "done" else "opened", state=state,
        site=SITE, agent=AGENT, resident="res-1", staff="nurse-1", reason="short of breath",
        protocol="heart-4", age_band="adult", sites=[], opened_at=at,
        closed_at=at if state == "done" else None, at=at,
    )  # fmt: skip
    return messages.to_json(exam)


def _store_exam(archive: Archive, state: str, with_audio: bool = True) -> list[str]:
    archive.store(wire.classify(f"stetho/v1/{SITE}/exams", _exam(state)))
    ids = []
    for seed, analysed in ((1, True), (2, False)):
        rec = make_recording(seed, seconds=2.0 if analysed else 0.5, analysed=analysed)
        meta = rec.meta.model_copy(update={"exam_id": uuid.UUID(EXAM)})
        archive.store(wire.RecordingMeta(meta, messages.to_json(meta)))
        if with_audio:
            archive.store(wire.RecordingAudio(rec.recording_id, rec.site, rec.device, rec.flac))
        ids.append(rec.recording_id)
    return ids


def test_a_closed_exam_from_the_archive_validates(archive: Archive) -> None:
    ids = _store_exam(archive, "done")
    exam = exam_from_archive(archive.db, archive.audio, EXAM, "https://hub.example/audio")
    assert [str(r.recording_id) for r in exam.recordings] == ids
    assert exam.recordings[0].audio.sha1 is not None  # read back from the audio store
    assert exam.recordings[1].measurements is None  # failed analysis: kept, with a note
    bundle = build_bundle(exam)  # validates every resource
    assert bundle.type == "transaction"


def test_open_or_unknown_exams_are_refused_by_name(archive: Archive) -> None:
    with pytest.raises(InvalidInputError, match="no exam"):
        exam_from_archive(archive.db, archive.audio, EXAM)
    _store_exam(archive, "open", with_audio=False)
    with pytest.raises(InvalidInputError, match="not closed yet"):
        exam_from_archive(archive.db, archive.audio, EXAM)


def test_stetho_hub_fhir_prints_the_bundle(tmp_path: Path) -> None:
    from stetho_hub.config import load_config
    from stetho_hub.ingest.runner import open_archive

    config = tmp_path / "hub.toml"
    config.write_text('[database]\nsqlite = "hub.sqlite3"\n')
    archive = open_archive(load_config(config))
    try:
        _store_exam(archive, "done")
    finally:
        archive.db.close()
    run = subprocess.run(
        [sys.executable, "-m", "stetho_cli", "hub", "fhir", EXAM, "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["resourceType"] == "Bundle"
    missing = subprocess.run(
        [sys.executable, "-m", "stetho_cli", "hub", "fhir", str(uuid.uuid4()), "-c", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert missing.returncode == 1 and "no exam" in missing.stderr
    assert "Traceback" not in missing.stderr
    plain = subprocess.run(
        [sys.executable, "-m", "stetho_cli", "hub", "fhir", EXAM, "-c", str(config),
         "--audio-base-url", "http://hub/audio"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert plain.returncode == 2 and "must start with https://" in plain.stderr
    assert plain.stdout == ""


def test_closed_exams_reach_the_fhir_server_and_late_recordings_follow(
    archive: Archive, double: FhirDouble, store: FhirStore, tls_files: Path, tmp_path: Path
) -> None:
    queue = FhirQueue(tmp_path / "fhir-queue.sqlite3")
    settings = FhirServerSettings(double.base_url, TOKEN, ca_file=tls_files / "ca.crt")
    try:
        archive.store(wire.classify(f"stetho/v1/{SITE}/exams", _exam("open")))
        exams, mark = changed_closed_exams(archive.db, "")
        assert exams == []  # an open exam is not exported
        _store_exam(archive, "done")
        exams, mark = changed_closed_exams(archive.db, mark)
        assert exams == [EXAM]
        assert export_changed(archive.db, archive.audio, queue, exams) == 1
        asyncio.run(run_sender(queue, settings, asyncio.Event(), until_empty=True))
        assert len(store.resources["Media"]) == 2 and len(store.resources["DiagnosticReport"]) == 1
        assert changed_closed_exams(archive.db, mark)[0] == []  # nothing new: nothing queued
        late = make_recording(3, seconds=0.5)
        meta = late.meta.model_copy(update={"exam_id": uuid.UUID(EXAM)})
        archive.store(wire.RecordingMeta(meta, messages.to_json(meta)))
        archive.store(wire.RecordingAudio(late.recording_id, late.site, late.device, late.flac))
        exams, mark = changed_closed_exams(archive.db, mark)
        assert exams == [EXAM]
        export_changed(archive.db, archive.audio, queue, exams)
        asyncio.run(run_sender(queue, settings, asyncio.Event(), until_empty=True))
        assert len(store.resources["Media"]) == 3  # the late recording joined, nothing doubled
        assert len(store.resources["DiagnosticReport"]) == 1
        assert queue.status().sent >= 1
    finally:
        queue.close()


def _answer(disposition: str, note: str | None) -> bytes:
    answer = messages.ExamAnswerMessage(
        exam_id=uuid.UUID(EXAM), by="dr-a", disposition=disposition, note=note,
        at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
    )  # type: ignore[arg-type]  # fmt: skip
    return messages.to_json(answer)


def test_a_doctors_answer_makes_the_report_final_and_is_exported_again(
    archive: Archive, tmp_path: Path
) -> None:
    _store_exam(archive, "done")
    mark = changed_closed_exams(archive.db, "")[1]
    assert build_bundle(exam_from_archive(archive.db, archive.audio, EXAM))
    topic = f"stetho/v1/{SITE}/exams/answers"
    item = wire.classify(topic, _answer("urgent-visit-today", "before noon"))
    assert archive.store(item).new and not archive.store(item).new  # kept once
    assert changed_closed_exams(archive.db, mark)[0] == [EXAM]  # the answer re-exports it
    exam = exam_from_archive(archive.db, archive.audio, EXAM)
    assert exam.disposition is not None
    assert exam.disposition.text == "Urgent visit today: before noon"
    bundle = json.loads(bundle_json(build_bundle(exam)))
    kinds = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    assert kinds["DiagnosticReport"]["status"] == "final"
    assert kinds["DiagnosticReport"]["conclusion"].startswith("Urgent visit today")
    with pytest.raises(Exception, match="exam_answer"):
        wire.classify(topic, b'{"schema": "stetho.exam-answer"}')


@pytest.mark.parametrize("failing", ["changed_closed_exams", "export_changed"])
def test_a_database_down_while_exporting_is_waited_out_and_no_exam_is_skipped(
    archive: Archive,
    double: FhirDouble,
    store: FhirStore,
    tls_files: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    waits: Waits,
    failing: str,
) -> None:
    # Before: the StorageUnavailableError ended the export, and the hub's TaskGroup with it.
    _store_exam(archive, "done")
    real = getattr(export, failing)
    calls: list[object] = []

    def down_twice(*args: object) -> object:
        calls.append(args)
        if len(calls) <= 2:
            raise StorageUnavailableError("database is down")
        return real(*args)

    monkeypatch.setattr(export, failing, down_twice)
    queue = FhirQueue(tmp_path / "fhir-queue.sqlite3")
    settings = FhirServerSettings(double.base_url, TOKEN, ca_file=tls_files / "ca.crt")

    async def exported() -> None:
        task = asyncio.create_task(run_export(archive.db, archive.audio, queue, settings))
        async with asyncio.timeout(30):
            while not store.resources.get("DiagnosticReport"):
                assert not task.done(), task  # still running, not stopped by the outage
                await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(exported())
    finally:
        queue.close()
    assert len(store.resources["Media"]) == 2  # the exam whose export failed, not skipped
    assert waits == [(0, StorageUnavailableError), (1, StorageUnavailableError)]


def test_the_export_backs_off_anew_after_each_outage_and_follows_what_arrives_later(
    archive: Archive,
    db_target: DatabaseTarget,
    double: FhirDouble,
    store: FhirStore,
    tls_files: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    waits: Waits,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Three failed scans wait attempts 0, 1, 2; a scan that succeeds starts the next outage's
    # waits over at 0. The mark moves on; the deployment's naming and audio address are used.
    ids = _store_exam(archive, "done")
    real = export.changed_closed_exams
    down = {"scans": 3}

    def scan(*args: object) -> object:
        if down["scans"]:
            down["scans"] -= 1
            raise StorageUnavailableError("database is down")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(export, "changed_closed_exams", scan)
    queue = FhirQueue(tmp_path / "fhir-queue.sqlite3")
    settings = FhirServerSettings(double.base_url, TOKEN, ca_file=tls_files / "ca.crt")
    naming = Naming(resident_system="https://records.example/home/{site}/resident")
    # The exporter's own connection, as the hub runs it: the test stores while it scans.
    export_db = open_database(db_target)

    async def until(task: asyncio.Task[None], media: int) -> None:
        async with asyncio.timeout(30):
            while store.count("Media") < media:
                assert not task.done(), task  # still running, not stopped by the outage
                await asyncio.sleep(0.05)

    async def exported() -> None:
        task = asyncio.create_task(run_export(
            export_db, archive.audio, queue, settings, naming, "https://hub.example/audio/"
        ))  # fmt: skip
        await until(task, 2)
        late = make_recording(3, seconds=0.5)  # after the mark: found only if the mark moved
        meta = late.meta.model_copy(update={"exam_id": uuid.UUID(EXAM)})
        archive.store(wire.RecordingMeta(meta, messages.to_json(meta)))
        archive.store(wire.RecordingAudio(late.recording_id, late.site, late.device, late.flac))
        down["scans"] = 1
        await until(task, 3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    for logger in (export.__name__, outage.__name__):
        caplog.set_level(logging.INFO, logger=logger)
    try:
        asyncio.run(exported())
    finally:
        queue.close()
        export_db.close()
    error = StorageUnavailableError
    assert waits == [(0, error), (1, error), (2, error), (0, error)]
    said = [r.getMessage() for r in caplog.records if r.name in (export.__name__, outage.__name__)]
    line = "event=storage_unavailable error='database is down' during=fhir_export retry_in_s=0.0"
    assert said.count(line) == 4
    assert said.count("event=fhir_exams_queued count=1") >= 2  # the exam, then its late recording
    sent = json.dumps(store.resources)
    assert f"https://hub.example/audio/{ids[0]}.flac" in sent
    assert f"https://records.example/home/{SITE}/resident" in sent
