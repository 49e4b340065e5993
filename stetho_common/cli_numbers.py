"""The one parser of a bounded number on every `stetho` command line: the care home's, the
doctor's and the hub's commands alike."""

from __future__ import annotations

import math
from collections.abc import Callable

import typer

__all__ = ["bounded"]


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
