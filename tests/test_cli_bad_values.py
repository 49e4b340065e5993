"""A value an option refuses (a number, an id) is one sentence naming the option and what it
takes, exit 2, on every `stetho` command and the hub's FHIR tools: never click's usage lines
and "Invalid value for '--x': Input should be a valid integer, ...", never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stetho_cli.app import COMMANDS, build_app
from stetho_hub.fhir.cli import app as fhir_tools

runner = CliRunner()
FHIR = "stetho_hub.fhir.cli"


def _options(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))
    for param in getattr(command, "params", []):
        yield path, param


def _numeric_options() -> list[tuple[tuple[str, ...], str]]:
    commands = [(lazy.load(), (lazy.name,)) for lazy in COMMANDS]
    commands.append((typer.main.get_group(fhir_tools), (FHIR,)))
    found = []
    for command, path in commands:
        for where, param in _options(command, path):
            if param.type_descriptor.annotation in {int, float, int | None, float | None}:
                found.append((where, param.opts[0]))
    return found


NUMERIC = _numeric_options()


def _run(path: tuple[str, ...], args: list[str]) -> Any:
    if path[0] == FHIR:
        return runner.invoke(fhir_tools, [*path[1:], *args])
    return runner.invoke(build_app(), [*path, *args])


def test_the_numeric_options_are_found() -> None:
    names = sorted(" ".join((*where, option)) for where, option in NUMERIC)
    assert "alerts --count" in names and "record --seed" in names
    assert f"{FHIR} send --max-backoff-s" in names
    assert len(names) == 10, names


@pytest.mark.parametrize(("path", "option"), NUMERIC, ids=[" ".join((*p, o)) for p, o in NUMERIC])
@pytest.mark.parametrize("value", ["abc", "1,5"])
def test_every_numeric_option_refuses_a_bad_number_in_one_sentence(
    path: tuple[str, ...], option: str, value: str
) -> None:
    # Before: "Usage: stetho alerts [OPTIONS]\nTry 'stetho alerts --help' for help.\n\nError:
    # Invalid value for '--count': Input should be a valid integer, unable to parse string as
    # an integer"; `record --seed -1` ended in numpy's traceback.
    result = _run(path, [option, value])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {option}: '{value}' is not a"), result.output
    assert result.output.count("\n") == 1, result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["alerts", "--count", "0"], "error: --count: 0 is not a whole number of alerts: 1 or"),
        (["record", "--seed", "-1"], "error: --seed: -1 is not a whole number: from 0 to "),
        (["demo", "--seconds", "0"], "error: --seconds: 0 is not a number of seconds from 1 to "),
        (["alerts", "--site", "Home A"], "error: --site: 'Home A' is not an id: 1-63 lower-case"),
        (["listen", "--device", "a/b"], "error: --device: 'a/b' is not an id: 1-63 lower-case"),
        (["ack", "xyz", "--site", "home-a"], "error: ALERT_ID: 'xyz' is not an alert id (a UUID)"),
        (["answer", "xyz", "--site", "home-a", "--disposition", "no-action"],
         "error: EXAM_ID: 'xyz' is not an exam id (a UUID)"),
    ],
)  # fmt: skip
def test_a_number_out_of_range_or_a_bad_id_is_one_sentence(args: list[str], said: str) -> None:
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(said), result.output
    assert result.output.count("\n") == 1, result.output


def _required() -> list[tuple[str, ...]]:
    """Every command with a required argument or option: run bare, it stops at parsing."""
    found = []
    for lazy in COMMANDS:
        for where, param in _options(lazy.load(), (lazy.name,)):
            if param.required and where not in found:
                found.append(where)
    return found


REQUIRED = _required()


def test_the_commands_with_a_required_parameter_are_found() -> None:
    assert ("config", "check") in REQUIRED and ("exam", "start") in REQUIRED
    assert ("answer",) in REQUIRED


@pytest.mark.parametrize("path", REQUIRED, ids=[" ".join(p) for p in REQUIRED])
def test_a_missing_required_parameter_is_named_in_one_sentence(path: tuple[str, ...]) -> None:
    # Before: "error: FILE: " (stetho config check), "error: --resident: " (stetho exam start).
    result = _run(path, [])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: "), result.output
    assert result.output.endswith(
        " is required and missing (--help shows what the command takes)\n"
    )
    assert "Traceback" not in result.output


def test_a_missing_argument_and_option_read_as_the_help_names_them() -> None:
    said = "is required and missing (--help shows what the command takes)"
    assert _run(("config", "check"), []).output == f"error: FILE {said}\n"
    assert _run(("exam", "start"), []).output == f"error: --resident {said}\n"
