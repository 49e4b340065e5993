"""A value that no choice option takes is refused in one sentence naming the option and its
choices (exit 2), on every `stetho` command: typer's enum options and the options a command
checks itself alike."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
from typer.testing import CliRunner

from stetho_cli.app import COMMANDS, build_app

runner = CliRunner()
BROKER = ["--broker", "mqtt://127.0.0.1:1"]  # nothing listens: the refusal comes first


def _options(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))
    for param in getattr(command, "params", []):
        yield " ".join(path), param


def _enum_options() -> dict[str, type[Enum]]:
    found = {}
    for lazy in COMMANDS:
        for where, param in _options(lazy.load(), (lazy.name,)):
            annotation = param.type_descriptor.annotation
            if isinstance(annotation, type) and issubclass(annotation, Enum):
                found[f"{where} {param.opts[0]}"] = annotation
    return found


ENUMS = _enum_options()
ARGS = {  # what each command needs besides the option, to reach the option's check
    "analyze": ["x.wav"],
    "exam start": ["r1"],
}


def test_the_enum_options_are_the_ones_this_file_knows() -> None:
    assert sorted(ENUMS) == ["analyze --age-band", "analyze --kind", "exam start --age-band"]


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_every_enum_option_refuses_in_one_sentence(name: str) -> None:
    # Before: "Usage: ... Error: Invalid value for '--age-band': Value error, 'child' is not
    # one of 'adult', 'under_1', ..." (pydantic's words, under click's banner).
    *command, option = name.split()
    args = [*command, *ARGS[" ".join(command)], option, "child"]
    result = runner.invoke(build_app(), args)
    choices = ", ".join(str(choice.value) for choice in ENUMS[name])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {option}: 'child' is not one of: {choices}\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["record", "--device", "d", "--duration", "1", "--out", "x.flac", "--site", "kneecap"],
         "error: --site: 'kneecap' is not one of: aortic, pulmonic"),
        (["answer", "00000000-0000-0000-0000-000000000001", "--site", "home-a",
          "--disposition", "later", *BROKER],
         "error: --disposition: 'later' is not one of: no-action, "),
        (["request", "--resident", "r1", "--at", "kneecap", "--site", "home-a", *BROKER],
         "error: --at: 'kneecap' is not one of: aortic, pulmonic"),
    ],
)  # fmt: skip
def test_the_choices_a_command_checks_itself_say_the_same(args: list[str], said: str) -> None:
    # Before: "unknown site 'kneecap'; choose one of ...", "disposition 'later': choose one
    # of ...", "Invalid value for '--at': 'kneecap' is not an auscultation site; ...".
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(said), result.output
    assert result.output.count("\n") == 1


def test_a_good_choice_is_taken() -> None:
    result = runner.invoke(build_app(), ["analyze", "--kind", "lung", "--age-band", "1_to_2",
                                         "no-such.wav"])  # fmt: skip
    assert result.exit_code == 1, result.output  # parsed, then the missing file
    assert "no such file" in result.output
