"""One schema policy wherever a hub process opens its database (`storage.open_database`): the
console started alone, the FHIR export, the ingest and its receipts, every `stetho hub` command,
and each PostgreSQL reconnection. And each migration's checksum: one whose SQL changed after it
was applied is refused by every command; a database recorded before checksums is backfilled.

Real SQLite files and a real PostgreSQL on loopback (`db_target`; the checksum tests that must
run under `make mutate` too take `postgres_server` directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.cli import _export_fhir, hub_app
from stetho_hub.config import load_config
from stetho_hub.console import ConsoleSettings, serve_console
from stetho_hub.errors import SchemaVersionError, StorageUnavailableError
from stetho_hub.fhir import FhirServerSettings
from stetho_hub.ingest.runner import open_archive
from stetho_hub.storage import open_database
from stetho_hub.storage.database import DatabaseTarget, connect
from stetho_hub.storage.migrations import (
    MIGRATIONS,
)
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import HubProcess, WirePublisher, write_hub_config
from stetho_testkit.postgres import PostgresServer
from tests.stetho_hub.schema_edits import (
    BEFORE_CHECKSUMS,
    SCHEMA_DOCS,
    changed_refusal,
    edit_outside,
    migrated_outside,
    pending_refusal,
    recorded_checksums,
)

runner = CliRunner()


# ---- every entry point: the console, the FHIR export, the ingest, each command ---------------


def _console(target: DatabaseTarget, tmp_path: Path) -> ConsoleSettings:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return ConsoleSettings(target, tmp_path / "audio", "127.0.0.1", port)


def _serve_refused(settings: ConsoleSettings) -> str:
    listening = asyncio.Event()

    async def serve() -> None:
        async with asyncio.timeout(10):  # a console that serves instead fails here, not hangs
            await serve_console(settings, listening)

    with pytest.raises(SchemaVersionError) as refused:
        asyncio.run(serve())
    assert not listening.is_set()
    with socket.socket() as again:  # nothing listens: the port is free
        again.bind(("127.0.0.1", settings.port))
    return str(refused.value)


def test_the_console_started_alone_refuses_a_database_not_migrated(
    db_target: DatabaseTarget, tmp_path: Path
) -> None:
    # Before: the console opened its own connection unchecked, and served.
    migrated_outside(db_target, BEFORE_CHECKSUMS)
    refused = _serve_refused(_console(db_target, tmp_path))
    assert refused == pending_refusal(db_target.describe())


def test_the_console_refuses_a_foreign_migration_without_showing_the_password(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("policy_console_foreign")
    migrated_outside(DatabaseTarget("postgresql", url))
    edit_outside(
        DatabaseTarget("postgresql", url),
        "UPDATE schema_migrations SET name = 'zwei' WHERE version = 2",
    )
    secret = DatabaseTarget("postgresql", url.replace("hub@", "hub:s3cret@"))  # trusted
    refused = _serve_refused(_console(secret, tmp_path))
    assert "s3cret" not in refused
    assert refused == (
        f"the database postgresql:{url.replace('hub@', 'hub:***@')} records migration 2 under "
        f"another name than this hub's: another build of the hub migrated it; {SCHEMA_DOCS}"
    )


def _terminate_others(url: str) -> None:
    """The server drops every other connection to this database, as a restart would."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_every_reconnection_is_checked_again(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("policy_reconnect")
    target = DatabaseTarget("postgresql", url)
    db = open_database(target, migrating=True)
    edit_outside(target, "UPDATE schema_migrations SET checksum = '0' WHERE version = 3")
    _terminate_others(url)
    # The connection the server dropped fails once; the next transactions reconnect.
    with pytest.raises(StorageUnavailableError), db.transaction() as tx:
        tx.one("SELECT 1")
    for _ in range(2):  # the next transactions reconnect, and are refused each time
        with pytest.raises(SchemaVersionError) as refused, db.transaction() as tx:
            tx.one("SELECT 1")
        assert str(refused.value) == changed_refusal(target.describe(), 3)
    right = (MIGRATIONS[2].checksum,)
    edit_outside(target, "UPDATE schema_migrations SET checksum = ? WHERE version = 3", right)
    with db.transaction() as tx:  # put right: the next reconnection serves
        assert tx.one("SELECT 1") == (1,)
    db.close()


