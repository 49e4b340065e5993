"""The one sentence for a value an option cannot take, on every `stetho` command line.

"error: --age-band: 'child' is not one of: adult, under_1, ..." (exit 2). Typer checks an
enum option itself and words the refusal as pydantic does ("Value error, 'child' is not one
of 'adult', ..."), under click's usage banner: `choice_refusal` turns that error back into our
sentence, and the options checked in a command's body (`--site`, `--disposition`) say the same.
Any other value an option's parser or callback refuses (a number, an id) is said the same way:
"error: --count: 'abc' is not a whole number of alerts" (`value_refusal`), where click would
print "Invalid value for '--count': ..." under its usage lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, NoReturn

import typer

# typer (0.29) raises its vendored click's errors, not the click package's.
from typer._click.exceptions import MissingParameter

from stetho_common.console import fail

__all__ = ["choice_refusal", "not_one_of", "refuse_choice", "value_refusal"]


def not_one_of(option: str, value: object, choices: Iterable[str]) -> str:
    return f"{option}: {value!r} is not one of: {', '.join(choices)}"


def refuse_choice(option: str, value: object, choices: Iterable[str]) -> NoReturn:
    """Print the sentence and exit 2: the call, not the world, is wrong."""
    fail(not_one_of(option, value, choices), "usage")


def _enum_of(annotation: Any) -> type[Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    return None


def choice_refusal(error: typer.BadParameter) -> str | None:
    """Our sentence for typer's refusal of an enum option's value; None for any other error.

    The value typed is read off the pydantic error typer chains (its `input`), never off the
    message.
    """
    descriptor = getattr(error.param, "type_descriptor", None)
    enum = _enum_of(getattr(descriptor, "annotation", None))
    errors = getattr(error.__cause__, "errors", None)
    if enum is None or error.param is None or not callable(errors):
        return None
    found = errors()
    if not found or "input" not in found[0]:
        return None
    option = error.param.opts[0]
    return not_one_of(option, found[0]["input"], (str(choice.value) for choice in enum))


# What a typed option takes, for pydantic's refusal of an option without our own parser.
_TAKES: dict[object, str] = {int: "a whole number", float: "a number"}


def _name(param: Any) -> str:
    """An option by its flag; an argument by its name as the help shows it (EXAM_ID)."""
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.name).upper()
    return str(param.opts[0])


def value_refusal(error: typer.BadParameter) -> str | None:
    """Our one sentence for any value an option or argument refuses: "--x: <why>"; None for
    an error that names no parameter (click's own words stay then)."""
    if error.param is None:
        return None
    chosen = choice_refusal(error)
    if chosen is not None:
        return chosen
    name = _name(error.param)
    if isinstance(error, MissingParameter):  # its message is empty: click words it late
        return f"{name} is required and missing (--help shows what the command takes)"
    errors = getattr(error.__cause__, "errors", None)
    found = errors() if callable(errors) else []
    if found and "input" in found[0]:  # typer's pydantic coercion: no parser of ours
        descriptor = getattr(error.param, "type_descriptor", None)
        takes = _TAKES.get(getattr(descriptor, "annotation", None), "a value it takes")
        return f"{name}: {found[0]['input']!r} is not {takes}"
    return f"{name}: {error.message}"
