"""Every number an operator, a nurse or a doctor types on a `stetho` command line goes through
one parser: NaN, infinity and a value out of range are refused by the option's name (exit 2),
before anything starts or is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stetho_cli.app import COMMANDS, build_app
from stetho_hub.fhir.cli import app as fhir_tools

runner = CliRunner()
BROKER = ["--broker", "mqtt://127.0.0.1:1"]  # nothing listens: a good value gets this far
REQUEST = ["request", "--resident", "r1", "--at", "mitral", "--site", "home-a", *BROKER]
LISTEN = ["listen", "--device", "steth-1", "--site", "home-a", *BROKER]


def _options(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, (*path, name))
    for param in getattr(command, "params", []):
        yield " ".join(path), param


def _float_options() -> list[tuple[str, Any]]:
    """Each float option of `stetho` and of the hub's FHIR tools (`python -m
    stetho_hub.fhir.cli`, not under `stetho`), named by its command and flag."""
    commands = [(lazy.load(), lazy.name) for lazy in COMMANDS]
    commands.append((typer.main.get_group(fhir_tools), "stetho_hub.fhir.cli"))
    found = []
    for command, name in commands:
        for where, param in _options(command, (name,)):
            if param.type_descriptor.annotation is float:
                found.append((f"{where} {param.opts[0]}", param))
    return found


FLOATS = _float_options()


def test_the_float_options_are_the_ones_this_file_knows() -> None:
    assert sorted(name for name, _ in FLOATS) == [
        "demo --seconds",
        "exam record --duration",
        "listen --seconds",
        "pair --scan-seconds",
        "record --duration",
        "record --speed",
        "request --duration",
        "stetho_hub.fhir.cli send --max-backoff-s",
    ]


@pytest.mark.parametrize(("name", "param"), FLOATS, ids=[name for name, _ in FLOATS])
def test_every_float_option_refuses_nan_and_infinity_by_its_one_parser(
    name: str, param: Any
) -> None:
    parse = param.type_descriptor.parameter_info.parser
    assert parse is not None, f"{name}: typer's own min/max lets NaN through"
    for text in ("nan", "inf", "-inf"):
        with pytest.raises(typer.BadParameter, match="is not a number of"):
            parse(text)


def _said(output: str) -> str:
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())


@pytest.mark.parametrize(
    ("args", "value", "said"),
    [
        ([*REQUEST, "--duration"], "nan", "nan is not a number of seconds from 1 to 120"),
        ([*REQUEST, "--duration"], "inf", "inf is not a number of seconds from 1 to 120"),
        ([*REQUEST, "--duration"], "0.5", "0.5 is not a number of seconds from 1 to 120"),
        ([*REQUEST, "--duration"], "121", "121 is not a number of seconds from 1 to 120"),
        ([*LISTEN, "--seconds"], "nan", "nan is not a number of seconds above 0, up to 1800"),
        ([*LISTEN, "--seconds"], "inf", "inf is not a number of seconds above 0, up to 1800"),
        ([*LISTEN, "--seconds"], "0", "0 is not a number of seconds above 0, up to 1800"),
        (["demo", "--seconds"], "nan", "nan is not a number of seconds from 1 to 86400"),
        (["demo", "--seconds"], "inf", "inf is not a number of seconds from 1 to 86400"),
    ],
)  # fmt: skip
def test_a_doctors_number_out_of_range_is_refused_by_name(
    args: list[str], value: str, said: str
) -> None:
    # Before: `--duration nan` said "Input should be less than or equal to 120" (typer's
    # words, read as the value being too large); `--seconds nan` said "--seconds must be in
    # (0, 1800]"; `stetho demo --seconds inf` ran until Ctrl-C.
    result = runner.invoke(build_app(), [*args, value])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {args[-1]}: {said}\n"


@pytest.mark.parametrize(("args", "value"), [([*REQUEST, "--duration"], "30"),
                                             ([*LISTEN, "--seconds"], "1800")])  # fmt: skip
def test_a_doctors_good_number_is_taken(args: list[str], value: str, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "x.wav")] if args[0] == "listen" else []
    result = runner.invoke(build_app(), [*args, value, *out])
    assert result.exit_code == 1, result.output  # parsed, then the absent broker
    assert "cannot reach broker" in _said(result.output)
