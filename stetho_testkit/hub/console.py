"""A console over a small archive: two care homes, one alert each, a doctor for home-a, an admin."""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from edge_agent.runtime.local_broker import free_port
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.wire import messages, topics
from stetho_hub import wire
from stetho_hub.console import ConsoleSettings, app, console_runner
from stetho_hub.console.picture import render
from stetho_hub.storage import Archive, AudioStore, DatabaseTarget, migrate, open_database
from stetho_hub.storage.users import add_user
from stetho_testkit.hub.factory import WireRecording, make_recording

PASSWORD = "correct horse battery"


# Exams of res-1 at home-a (the newest, a week earlier) and one at home-b.
EXAM_A, EXAM_A_BEFORE, EXAM_B = (str(uuid.UUID(int=n, version=4)) for n in (101, 102, 103))
HEART_4 = ("aortic", "pulmonic", "tricuspid", "mitral")


@dataclass(frozen=True)
class Archived:
    url: str
    target: DatabaseTarget
    home_a: WireRecording
    home_b: WireRecording
    exam_a: str = EXAM_A
    exam_a_before: str = EXAM_A_BEFORE
    exam_b: str = EXAM_B


def _alert(rec: WireRecording) -> wire.AlertItem:
    alert = messages.AlertMessage(
        alert_id=uuid.uuid4(), recording_id=uuid.UUID(rec.recording_id), site=rec.site,
        agent="pi", device=rec.device, resident=rec.meta.resident,
        auscultation_site=rec.meta.auscultation_site, kind=rec.meta.kind,
        recorded_at=rec.meta.started_at, level="urgent",
        flags=[messages.Flag(code="tachycardia", reason="Heart rate 131/min is above 130.",
                             value=131.0, threshold=130.0)],
        audio_topic=rec.audio_topic, recording_topic=topics.recording(rec.site, rec.device),
    )  # fmt: skip
    return wire.AlertItem(alert, messages.to_json(alert))


def _exam_site(name: str, recs: list[WireRecording]) -> messages.ExamSite:
    counted = recs[-1].meta
    level = counted.analysis.triage.level if counted.analysis else None
    return messages.ExamSite(
        auscultation_site=name, state="done", recording_ids=[r.meta.recording_id for r in recs],
        counted_recording_id=counted.recording_id, level=level,
    )  # fmt: skip


def store_exam(
    archive: Archive, exam_id: str, site: str, opened: datetime, rates: tuple[float, ...],
    seed: int, mains_hum_hz: float | None = None,
) -> list[WireRecording]:  # fmt: skip
    """A closed heart-4 exam of res-1: one 6 s recording a site at these heart rates; the
    first site recorded twice (its first take not counted); `mains_hum_hz`: every recording
    with that hum."""
    recs: list[tuple[str, list[WireRecording]]] = []
    for i, (name, bpm) in enumerate(zip(HEART_4, rates, strict=False)):
        takes = []
        for take in range(2 if i == 0 else 1):
            seed += 7  # seed % 7 == 1: resident res-1
            takes.append(make_recording(
                seed, site=site, seconds=6.0, analysed=True, auscultation_site=name,
                exam_id=exam_id, start=opened + timedelta(minutes=2 * i + take), heart_bpm=bpm,
                mains_hum_hz=mains_hum_hz,
            ))  # fmt: skip
        recs.append((name, takes))
    for _name, takes in recs:
        for rec in takes:
            archive.store(wire.RecordingMeta(rec.meta, rec.meta_json))
            archive.store(wire.RecordingAudio(rec.recording_id, site, rec.device, rec.flac))
    exam = messages.ExamMessage(
        exam_id=uuid.UUID(exam_id), event="closed", state="done", site=site, agent="pi-a",
        resident="res-1", staff="nurse-1", reason="short of breath", protocol="heart-4",
        age_band="adult", sites=[_exam_site(n, t) for n, t in recs], opened_at=opened,
        closed_at=opened + timedelta(minutes=10), at=opened + timedelta(minutes=10),
    )  # fmt: skip
    archive.store(wire.classify(topics.exams(site), messages.to_json(exam)))
    return [rec for _n, takes in recs for rec in takes]


# One SQLite archive per process, copied into each console's own files: building it (real
# analyses, scrypt, fsyncs) took 2-5 s a console; a copy shares nothing with another test.
_TEMPLATE: list[tuple[Path, tuple[WireRecording, WireRecording]]] = []


