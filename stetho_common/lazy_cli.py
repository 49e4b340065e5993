"""A command group that imports a command's module only when that command runs.

`stetho --help` lists every command from a static table, so it needs none of NumPy, SciPy,
pydantic, paho or bleak: on a Raspberry Pi those imports cost seconds. Click documents the same
idea as "lazily loading subcommands"; this is it for typer's group class.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.core
import typer.main
from typer import _click as click

from stetho_common.cli_app import cli_app
from stetho_common.cli_choices import value_refusal
from stetho_common.console import fail

__all__ = ["LazyCommand", "LazyGroup", "OneSentenceGroup", "lazy_group"]


@dataclass(frozen=True)
class LazyCommand:
    """`name` runs `target` ("package.module:attribute"), a command function or a typer app."""

    name: str
    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except ImportError as exc:  # an optional part (an extra) is not installed here
            fail(f"`stetho {self.name}` cannot start: {exc}")
        if isinstance(found, typer.Typer):
            # Always a group: typer would fold a one-command app into that command, and
            # `stetho staff add` would become `stetho staff`.
            group = typer.main.get_group(found)
            group.name = self.name
            return group
        holder = cli_app()
        holder.command(self.name)(found)
        return typer.main.get_command(holder)


class OneSentenceGroup(typer.core.TyperGroup):
    """A group whose commands refuse a bad option value in one sentence, exit 2: "error:
    --count: 'abc' is not a whole number of alerts", not click's usage banner and "Invalid
    value for '--count': ..." (`stetho_common.cli_choices.value_refusal`)."""

    def invoke(self, ctx: click.Context) -> Any:
        # A subcommand's options are parsed inside the root's invoke: one place for them all.
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            sentence = value_refusal(exc)
            if sentence is None:
                raise
            fail(sentence, "usage")


class LazyGroup(OneSentenceGroup):
    """The root group: its subclasses set `lazy` to the commands of every package."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self.lazy[cmd_name].load()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name].short_help))
                continue
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def lazy_group(commands: list[LazyCommand]) -> type[LazyGroup]:
    """A `LazyGroup` class holding `commands` (typer builds the group from a class)."""
    table: dict[str, Any] = {c.name: c for c in commands}
    return type("StethoGroup", (LazyGroup,), {"lazy": table})
