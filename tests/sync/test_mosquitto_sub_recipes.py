"""The `mosquitto_sub` recipes of docs/mqtt.md §8, run verbatim against a real agent."""

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import SITE, AgentProcess, validate, write_config

pytestmark = pytest.mark.broker
DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"


def recipes() -> list[str]:
    section = DOC.read_text(encoding="utf-8").split("## 8.")[1].split("## 9.")[0]
    return re.findall(r"```sh\n(mosquitto_sub.*?)```", section, flags=re.DOTALL)


def run_recipe(recipe: str, port: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = recipe.replace("broker.example", "127.0.0.1").replace("-p 1883", f"-p {port}")
    script = script.replace("home-a", SITE)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doc_recipes_read_alerts_and_save_audio_that_flac_accepts(
    broker: LocalBroker, tmp_path: Path
) -> None:
    read_alerts, save_one, save_all = recipes()
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, tmp_path / "state"),
                         tmp_path / "a.log")  # fmt: skip
    agent.start()
    try:
        alerts = run_recipe(read_alerts, broker.port, tmp_path)
        assert alerts.returncode == 0, alerts.stderr
        lines = alerts.stdout.splitlines()
        assert len(lines) == 3
        for line in lines:
            assert validate("alert", line.encode())["site"] == SITE

        one = run_recipe(save_one, broker.port, tmp_path)  # ends with `flac -t recording.flac`
        assert one.returncode == 0, one.stderr
        assert (tmp_path / "recording.flac").read_bytes()[:4] == b"fLaC"

        folder = tmp_path / "all"
        folder.mkdir()
        everything = run_recipe(save_all, broker.port, folder)
        assert everything.returncode == 0, everything.stderr
        saved = sorted(folder.glob("*.flac"))
        assert len(saved) == 4
        for flac in saved:
            uuid.UUID(flac.stem)  # named by recording id
            checked = subprocess.run(["flac", "-t", "-s", str(flac)], check=False)
            assert checked.returncode == 0
    finally:
        assert agent.stop() == 0
    stored = agent.stored_ids()
    assert {f.stem for f in saved} <= stored
    assert json.loads(lines[0])["schema"] == "stetho.alert"
