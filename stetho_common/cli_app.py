"""Every `stetho` command group is built here, so that all print the same help.

The policy: plain-text help (rich's boxes and markup off: `stetho exam --help` reads like
`stetho --help`, and square brackets in a help text stay as written), the help when a group
is called with no command, `--install-completion` on the root only (README), and no rich
exception pages (a bad call is one sentence: `stetho_common.console.fail`).
"""

from __future__ import annotations

import typer
import typer.core

__all__ = ["cli_app"]


def cli_app(
    help: str | None = None,
    *,
    name: str | None = None,
    cls: type[typer.core.TyperGroup] | None = None,
    completion: bool = False,
) -> typer.Typer:
    """A typer app with the project's help policy; `cls` a group class of its own, such as
    `stetho_common.lazy_cli.OneSentenceGroup`; `completion` for the `stetho` root alone."""
    return typer.Typer(
        name=name,
        help=help,
        cls=cls,
        no_args_is_help=True,
        add_completion=completion,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