@pytest.mark.broker
def test_a_running_hub_whose_database_changed_stops_saying_why(
    broker: LocalBroker, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    # Before: the refusal reached `stetho hub run` inside two TaskGroups' groups, and the hub
    # stopped saying "error: unhandled errors in a TaskGroup (1 sub-exception)".
    url = postgres_server.create_database("policy_hub_later")
    target = DatabaseTarget("postgresql", url)
    config = write_hub_config(tmp_path / "hub.toml", broker.port, target, tmp_path / "audio")
    hub = HubProcess(config, tmp_path / "hub.log")
    with WirePublisher(broker.host, broker.port) as agent, contextlib.closing(hub):
        hub.start()
        edit_outside(target, "UPDATE schema_migrations SET checksum = '0' WHERE version = 3")
        _terminate_others(url)
        agent.recording(make_recording(1))  # its store reconnects, and is refused
        assert hub.process is not None and hub.process.wait(timeout=60) == 1, hub.output()
    assert hub.output().splitlines()[-1] == f"error: {changed_refusal(target.describe(), 3)}"
    assert "recording_archived" not in hub.output()


def test_a_console_whose_database_changed_under_it_serves_nothing(
    postgres_server: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_server.create_database("policy_console_later")
    target = DatabaseTarget("postgresql", url)
    with caplog.at_level(logging.WARNING), console_running(tmp_path, target=target) as hub:
        doctor = Browser(hub.url)
        assert doctor.sign_in("dr-a") == 303
        assert doctor.get("/")[0] == 200
        edit_outside(target, "UPDATE schema_migrations SET name = 'zwei' WHERE version = 2")
        _terminate_others(url)
        answers = [doctor.get("/?lang=en")[:2] for _ in range(3)]
        status, body, _headers = doctor.get("/?lang=fr")
    # The first met the dropped connection: a page saying to retry (before: a 500, a trace).
    assert [a[0] for a in answers] == [503, 503, 503], answers
    assert "did not answer: try again in a moment" in answers[0][1].decode()
    assert "its schema changed" in answers[1][1].decode()
    assert status == 503 and "son schéma a changé" in body.decode()
    assert any(m.startswith("event=storage_unavailable error=") for m in caplog.messages)
    said = f"the database {target.describe()} records migration 2 under another name"
    assert any(m.startswith(f"event=schema_refused error='{said}") for m in caplog.messages)


FHIR_ON = """[fhir]
base_url = "https://fhir.hospital.example"
resident_system = "urn:resident"
agent_system = "urn:agent"
provenance_tag_system = "urn:tag"
"""


def _config(tmp_path: Path, target: DatabaseTarget, extra: str = "") -> Path:
    path = tmp_path / "hub.toml"
    key = "sqlite" if target.dialect == "sqlite" else "postgresql"
    path.write_text(f'[database]\n{key} = "{target.location}"\n{extra}', encoding="utf-8")
    return path


def test_the_fhir_export_started_alone_refuses_a_database_not_migrated(
    db_target: DatabaseTarget, tmp_path: Path
) -> None:
    # Before: it opened the archive as the ingest does, migrating it on its way.
    migrated_outside(db_target, BEFORE_CHECKSUMS)
    cfg = load_config(_config(tmp_path, db_target, FHIR_ON))
    settings = FhirServerSettings("https://fhir.hospital.example", "t", None, None, None)

    async def export() -> None:
        async with asyncio.timeout(10):  # an export that runs instead fails here, not hangs
            await _export_fhir(cfg, settings)

    with pytest.raises(SchemaVersionError) as refused:
        asyncio.run(export())
    assert str(refused.value) == pending_refusal(db_target.describe())
    db = connect(db_target)
    with db.transaction() as tx:
        assert tx.one("SELECT MAX(version) FROM schema_migrations") == (3,)  # left as it was
    db.close()


def test_the_ingest_migrates_pending_versions_and_refuses_a_changed_one(
    db_target: DatabaseTarget, tmp_path: Path
) -> None:
    migrated_outside(db_target, BEFORE_CHECKSUMS)
    cfg = load_config(_config(tmp_path, db_target))
    archive = open_archive(cfg)  # the ingest (and its receipts) may migrate: `run` does
    assert recorded_checksums(archive.db)[4] == MIGRATIONS[3].checksum
    archive.db.close()
    edit_outside(db_target, "UPDATE schema_migrations SET checksum = '0' WHERE version = 1")
    with pytest.raises(SchemaVersionError) as refused:
        open_archive(cfg)
    assert str(refused.value) == changed_refusal(db_target.describe(), 1)


def _commands(tmp_path: Path, config: Path) -> list[list[str]]:
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery\n", encoding="utf-8")
    c = ["--config", str(config)]
    return [
        ["migrate", *c],
        ["status", *c],
        ["fhir", "3f1c2b9e-8d0a-4f5e-9c1b-2a3d4e5f6a7b", *c],
        ["user", "add", "dr-lee", *c, "--password-file", str(secret)],
    ]


def test_every_command_refuses_a_changed_migration_in_one_line(
    db_target: DatabaseTarget, tmp_path: Path
) -> None:
    config = _config(tmp_path, db_target)
    assert runner.invoke(hub_app, ["migrate", "--config", str(config)]).exit_code == 0
    edit_outside(db_target, "UPDATE schema_migrations SET checksum = '0' WHERE version = 2")
    said = f"error: {changed_refusal(db_target.describe(), 2)}"
    for args in _commands(tmp_path, config):
        result = runner.invoke(hub_app, args)
        assert result.exit_code == 1, (args, result.output)
        assert " ".join(result.output.split()) == said, args
    done = subprocess.run([sys.executable, "-m", "stetho_hub", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert " ".join(done.stderr.split()) == said
    assert "Traceback" not in done.stdout + done.stderr
