"""`stetho hub ...`: run the hub, migrate its database, show its state, manage accounts.

`hub_app` is a typer app that the root `stetho` command mounts; `python -m stetho_hub`
runs it alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from stetho_common.cli_app import cli_app
from stetho_common.console import fail
from stetho_common.journal_log import setup_logging
from stetho_common.secret_input import ask_secret
from stetho_common.task_groups import first_error
from stetho_hub.config import HubConfig, load_config
from stetho_hub.errors import HubConfigError, HubError

if TYPE_CHECKING:
    from edge_agent.transport.mqtt import MqttSettings
    from stetho_hub.console import ConsoleSettings
    from stetho_hub.fhir import FhirServerSettings

hub_app = cli_app(
    "The hospital hub: archive recordings, send receipts, manage doctors' accounts.", name="hub"
)
user_app = cli_app("Doctors' and administrators' accounts.")
hub_app.add_typer(user_app, name="user")
err = Console(stderr=True)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Hub configuration (TOML).")]


def _load(path: Path) -> HubConfig:
    try:
        return load_config(path)
    except HubConfigError as exc:
        fail(str(exc), "usage")


@hub_app.command()
def run(config: ConfigOption) -> None:
    """Archive every care home's messages and send receipts, until SIGTERM or SIGINT."""
    from edge_agent.errors import WatchdogSettingError
    from edge_agent.transport.settings import broker_settings
    from stetho_hub.fhir.errors import FhirError

    cfg = _load(config)
    setup_logging(cfg.log_level)
    # Decisions leave on a clean session of their own: the ingest's session only stores.
    publish = broker_settings(cfg.broker, None)
    # The console (aiohttp, its pages) loads only when it is on: a third of a start.
    console = _console_settings(cfg, publish) if cfg.console.enabled else None

    # The token file is read now, by the FHIR modules (fhir.resources, httpx) the export needs:
    # a bad token file or a missing `hub` extra stops the hub before it connects to anything.
    try:
        fhir = fhir_settings(cfg) if cfg.fhir.base_url is not None else None
    except (FhirError, ModuleNotFoundError) as exc:
        fail(str(exc))

    try:
        asyncio.run(_serve(cfg, console, fhir))
    except* (HubError, FhirError, WatchdogSettingError) as errors:  # from the TaskGroup
        fail(str(first_error(errors)))


def _console_settings(cfg: HubConfig, publish: MqttSettings) -> ConsoleSettings:
    from stetho_hub.console import ConsoleSettings

    c = cfg.console
    return ConsoleSettings(
        cfg.database.target(), cfg.archive.audio_dir, c.host, c.port, c.session_hours,
        c.secure_cookies, publish, cfg.fhir.queue if cfg.fhir.base_url is not None else None,
    )  # fmt: skip


async def _serve(
    cfg: HubConfig, console: ConsoleSettings | None, fhir: FhirServerSettings | None
) -> None:
    """The hub's tasks, telling systemd (when it runs us: $NOTIFY_SOCKET) how they are doing.

    READY once the database is migrated and the console listens, not once the broker answers:
    the hub retries the broker for ever while the broker queues for it, and the console serves
    the archive meanwhile, so a broker away at boot must not fail the start (TimeoutStartSec=).
    """
    from edge_agent.runtime.sdnotify import Notifier
    from edge_agent.runtime.watchdog import run_watchdog
    from stetho_hub.ingest import run_hub
    from stetho_hub.ingest.runner import open_archive

    task = asyncio.current_task()
    assert task is not None
    notifier = Notifier.from_env()

    def stop() -> None:
        notifier.stopping("finishing the commit in progress")
        task.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        (await asyncio.to_thread(open_archive, cfg)).db.close()  # migrated before serving
        async with asyncio.TaskGroup() as group:
            listening = asyncio.Event()
            group.create_task(run_hub(cfg))
            group.create_task(run_watchdog(notifier))  # pings while this loop turns
            if console is not None:
                from stetho_hub.console import serve_console

                group.create_task(serve_console(console, listening))
            else:
                listening.set()
            if fhir is not None:
                group.create_task(_export_fhir(cfg, fhir))
            await listening.wait()
            serving = ", console listening" if console is not None else ""
            notifier.ready(f"hub {cfg.hub_id}: archive open{serving}")
    except asyncio.CancelledError:
        logging.getLogger("stetho_hub").info("event=shutdown reason=signal")
    finally:
        notifier.close()


async def _export_fhir(cfg: HubConfig, settings: FhirServerSettings) -> None:
    """Closed exams to the hospital's FHIR server, on a database connection of its own."""
    from stetho_hub.fhir import FhirQueue, Naming
    from stetho_hub.fhir.export import run_export
    from stetho_hub.storage import AudioStore, open_database

    # Checked, not migrated: `_serve` migrated before starting the exporter.
    db = await asyncio.to_thread(open_database, cfg.database.target())
    queue = FhirQueue(cfg.fhir.queue)
    try:
        naming = Naming(**cfg.fhir.systems())
        audio = AudioStore(cfg.archive.audio_dir)
        await run_export(db, audio, queue, settings, naming, cfg.fhir.audio_url)
    finally:
        queue.close()
        db.close()