def _populate_copy(target: DatabaseTarget, audio_dir: Path) -> tuple[WireRecording, WireRecording]:
    """`populate`, from a copy made once a process for SQLite (built afresh under mutation,
    where the storage code itself may be the mutant)."""
    if target.dialect != "sqlite" or os.environ.get("STETHO_MUTATE") == "1":
        return populate(target, audio_dir)
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="stetho-console-"))
        atexit.register(shutil.rmtree, folder, True)
        recs = populate(DatabaseTarget("sqlite", str(folder / "hub.db")), folder / "audio")
        _TEMPLATE.append((folder, recs))
    folder, recs = _TEMPLATE[0]
    shutil.copy2(folder / "hub.db", target.location)  # its private mode too
    shutil.copytree(folder / "audio", audio_dir, dirs_exist_ok=True)
    return recs


def populate(target: DatabaseTarget, audio_dir: Path) -> tuple[WireRecording, WireRecording]:
    db = open_database(target, migrating=True)
    migrate(db)
    archive = Archive(db, AudioStore(audio_dir))
    recs = (
        make_recording(1, site="home-a", seconds=2.0, analysed=True),
        make_recording(2, site="home-b"),
    )
    for rec in recs:
        archive.store(wire.RecordingMeta(rec.meta, rec.meta_json))
        archive.store(wire.RecordingAudio(rec.recording_id, rec.site, rec.device, rec.flac))
        archive.store(_alert(rec))
    status = (
        b'{"schema":"stetho.status","schema_version":1,"state":"online","site":"home-a",'
        b'"agent":"pi-a","at":"2026-12-01T10:00:00Z","detail":{"alarm":"outbox 91 % full"}}'
    )
    archive.store(wire.classify("stetho/v1/home-a/pi-a/status", status))
    earlier = make_recording(8, site="home-a")  # the same resident as home_a (seed % 7)
    archive.store(wire.RecordingMeta(earlier.meta, earlier.meta_json))
    day = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    store_exam(archive, EXAM_A_BEFORE, "home-a", day - timedelta(days=7), (78, 80, 76, 79), 99)
    exam_a = store_exam(archive, EXAM_A, "home-a", day, (134, 136, 133, 135), 197)
    archive.store(_alert(exam_a[1]))  # the counted aortic take: the inbox links to its exam
    store_exam(archive, EXAM_B, "home-b", day, (70,), 295)
    add_user(db, "dr-a", PASSWORD, "doctor", ("home-a",))
    add_user(db, "admin", PASSWORD, "admin")
    db.close()
    return recs


# The pictures drawn, by audio, metadata and language, for the process: a console's page drew
# its recordings' pictures again (matplotlib, 0.3-0.7 s each; the browser tests' pages ask
# for 20-30), though every console holds the same template's recordings. Each picture is still
# drawn once by the code under test; under mutation, where it may be the mutant, every time.
_PICTURES: dict[tuple[bytes, str, str], bytes | None] = {}


@contextmanager
def _pictures_drawn_once() -> Iterator[None]:
    """The console's picture renderer, its pictures kept for the process (not under mutation)."""
    patched = app.render_picture is not render  # type: ignore[attr-defined]
    if patched or os.environ.get("STETHO_MUTATE") == "1":  # patched: a console in a console
        yield
        return

    def once(flac: bytes, metadata: dict[str, Any], lang: str = "en") -> bytes | None:
        key = (hashlib.sha256(flac).digest(), json.dumps(metadata, sort_keys=True), lang)
        if key not in _PICTURES:
            _PICTURES[key] = render(flac, metadata, lang)
        return _PICTURES[key]

    app.render_picture = once  # type: ignore[attr-defined]
    try:
        yield
    finally:
        app.render_picture = render  # type: ignore[attr-defined]


@contextmanager
def console_running(
    tmp_path: Path,
    publish: MqttSettings | None = None,
    fhir_queue: Path | None = None,
    target: DatabaseTarget | None = None,
) -> Iterator[Archived]:
    """The console in a thread of its own (a browser test blocks the test's thread), on
    `target` (default: a SQLite file in `tmp_path`)."""
    target = target or DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    home_a, home_b = _populate_copy(target, tmp_path / "audio")
    port = free_port()
    settings = ConsoleSettings(
        target, tmp_path / "audio", "127.0.0.1", port, publish=publish, fhir_queue=fhir_queue
    )
    ready, stop = threading.Event(), threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        runner = console_runner(settings, open_database(target))  # as serve_console
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    failed: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # raised again in the test's thread, below
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    with _pictures_drawn_once():
        thread.start()
        try:
            # A console that fails to start still has its loop closed here: left open, the
            # loop's sockets were unraisable warnings that ended the whole pytest session.
            assert ready.wait(20), "the console did not start"
            if failed:
                raise failed[0]
            yield Archived(f"http://127.0.0.1:{port}", target, home_a, home_b)
        finally:
            stop.set()
            thread.join(timeout=20)
            loop.close()
