"""A console over a small archive: two care homes, one alert each, a doctor for home-a, an admin."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from edge_agent.runtime.local_broker import free_port
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.wire import messages, topics
from stetho_hub import wire
from stetho_hub.console import ConsoleSettings, make_app
from stetho_hub.storage import Archive, AudioStore, DatabaseTarget, migrate, open_database
from stetho_hub.storage.users import add_user
from tests.stetho_hub.factory import WireRecording, make_recording

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Archived:
    url: str
    target: DatabaseTarget
    home_a: WireRecording
    home_b: WireRecording


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


def populate(target: DatabaseTarget, audio_dir: Path) -> tuple[WireRecording, WireRecording]:
    db = open_database(target)
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
    add_user(db, "dr-a", PASSWORD, "doctor", ("home-a",))
    add_user(db, "admin", PASSWORD, "admin")
    db.close()
    return recs


@contextmanager
def console_running(tmp_path: Path, publish: MqttSettings | None = None) -> Iterator[Archived]:
    """The console in a thread of its own (a browser test blocks the test's thread)."""
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    home_a, home_b = populate(target, tmp_path / "audio")
    port = free_port()
    settings = ConsoleSettings(target, tmp_path / "audio", "127.0.0.1", port, publish=publish)
    ready, stop = threading.Event(), threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        runner = web.AppRunner(make_app(settings, open_database(target)), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(20), "the console did not start"
    try:
        yield Archived(f"http://127.0.0.1:{port}", target, home_a, home_b)
    finally:
        stop.set()
        thread.join(timeout=20)
        loop.close()
