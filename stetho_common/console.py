"""How every `stetho` command ends: one exit-code table, one error printer, one async runner.

A user's mistake or an unreachable peer is one sentence on stderr and a documented exit status,
never a traceback. Messages are printed as plain text: a path or a pattern with square brackets
(`pip install 'stetho-edge[usb]'`, `^[a-z]{0,62}$`) must reach the user as written, so markup is
applied to the "error:" prefix only.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

__all__ = ["EXIT_CODES", "fail", "run_until_signalled", "stderr", "warn"]

# The exit statuses of every command, in one place (documented in the README).
EXIT_CODES: Final = {
    "ok": 0,
    "failed": 1,  # the command ran and could not do its job (unreadable file, broker refused)
    "usage": 2,  # wrong arguments or configuration: fix the call or the file
    "not-running": 3,  # `stetho status`: no agent is running
    "stale": 4,  # `stetho status`: the agent runs but cannot refresh its status (disk full?)
    "rerecord": 5,  # `stetho exam record`: the site was recorded, but must be recorded again
    "no-adapter": 10,
    "powered-off": 11,
    "not-found": 12,
    "rejected": 13,
    "permission": 14,
    "link-lost": 15,
    "registry": 16,
    "interrupted": 130,  # Ctrl-C, as shells report SIGINT
}
T = TypeVar("T")


@functools.cache
def stderr() -> Console:
    """The one stderr console (rich is imported on first use: `--help` does not need it)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _line(prefix: str, style: str, message: str) -> Text:
    from rich.text import Text

    return Text.assemble((prefix, style), " ", Text(message))


def fail(message: str, kind: str = "failed") -> NoReturn:
    """Print `error: message` and exit with the status `kind` names in `EXIT_CODES`."""
    stderr().print(_line("error:", "bold red", message), soft_wrap=True)
    raise typer.Exit(EXIT_CODES[kind])


def warn(message: str) -> None:
    stderr().print(_line("warning:", "yellow", message), soft_wrap=True)


def run_until_signalled(main: Coroutine[Any, Any, T]) -> T:
    """Run `main`; SIGTERM and SIGINT cancel it so it can close recordings and files cleanly.

    A cancelled run exits with status 130 ("interrupted"), whether or not an error came first.
    """

    import asyncio
    import signal

    async def runner() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        return await main

    try:
        return asyncio.run(runner())
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise typer.Exit(EXIT_CODES["interrupted"]) from None
