"""What `stetho hub run` hands the console and the FHIR sender, read from the config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from typer.testing import CliRunner

from stetho_hub.cli import _console_settings, _fhir_status, fhir_settings, hub_app
from stetho_hub.config import load_config
from stetho_hub.console import ConsoleSettings
from stetho_hub.fhir import FhirServerSettings
from stetho_hub.storage import DatabaseTarget

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
