"""What the agent's commands share: the config option and loading it (and `setup_logging`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stetho_common.console import fail

if TYPE_CHECKING:
    from edge_agent.config import AgentConfig

DEFAULT_CONFIG = Path("/etc/stetho-edge/config.toml")  # where `make install` puts it

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="STETHO_CONFIG", help="Agent configuration file (TOML)."),
]


class AgeBandChoice(StrEnum):
    """stetho_signal.AGE_BANDS as command-line choices."""

    adult = "adult"
    under_1 = "under_1"
    one_to_2 = "1_to_2"
    two_to_5 = "2_to_5"
    five_to_12 = "5_to_12"
    twelve_to_16 = "12_to_16"


def load_or_exit(path: Path) -> AgentConfig:
    """The configuration at `path`, or one error naming file, key and expectation (exit 2)."""
    from edge_agent.config import load_config
    from edge_agent.errors import ConfigError
    from edge_agent.transport.settings import check_against_broker

    try:
        return check_against_broker(load_config(path), str(path))
    except ConfigError as exc:
        fail(str(exc), "usage")
