"""The `stetho` command: parse arguments, build config, call into the daemon or a tool."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from edge_agent import __version__
from edge_agent.cli_analyze import analyze_command
from edge_agent.cli_devices import devices_command, forget_command, pair_command, record_command
from edge_agent.cli_status import status_command
from edge_agent.config import AgentConfig, load_config
from edge_agent.errors import AgentError, ConfigError

EXIT_CONFIG = 2
app = typer.Typer(
    name="stetho",
    help="Connected-stethoscope edge agent: capture, analyse and sync auscultations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect and validate configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.command("analyze")(analyze_command)
app.command("pair")(pair_command)
app.command("devices")(devices_command)
app.command("forget")(forget_command)
app.command("record")(record_command)
app.command("status")(status_command)
err = Console(stderr=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Agent configuration file (TOML).")
]


def setup_logging(level: str) -> None:
    """One line per event on stdout (journald adds time and unit), key=value fields."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stdout,
        format="level=%(levelname)s logger=%(name)s %(message)s",
    )


def load_or_exit(path: Path) -> AgentConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(EXIT_CONFIG) from exc


def run_until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; SIGTERM and SIGINT cancel it so it can close recordings cleanly."""

    async def runner() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await main
        except asyncio.CancelledError:
            logging.getLogger("edge_agent").info("event=shutdown reason=signal")

    asyncio.run(runner())


@app.command()
def run(config: ConfigOption) -> None:
    """Run the agent daemon until SIGTERM or SIGINT."""
    from edge_agent import daemon

    cfg = load_or_exit(config)
    setup_logging(cfg.log_level)
    logging.getLogger("edge_agent").info(
        "event=starting version=%s site=%s agent=%s devices=%d",
        __version__,
        cfg.site,
        cfg.agent_id,
        len(cfg.devices),
    )
    try:
        run_until_signalled(daemon.run(cfg))
    except AgentError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="Stop after this many seconds.")] = 40.0,
) -> None:
    """Run the agent with simulated stethoscopes, a private broker and a doctor's subscriber."""
    from edge_agent.demo import run_demo

    setup_logging("warning")
    try:
        ok = asyncio.run(run_demo(seconds, Console()))
    except AgentError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if not ok:
        raise typer.Exit(1)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Configuration file to validate.")],
) -> None:
    """Validate a config file and print the effective configuration, secrets redacted."""
    cfg = load_or_exit(file)
    typer.echo(json.dumps(cfg.redacted(), indent=2))
    err.print(f"[green]ok:[/] {file} is valid ({len(cfg.devices)} device(s))", highlight=False)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


from edge_agent.cli_doctor import ack, alerts, listen  # noqa: E402 - after `app` exists

app.command()(alerts)
app.command()(ack)
app.command()(listen)

from edge_agent.web.cli import exam_app, staff_app  # noqa: E402 - exams and the nurses' page

app.add_typer(staff_app, name="staff")
app.add_typer(exam_app, name="exam")


def main() -> None:
    app()
