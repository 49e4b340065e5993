"""The one parser of a bounded number on every `stetho` command line: the care home's, the
doctor's and the hub's commands alike."""

from __future__ import annotations

import math
from collections.abc import Callable

import typer

__all__ = ["bounded", "whole"]


def bounded(
    low: float, high: float, unit: str = "seconds", *, above: bool = False
) -> Callable[[str], float]:
    """A parser of a number of `unit` from `low` to `high` for a ``typer.Option(parser=...)``;
    with `above`, `low` itself is refused too (a listen of 0 s).

    Typer's own ``min``/``max`` check reports NaN as "less than or equal to" its bound and lets
    infinity through a bound left open (a scan that never ends): both are refused here, and
    typer names the option ("Invalid value for '--duration'", exit 2).
    """
    span = f"above {low:g}, up to {high:g}" if above else f"from {low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number of {unit}") from None
        inside = low < value if above else low <= value
        if not (math.isfinite(value) and inside and value <= high):
            raise typer.BadParameter(f"{text} is not a number of {unit} {span}")
        return value

    return parse


def whole(low: int, high: int | None = None, unit: str | None = None) -> Callable[[str], int]:
    """A parser of a whole number (of `unit`) from `low`, up to `high` if given, for a
    ``typer.Option(parser=...)``: typer's own words are pydantic's ("Input should be a valid
    integer, unable to parse string as an integer")."""
    words = f"a whole number of {unit}" if unit else "a whole number"
    span = f"from {low} to {high}" if high is not None else f"{low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not {words}") from None
        if value < low or (high is not None and value > high):
            raise typer.BadParameter(f"{text} is not {words}: {span}")
        return value

    return parse
