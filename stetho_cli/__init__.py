"""The `stetho` command's root: it assembles the command groups of every installed package.

The agent's commands (`edge_agent.cli`), the doctor's tools (`stetho_doctor.cli`) and the demo
are registered here, so that neither package imports the other's command line. Nothing heavy is
imported before a command runs: `stetho --version` and `--help` answer at once, even on a Pi.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # the commonest question deserves no import at all
        from edge_agent import __version__

        sys.stdout.write(f"{__version__}\n")
        return
    from stetho_cli.app import build_app

    build_app()(prog_name="stetho")
