"""What `stetho hub run` hands the console and the FHIR sender, read from the config file."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.transport.settings import broker_settings
from stetho_hub.cli import _console_settings, _fhir_status, _serve, fhir_settings, hub_app
from stetho_hub.config import load_config
from stetho_hub.console import ConsoleSettings
from stetho_hub.fhir import FhirServerSettings
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.harness import write_hub_config
from stetho_testkit.poll import eventually

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
    config = write_hub_config(
        tmp_path / "hub.toml",
        broker.port,
        DatabaseTarget("sqlite", str(tmp_path / "hub.db")),
        tmp_path / "audio",
    )
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
