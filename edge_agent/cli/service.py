"""`stetho run` and `stetho config check`: the care-home service and its configuration."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from edge_agent import __version__
from edge_agent.cli._common import DEFAULT_CONFIG, ConfigOption, load_or_exit
from stetho_common.cli_app import cli_app
from stetho_common.console import fail, run_until_signalled, stderr
from stetho_common.journal_log import setup_logging
from stetho_common.task_groups import first_error

config_app = cli_app("Inspect and validate configuration files.")


def run(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Run the agent daemon until SIGTERM or SIGINT."""
    from edge_agent.errors import AgentError
    from edge_agent.runtime import daemon

    cfg = load_or_exit(config)
    setup_logging(cfg.log_level)
    log = logging.getLogger("edge_agent")
    log.info(
        "event=starting version=%s site=%s agent=%s devices=%d",
        __version__,
        cfg.site,
        cfg.agent_id,
        len(cfg.devices),
    )

    async def until_signalled() -> None:
        try:
            await daemon.run(cfg)
        except asyncio.CancelledError:  # SIGTERM is how systemd stops us: a clean exit
            log.info("event=shutdown reason=signal")

    try:
        run_until_signalled(until_signalled())
    except* AgentError as errors:  # a task's error arrives in the daemon TaskGroup's group
        fail(str(first_error(errors)))


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Configuration file to validate.")],
) -> None:
    """Validate a config file and print the effective configuration, secrets redacted."""
    cfg = load_or_exit(file)
    typer.echo(json.dumps(cfg.redacted(), indent=2))
    stderr().print(f"ok: {file} is valid ({len(cfg.devices)} device(s))", markup=False)
