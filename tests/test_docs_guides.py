"""The README and the guides, read as their readers follow them: every `stetho ...` they show
is a command with those options, every TOML block loads, every file they name exists.

Each was wrong once: deploy-raspberry-pi.md's `[devices.schedule]` (the old name, kept apart in
tests/test_docs_device_blocks.py), mqtt.md's edge_agent/topics.py and six more files that had
moved into the agent's layers or the test kit.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click.core import Context

from edge_agent.config import parse_config as parse_agent_config
from stetho_cli.app import build_app
from stetho_hub.config import parse_config as parse_hub_config

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ["care-home.md", "hospital.md", "deploy-raspberry-pi.md", "mqtt.md", "fhir.md"]
GUIDES += ["scaling.md", "architecture.md", "ble-profile.md"]
DOCS = ["README.md", *(f"docs/{name}" for name in GUIDES)]
HUB_KEYS = {"hub_id", "database", "archive", "console", "fhir"}
# The command word, as a reader types it or as the deployment guide calls the installed one;
# not the user or group (`sudo -u stetho /opt/...`, `install -o stetho -g stetho`) nor the
# topic tree `stetho/v1/...`.
COMMAND = re.compile(r"(?:^|(?<=\s))(?<!-[og] )(?:/opt/stetho-edge/venv/bin/)?stetho\s+(?!/)")


def _text(doc: str) -> str:
    return (ROOT / doc).read_text(encoding="utf-8")


def _shell_lines(text: str) -> list[str]:
    lines = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            # The root and user prompts are at the line's start; an indented # is a comment.
            lines.append(re.sub(r"^[#$] ", "", line))
    return lines


def command_mentions(text: str) -> list[list[str]]:
    """Each `stetho ...` of inline code or of a shell block, as words (brackets dropped)."""
    found = [" ".join(m.split()) for m in re.findall(r"`(stetho\s[^`]+)`", text)]
    for line in _shell_lines(text):
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        piece: list[str] = []
        for word in [*words, "|"]:
            if word in {"|", "&&", ";"}:
                found.extend(COMMAND.findall(" ".join(piece)) and [" ".join(piece)])
                piece = []
            else:
                piece.append(word)
    mentions = []
    for mention in found:
        match = COMMAND.search(mention)
        if match is None:
            continue
        words = mention[match.end() :].replace("[", " ").replace("]", " ").split()
        mentions.append(words)
    return mentions


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def refusal(words: list[str]) -> str | None:
    """Why `stetho WORDS` would not run as written, or None."""
    command: Any = typer.main.get_command(build_app())
    context = Context(command)
    path = ["stetho"]
    while hasattr(command, "list_commands") and words and not words[0].startswith("-"):
        if words[0] in {"...", "…"}:
            return None
        found = None
        for name in words[0].split("/"):  # `stetho exam start/record/show/close`
            found = command.get_command(context, name)
            if found is None:
                return f"{' '.join(path)} has no command {name!r}"
        command, path, words = found, [*path, words[0].split("/")[0]], words[1:]
    for word in words:
        option = word.split("=")[0].rstrip(",.);")
        if option.startswith("--") and option not in _options(command):
            return f"{' '.join(path)} has no option {option}"
    return None


def every_mention() -> list[tuple[str, str]]:
    return [(doc, " ".join(words)) for doc in DOCS for words in command_mentions(_text(doc))]


def test_the_mentions_are_found() -> None:
    # The extraction itself: inline, in a table, behind a prompt, a pipe and a continuation.
    said = {mention for _, mention in every_mention()}
    assert "run --config FILE" in said  # README's table
    assert "pair --state-dir /var/lib/stetho-edge --location Room 12" in said  # root's prompt
    assert "staff add nurse-paul" in said  # after a pipe
    assert len(every_mention()) > 60


@pytest.mark.parametrize(("doc", "mention"), every_mention())
def test_every_command_shown_exists_with_its_options(doc: str, mention: str) -> None:
    assert refusal(mention.split()) is None, f"{doc}: `stetho {mention}`"


def test_a_wrong_command_or_option_is_caught() -> None:
    assert refusal(["hub", "frobnicate"]) == "stetho hub has no command 'frobnicate'"
    assert refusal(["status", "--verbose"]) == "stetho status has no option --verbose"
    assert refusal(["exam", "start/reopen"]) == "stetho exam has no command 'reopen'"


def _with_files(value: Any, folder: Path) -> Any:
    """The table with each `*_file` made real (0600, so the secret checks pass) under folder."""
    if isinstance(value, dict):
        return {
            key: _made(item, folder) if key.endswith("_file") else _with_files(item, folder)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_files(item, folder) for item in value]
    return value


def _made(path: str, folder: Path) -> str:
    made = folder / path.strip("/").replace("/", "_")
    made.write_text("placeholder\n", encoding="utf-8")
    os.chmod(made, 0o600)
    return str(made)


def toml_blocks() -> list[tuple[str, int]]:
    return [
        (doc, index)
        for doc in DOCS
        for index, _ in enumerate(re.findall(r"```toml\n(.*?)```", _text(doc), flags=re.DOTALL))
    ]


@pytest.mark.parametrize(("doc", "index"), toml_blocks())
def test_every_toml_block_loads_with_the_config_loader(
    doc: str, index: int, tmp_path: Path
) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", _text(doc), flags=re.DOTALL)
    data = _with_files(tomllib.loads(blocks[index]), tmp_path)
    if HUB_KEYS & set(data):
        # A hub fragment (hospital.md's [fhir]) goes into the doc's whole hub.toml.
        whole = next(tomllib.loads(b) for b in blocks if "hub_id" in tomllib.loads(b))
        parse_hub_config({**_with_files(whole, tmp_path), **data}, doc, tmp_path)
    else:
        parse_agent_config({"site": "home-a", **data}, doc, tmp_path)


def test_there_are_toml_blocks_of_both_kinds() -> None:
    docs = {doc for doc, _ in toml_blocks()}
    assert {"docs/hospital.md", "docs/care-home.md", "docs/deploy-raspberry-pi.md"} <= docs


REPO_PATH = re.compile(r"`([a-z_]+(?:/[A-Za-z0-9_.-]+)+\.(?:py|sh|toml|conf|json|md|service))`")


@pytest.mark.parametrize("doc", DOCS)
def test_every_file_named_exists(doc: str) -> None:
    missing = sorted({p for p in REPO_PATH.findall(_text(doc)) if not (ROOT / p).exists()})
    assert missing == [], f"{doc} names files that are not in the repository"


def test_the_pi_guides_versions_are_the_locked_ones_and_the_minimums() -> None:
    # It said pydantic 2.5 was the minimum long after pyproject.toml asked for 2.12.
    text = _text("docs/deploy-raspberry-pi.md")
    arm64 = next(line for line in text.splitlines() if line.startswith("| **arm64**"))
    locked = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    named = re.findall(
        r"\b(numpy|scipy|pydantic-core|dbus-fast|cffi|soundfile) (\d+\.\d+\.\d+)", arm64
    )
    assert len(named) == 6
    for name, version in named:
        assert f"\n{name}=={version} " in locked, f"{name} {version} is not what is locked"
    minimums = text.split("older than our minimums (", 1)[1].split(")", 1)[0]
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for name, version in re.findall(r"([a-z-]+) (\d+\.\d+)", minimums):
        assert f'"{name}>={version}' in project, f"{name} {version} is not pyproject's minimum"