def fhir_settings(cfg: HubConfig) -> FhirServerSettings:
    from stetho_hub.fhir import FhirServerSettings
    from stetho_hub.fhir.cli import bearer_token

    f = cfg.fhir
    assert f.base_url is not None  # only called when the export is on
    token = bearer_token(f.token_file, "fhir.token_file")
    return FhirServerSettings(f.base_url, token, f.ca_file, f.cert_file, f.key_file)


@hub_app.command()
def migrate(config: ConfigOption) -> None:
    """Create or upgrade the database schema (also done by `run`); safe to repeat."""
    from stetho_hub.storage import LATEST, migrate_database

    cfg = _load(config)
    try:
        applied = migrate_database(cfg.database.target())
    except HubError as exc:
        fail(str(exc))
    done = ", ".join(map(str, applied)) if applied else "none (already current)"
    typer.echo(f"schema version {LATEST}; migrations applied now: {done}")


hub_app.command("init-db", help="Same as `migrate`: create the database schema.")(migrate)


@hub_app.command()
def status(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Counts from the archive: recordings, receipts waiting, refusals by reason."""
    from stetho_hub.fhir.errors import FhirError
    from stetho_hub.storage import open_database, summary

    cfg = _load(config)
    try:
        db = open_database(cfg.database.target())
        try:
            counts = summary(db)
        finally:
            db.close()
        if cfg.fhir.base_url is not None:
            counts["fhir"] = _fhir_status(cfg)
    except (HubError, FhirError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(counts, sort_keys=True))
        return
    for key, value in counts.items():
        typer.echo(f"{key:32} {value}")


@hub_app.command("fhir")
def fhir(
    exam_id: Annotated[str, typer.Argument(help="The exam's id (exam_id).")],
    config: ConfigOption,
    audio_base_url: Annotated[
        str | None,
        typer.Option(
            "--audio-base-url",
            help="Where the hospital fetches recordings (default: the config's fhir.audio_url).",
        ),
    ] = None,
) -> None:
    """Print a closed exam's FHIR R4 transaction Bundle, built from the archive and validated."""
    from stetho_hub.fhir.errors import FhirError
    from stetho_hub.storage import AudioStore, open_database

    try:  # the Bundle builder needs the `hub` extra, which says so when it is missing
        from stetho_hub.fhir import Naming
        from stetho_hub.fhir.cli import check_audio_base_url, exam_bundle_text
        from stetho_hub.fhir.from_archive import exam_from_archive
    except ModuleNotFoundError as exc:
        fail(str(exc))
    check_audio_base_url(audio_base_url)
    cfg = _load(config)
    try:
        db = open_database(cfg.database.target())
        try:
            url = audio_base_url or cfg.fhir.audio_url
            exam = exam_from_archive(db, AudioStore(cfg.archive.audio_dir), exam_id, url)
        finally:
            db.close()
        typer.echo(exam_bundle_text(exam, Naming(**cfg.fhir.systems())))
    except (HubError, FhirError) as exc:
        fail(str(exc))


@user_app.command("add")
def user_add(
    config: ConfigOption,
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. dr-lee.")],
    role: Annotated[str, typer.Option(help="doctor or admin.")] = "doctor",
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="A care home this doctor sees; repeat.", metavar="<site>"),
    ] = None,
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file instead of a prompt.")
    ] = None,
) -> None:
    """Create an account (scrypt-hashed password); doctors see only their --site care homes."""
    from stetho_hub.errors import UserError
    from stetho_hub.storage import open_database
    from stetho_hub.storage.users import MIN_PASSWORD_CHARS, add_user, check_new_user

    cfg = _load(config)
    try:
        check_new_user(username, role, tuple(site or ()))
    except UserError as exc:
        fail(str(exc), "usage")
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            fail(f"cannot read --password-file {password_file}: {exc.strerror}", "usage")
        except UnicodeDecodeError:
            fail(f"--password-file {password_file} is not UTF-8 text", "usage")
    else:
        password = ask_secret(f"password for {username}: ", "password")
        if ask_secret("again: ", "password") != password:
            fail("the passwords differ")
    if len(password) < MIN_PASSWORD_CHARS:
        fail(f"password: expected at least {MIN_PASSWORD_CHARS} characters", "usage")
    try:
        db = open_database(cfg.database.target())
        try:
            add_user(db, username, password, role, tuple(site or ()))
        finally:
            db.close()
    except HubError as exc:
        fail(str(exc))
    sees = "every care home" if role == "admin" else ", ".join(site or []) or "no care home yet"
    typer.echo(f"user {username} added ({role}; sees {sees})")


def main() -> None:
    hub_app()


def _fhir_status(cfg: HubConfig) -> dict[str, object]:
    """The FHIR queue's counts and last error (nothing queued yet: an empty queue)."""
    from stetho_hub.fhir import FhirQueue

    queue = FhirQueue(cfg.fhir.queue)
    try:
        status = queue.status()
    finally:
        queue.close()
    return {"base_url": cfg.fhir.base_url, **dataclasses.asdict(status)}
