"""The root `stetho` application: global options, then every package's commands."""

from __future__ import annotations

from typing import Annotated

import typer

import edge_agent.cli
import stetho_doctor
from edge_agent import __version__
from stetho_common.console import fail
from stetho_common.lazy_cli import LazyCommand, lazy_group

HELP = "Connected-stethoscope edge agent: capture, analyse and sync auscultations."


def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


def demo(
    seconds: Annotated[float, typer.Option(help="Stop after this many seconds.")] = 40.0,
) -> None:
    """Run the agent with simulated stethoscopes, a private broker and a doctor's subscriber."""
    import asyncio

    from rich.console import Console

    from edge_agent.cli._common import setup_logging
    from edge_agent.errors import AgentError
    from stetho_cli.demo import run_demo

    setup_logging("warning")
    try:
        ok = asyncio.run(run_demo(seconds, Console()))
    except AgentError as exc:
        fail(str(exc))
    if not ok:
        raise typer.Exit(1)


COMMANDS = [
    *edge_agent.cli.COMMANDS,
    *stetho_doctor.COMMANDS,
    LazyCommand(
        "fhir",
        "stetho_hub.fhir.cli:fhir_command",
        "Print the FHIR R4 transaction Bundle of a saved recording (built offline, validated).",
    ),
    LazyCommand(
        "demo",
        "stetho_cli.app:demo",
        "Run the agent with simulated stethoscopes, a private broker and a doctor's subscriber.",
    ),
]


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="stetho",
        help=HELP,
        cls=lazy_group(COMMANDS),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback(invoke_without_command=True)(_root)
    return app


def main() -> None:
    build_app()(prog_name="stetho")
