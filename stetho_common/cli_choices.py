"""The one sentence for a value a choice option cannot take, on every `stetho` command line.

"error: --age-band: 'child' is not one of: adult, under_1, ..." (exit 2). Typer checks an
enum option itself and words the refusal as pydantic does ("Value error, 'child' is not one
of 'adult', ..."), under click's usage banner: `choice_refusal` turns that error back into our
sentence, and the options checked in a command's body (`--site`, `--disposition`) say the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, NoReturn

import typer

from stetho_common.console import fail

__all__ = ["choice_refusal", "not_one_of", "refuse_choice"]


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
