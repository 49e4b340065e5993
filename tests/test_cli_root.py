"""The `stetho` root: every command listed without importing it, and listed truly."""

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stetho_cli.app import COMMANDS, build_app
from stetho_common.lazy_cli import LazyCommand


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_short_help_is_the_commands_own_first_line(command: LazyCommand) -> None:
    loaded = command.load()
    first = inspect.cleandoc(loaded.help or "").split("\n\n")[0].replace("\n", " ")
    assert first == command.short_help


def test_help_lists_every_command_without_heavy_imports() -> None:
    code = (
        "import sys; from stetho_cli import main; sys.argv = ['stetho', '--help'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'numpy', 'scipy', 'pydantic', 'paho', 'bleak', 'soundfile'} & set(sys.modules)\n"
        "print('HEAVY', sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for command in COMMANDS:
        assert f"  {command.name} " in out
    assert "HEAVY []" in out


def test_version_and_unknown_command() -> None:
    from edge_agent import __version__

    run = [sys.executable, "-m", "stetho_cli"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == __version__
    unknown = subprocess.run([*run, "frobnicate"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
    assert build_app().info.name == "stetho"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["demo", "--seconds", "-5"], "error: --seconds: -5 is not a number of seconds"),
        (
            ["alerts", "--count", "0", "--broker", "mqtt://127.0.0.1:1"],
            "error: --count: 0 is not a whole number of alerts: 1 or more",
        ),
    ],
)
def test_a_count_or_duration_below_its_meaning_is_a_usage_error(args: list[str], said: str) -> None:
    # Before: `demo --seconds -5` ran a demo that stopped at once and failed without saying why;
    # `alerts --count 0` (or -1) exited after the first alert, not after none.
    run = subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2 and said in run.stderr


def _commands(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


EVERY_COMMAND = [path for lazy in COMMANDS for path in _commands(lazy.load(), (lazy.name,))]


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=" ".join)
def test_every_help_is_plain_text_with_readable_value_names(
    path: tuple[str, ...],
) -> None:
    # Before: `exam`, `staff`, `hub user` and `fhir` drew rich's boxes where the others print
    # plain text, and `exam start --site` showed its value as <list[str]>.
    result = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert not set("╭╮╰╯│─") & set(result.output), result.output
    assert "<list[str]>" not in result.output


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=" ".join)
def test_completion_is_offered_by_the_root_only(path: tuple[str, ...]) -> None:
    # Before: `stetho status --help` (and run, record, alerts, demo, fhir...) listed
    # --install-completion and --show-completion, a second way to do what the README says
    # `stetho --install-completion` does, each editing the user's shell startup file.
    result = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "100"})
    assert "completion" not in result.output


def test_the_root_still_completes_a_commands_options() -> None:
    env = {"_STETHO_COMPLETE": "complete_bash", "COMP_WORDS": "stetho status --", "COMP_CWORD": "2"}
    result = CliRunner().invoke(build_app(), [], env=env, prog_name="stetho")
    assert {"--config", "--json"} <= set(result.output.split())


PACKAGES = ("edge_agent", "firmware_bridge", "stetho_cli", "stetho_common", "stetho_doctor",
            "stetho_hub", "stetho_signal", "stetho_sim")  # fmt: skip


def test_every_typer_app_is_built_by_the_one_constructor() -> None:
    # Before: seven apps each set rich_markup_mode=None (and the rest) by hand.
    root = Path(__file__).resolve().parents[1]
    by_hand = [
        str(path.relative_to(root))
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if "typer.Typer(" in path.read_text(encoding="utf-8")
    ]
    assert by_hand == ["stetho_common/cli_app.py"]


def test_only_the_root_offers_shell_completion() -> None:
    # Before: `stetho run --help` offered --install-completion, for `stetho run` alone.
    root = CliRunner().invoke(build_app(), ["--help"], env={"COLUMNS": "100"})
    assert "--install-completion" in root.output  # README: `stetho --install-completion`
    for path in (("run",), ("demo",), ("hub", "run"), ("exam", "start")):
        result = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0 and "--install-completion" not in result.output, path
