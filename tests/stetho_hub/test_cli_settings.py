"""What `stetho hub run` hands the console and the FHIR sender, read from the config file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.transport.settings import broker_settings
from edge_agent.wire import messages
from stetho_hub import fhir, storage, wire
from stetho_hub.cli import (
    _console_settings,
    _export_fhir,
    _fhir_status,
    _serve,
    fhir_settings,
    hub_app,
)
from stetho_hub.config import HubConfig, load_config
from stetho_hub.console import ConsoleSettings
from stetho_hub.errors import StorageUnavailableError
from stetho_hub.fhir import FhirQueue, FhirServerSettings
from stetho_hub.storage import Archive, AudioStore, DatabaseTarget, migrate, open_database
from stetho_testkit.hub.factory import AGENT, SITE, make_recording
from stetho_testkit.hub.harness import write_hub_config
from stetho_testkit.poll import eventually
from tests.deploy.fake_systemd import NotifyReceiver
from tests.stetho_hub.fhir.conftest import TOKEN, server_context
from tests.stetho_hub.fhir.fhir_double import FhirDouble, FhirStore

FHIR = (
    'base_url = "https://fhir.example.org/r4"\nqueue = "q.sqlite3"\n'
    'resident_system = "https://hospital.example.org/residents"\n'
    'agent_system = "https://hospital.example.org/devices"\n'
    'provenance_tag_system = "https://hospital.example.org/tags"\n'
)


def _config(tmp_path: Path, fhir: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        '[database]\nsqlite = "hub.db"\n[archive]\naudio_dir = "sounds"\n'
        '[console]\nhost = "0.0.0.0"\nport = 8443\nsession_hours = 2.5\nsecure_cookies = true\n'
        f"[fhir]\n{fhir}",
        encoding="utf-8",
    )
    return path


def _secret(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_the_console_gets_each_setting_and_the_queue_only_when_exporting(tmp_path: Path) -> None:
    publish = cast(Any, object())  # handed through untouched
    cfg = load_config(_config(tmp_path, FHIR))
    assert _console_settings(cfg, publish) == ConsoleSettings(
        DatabaseTarget("sqlite", str(tmp_path / "hub.db")),
        tmp_path / "sounds",
        "0.0.0.0",
        8443,
        2.5,
        True,
        publish,
        tmp_path / "q.sqlite3",
    )
    cfg = load_config(_config(tmp_path, 'queue = "q.sqlite3"\n'))
    assert _console_settings(cfg, publish).fhir_queue is None


def test_the_sender_gets_the_url_token_and_each_tls_file(tmp_path: Path) -> None:
    token = _secret(tmp_path / "token", "s3cret\n")
    ca, cert, key = (_secret(tmp_path / n, "pem") for n in ("ca.pem", "cert.pem", "key.pem"))
    files = f'token_file = "{token}"\nca_file = "{ca}"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
    cfg = load_config(_config(tmp_path, FHIR + files))
    assert fhir_settings(cfg) == FhirServerSettings(
        "https://fhir.example.org/r4", "s3cret", ca, cert, key
    )


def test_status_shows_the_fhir_queue_with_its_server(tmp_path: Path) -> None:
    config = _config(tmp_path, FHIR)
    cfg = load_config(config)
    assert _fhir_status(cfg) == {
        "base_url": "https://fhir.example.org/r4",
        "queued": 0,
        "sent": 0,
        "failing": 0,
        "rejected": 0,
        "last_error": None,
        "next_attempt_at": None,
    }
    assert CliRunner().invoke(hub_app, ["migrate", "--config", str(config)]).exit_code == 0
    shown = CliRunner().invoke(hub_app, ["status", "--config", str(config), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["fhir"]["base_url"] == "https://fhir.example.org/r4"


def test_a_command_given_a_bad_config_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, "queue = 3\n")
    done = CliRunner().invoke(hub_app, ["migrate", "--config", str(config)])
    assert done.exit_code == 2
    assert str(config) in done.output and "fhir.queue" in done.output


def _notify_socket(tmp_path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(30)
    return sock


def _sqlite_hub_config(broker: LocalBroker, tmp_path: Path) -> Path:
    """A hub config on `broker`, its archive a SQLite file and audio folder in `tmp_path`."""
    return write_hub_config(
        tmp_path / "hub.toml",
        broker.port,
        DatabaseTarget("sqlite", str(tmp_path / "hub.db")),
        tmp_path / "audio",
    )


@pytest.mark.broker
@pytest.mark.parametrize("with_console", [False, True])
def test_serve_tells_systemd_ready_then_stopping_on_sigterm(
    broker: LocalBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    with_console: bool,
) -> None:
    """In process (mutation reaches it): READY with what serves, a SIGTERM handled, not fatal."""
    config = _sqlite_hub_config(broker, tmp_path)
    if with_console:
        with config.open("a", encoding="utf-8") as extra:
            extra.write(f"[console]\nenabled = true\nport = {free_port()}\n")
    cfg = load_config(config)
    publish = broker_settings(cfg.broker, None)
    console = _console_settings(cfg, publish) if with_console else None
    sock = _notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))

    async def serve_then_sigterm() -> list[str]:
        serving = asyncio.create_task(_serve(cfg, console, None))
        said = [(await asyncio.to_thread(sock.recv, 4096)).decode()]
        # Stopped once connected: a stop mid-connect is the subprocess tests' (a socket left
        # half-made would outlive this test in process).
        await eventually(lambda: "event=hub_connected" in caplog.text, 30, what="the broker")
        os.kill(os.getpid(), signal.SIGTERM)
        await serving
        said.append((await asyncio.to_thread(sock.recv, 4096)).decode())
        return said

    with caplog.at_level(logging.INFO, logger="stetho_hub"), sock:
        ready, stopping = asyncio.run(serve_then_sigterm())
    serving = ", console listening" if with_console else ""
    assert ready == f"READY=1\nSTATUS=hub hub-test: archive open{serving}"
    assert stopping == "STOPPING=1\nSTATUS=finishing the commit in progress"
    assert "event=shutdown reason=signal" in caplog.messages


# ---- the FHIR export and the watchdog, as `_serve` starts them ----------------------------

EXAM = "0b9f6a52-5d1e-4c39-8f0e-6a1d2c3b4e51"
AUDIO_URL = "https://hub.example/audio/"
RESIDENTS = "https://records.example/home/{site}/resident"


def _exporting(server: FhirDouble, tls: Path, tmp_path: Path) -> str:
    """The [fhir] table's keys for an export to `server`: its own systems, audio address and
    queue (q.sqlite3 beside the config)."""
    token = _secret(tmp_path / "token", TOKEN)
    return (
        f'base_url = "{server.base_url}"\ntoken_file = "{token}"\nca_file = "{tls / "ca.crt"}"\n'
        f'queue = "q.sqlite3"\nresident_system = "{RESIDENTS}"\n'
        'agent_system = "https://records.example/devices"\n'
        f'provenance_tag_system = "https://records.example/tags"\naudio_url = "{AUDIO_URL}"\n'
    )


def _a_closed_exam(cfg: HubConfig) -> str:
    """Archive a closed exam with one recording (the archive migrated first); its id."""
    db = open_database(cfg.database.target(), migrating=True)
    try:
        migrate(db)
        archive = Archive(db, AudioStore(cfg.archive.audio_dir))
        at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        exam = messages.ExamMessage(
            exam_id=uuid.UUID(EXAM), event="closed", state="done", site=SITE, agent=AGENT,
            resident="res-1", staff="nurse-1", reason="short of breath", protocol="heart-4",
            age_band="adult", sites=[], opened_at=at, closed_at=at, at=at,
        )  # fmt: skip
        archive.store(wire.classify(f"stetho/v1/{SITE}/exams", messages.to_json(exam)))
        rec = make_recording(1, exam_id=EXAM)
        archive.store(wire.RecordingMeta(rec.meta, rec.meta_json))
        archive.store(wire.RecordingAudio(rec.recording_id, rec.site, rec.device, rec.flac))
    finally:
        db.close()
    return rec.recording_id


def _sent(cfg: HubConfig) -> int:
    queue = FhirQueue(cfg.fhir.queue)
    try:
        return queue.status().sent
    finally:
        queue.close()


def _as_configured(server: FhirDouble, cfg: HubConfig, recording_id: str) -> None:
    """The exam reached the server from the configured queue, named and linked as configured."""
    assert _sent(cfg) == 1
    sent = json.dumps(server.store.resources)
    assert f"{AUDIO_URL}{recording_id}.flac" in sent  # fhir.audio_url
    assert RESIDENTS.format(site=SITE) in sent  # fhir.resident_system


@pytest.fixture
def fhir_server(tls_files: Path) -> Iterator[FhirDouble]:
    server = FhirDouble(FhirStore(), server_context(tls_files), token=TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_export_sends_closed_exams_as_configured_and_closes_what_it_opened(
    tmp_path: Path, fhir_server: FhirDouble, tls_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(_config(tmp_path, _exporting(fhir_server, tls_files, tmp_path)))
    recording_id = _a_closed_exam(cfg)
    opened: list[Any] = []  # the export's database connection and queue, to see them closed
    real_open = storage.open_database

    def tracked_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    class TrackedQueue(FhirQueue):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(storage, "open_database", tracked_open)
    monkeypatch.setattr(fhir, "FhirQueue", TrackedQueue)

    async def export_then_stop() -> None:
        task = asyncio.create_task(_export_fhir(cfg, fhir_settings(cfg)))
        await eventually(lambda: _sent(cfg), 30, 0.05, what="the exam sent")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(export_then_stop())
    _as_configured(fhir_server, cfg, recording_id)
    db, queue = opened
    with pytest.raises(StorageUnavailableError, match="closed database"), db.transaction() as tx:
        tx.one("SELECT 1")
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        queue.status()


@pytest.mark.broker
def test_serve_feeds_the_watchdog_and_runs_the_export(
    broker: LocalBroker,
    tmp_path: Path,
    fhir_server: FhirDouble,
    tls_files: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In process (mutation reaches it): systemd's watchdog fed, the closed exam exported."""
    config = _sqlite_hub_config(broker, tmp_path)
    with config.open("a", encoding="utf-8") as extra:
        extra.write("[fhir]\n" + _exporting(fhir_server, tls_files, tmp_path))
    cfg = load_config(config)
    recording_id = _a_closed_exam(cfg)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)

    async def serve_until_fed_and_sent(systemd: NotifyReceiver) -> None:
        serving = asyncio.create_task(_serve(cfg, None, fhir_settings(cfg)))
        await eventually(lambda: len(systemd.with_field("WATCHDOG")) >= 2, 30, what="2 pings")
        await eventually(lambda: _sent(cfg), 30, 0.05, what="the exam sent")
        await eventually(lambda: "event=hub_connected" in caplog.text, 30, what="the broker")
        os.kill(os.getpid(), signal.SIGTERM)
        await serving

    with (
        caplog.at_level(logging.INFO, logger="stetho_hub"),
        NotifyReceiver(tmp_path / "notify") as systemd,
    ):
        monkeypatch.setenv("NOTIFY_SOCKET", systemd.address)
        asyncio.run(serve_until_fed_and_sent(systemd))
    assert systemd.with_field("WATCHDOG")[0].fields["WATCHDOG"] == "1"
    assert "event=shutdown reason=signal" in caplog.messages
    _as_configured(fhir_server, cfg, recording_id)
