"""The root `stetho` application: global options, then every package's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import edge_agent.cli
import stetho_doctor
from edge_agent import __version__
from stetho_common.cli_app import cli_app
from stetho_common.cli_numbers import bounded
from stetho_common.console import fail
from stetho_common.lazy_cli import LazyCommand, lazy_group

HELP = "Connected-stethoscope edge agent: capture, analyse and sync auscultations."
DAY_S = 86400.0  # a demo's longest timed run; --serve is the one that runs until stopped


def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


def demo(
    seconds: Annotated[
        float,
        typer.Option(
            parser=bounded(1, DAY_S),
            metavar="SECONDS",
            help="Stop after this many seconds (up to a day; --serve runs until Ctrl-C).",
        ),
    ] = 40.0,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Keep running with the nurses' page and the doctor's console, until Ctrl-C.",
        ),
    ] = False,
    fhir_dir: Annotated[
        Path, typer.Option("--fhir-dir", help="Where the recordings' FHIR R4 Bundles are written.")
    ] = Path("demo-fhir"),
) -> None:
    """Run the agent with simulated stethoscopes, a private broker, the hub and a doctor."""
    import asyncio

    from rich.console import Console

    from edge_agent.errors import AgentError
    from stetho_cli.demo import run_demo
    from stetho_common.journal_log import setup_logging

    setup_logging("warning")
    if serve:
        from stetho_cli.demo_serve import serve_demo

        try:
            asyncio.run(serve_demo(Console()))
        except KeyboardInterrupt:
            return
        except AgentError as exc:
            fail(str(exc))
        return
    try:  # made first: a path that cannot be a folder must not wait for the demo's end
        fhir_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--fhir-dir {fhir_dir}: cannot make this folder: {exc.strerror}", "usage")
    try:
        ok = asyncio.run(run_demo(seconds, Console(), fhir_dir))
    except AgentError as exc:
        fail(str(exc))
    if not ok:
        raise typer.Exit(1)


COMMANDS = [
    *edge_agent.cli.COMMANDS,
    *stetho_doctor.COMMANDS,
    LazyCommand(
        "hub",
        "stetho_hub.cli:hub_app",
        "The hospital hub: archive recordings, send receipts, manage doctors' accounts.",
    ),
    LazyCommand(
        "fhir",
        "stetho_hub.fhir.cli:fhir_command",
        "Print the FHIR R4 transaction Bundle of a saved recording (built offline, validated).",
    ),
    LazyCommand(
        "demo",
        "stetho_cli.app:demo",
        "Run the agent with simulated stethoscopes, a private broker, the hub and a doctor.",
    ),
]


def build_app() -> typer.Typer:
    app = cli_app(HELP, name="stetho", cls=lazy_group(COMMANDS), completion=True)
    app.callback(invoke_without_command=True)(_root)
    return app
