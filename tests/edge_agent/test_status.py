"""`stetho run` under a fake systemd: READY, STATUS, STOPPING; and `stetho status` reading it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.poll import wait_until
from tests.deploy.fake_systemd import NotifyReceiver

pytestmark = pytest.mark.broker

CONFIG = """
site = "home-status"
agent_id = "pi-s"
status_interval_s = 0.5
[broker]
port = {port}
[storage]
state_dir = "{state}"
[[devices]]
id = "steth-s"
kind = "simulated"
speed = 20.0
resident = "res-9"
[devices.schedule]
interval_s = 3
duration_s = 2
"""


def stetho(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stetho_cli", *args], capture_output=True, text=True, timeout=60
    )


def _status_until(systemd: NotifyReceiver, prefix: str, timeout_s: float = 30) -> None:
    wait_until(
        lambda: any(n.fields["STATUS"].startswith(prefix) for n in systemd.with_field("STATUS")),
        timeout_s,
        what=f"STATUS={prefix}...",
        describe=lambda: systemd.received,
    )


def _refreshes(path: Path, n: int, within_s: float) -> set[float]:
    """The first `n` distinct `updated_at` of the status file seen within `within_s`."""
    seen: set[float] = set()
    deadline = time.monotonic() + within_s
    while len(seen) < n and time.monotonic() < deadline:
        seen.add(json.loads(path.read_text())["updated_at"])  # replaced whole, by a rename
        time.sleep(0.05)
    return seen


def test_daemon_reports_to_systemd_and_status_file(broker: LocalBroker, tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    state = tmp_path / "state"
    config.write_text(CONFIG.format(port=broker.port, state=state))
    # Read as systemd reads it, all along: left unread, the socket's queue (10 datagrams here)
    # filled with STATUS lines twice a second and STOPPING=1 was dropped (3 of 3 loaded runs).
    with NotifyReceiver(tmp_path / "notify.sock") as systemd:
        agent = subprocess.Popen(
            [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
            env={**os.environ, "NOTIFY_SOCKET": systemd.address},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert systemd.wait_for("READY", timeout_s=30)[0].fields["READY"] == "1"
            _status_until(systemd, "broker connected")

            def recorded() -> dict[str, Any] | None:
                run = stetho("status", "--config", str(config), "--json")
                data = json.loads(run.stdout) if run.returncode == 0 else {}
                return data if data and data["devices"]["steth-s"]["recordings"] >= 1 else None

            data = wait_until(recorded, 30, every_s=0.5, what="a recording in `stetho status`")
            assert data["running"] and data["broker"]["connected"]
            assert data["devices"]["steth-s"]["connected"]
            assert 0 <= data["devices"]["steth-s"]["battery_percent"] <= 100  # read over GATT
            assert "res-9" not in json.dumps(data)  # no resident reference in status
            table = stetho("status", "--config", str(config))
            assert table.returncode == 0 and "steth-s" in table.stdout
            # status_interval_s reached the agent: two refreshes in less than the default 5 s.
            assert len(_refreshes(state / "status.json", 3, within_s=4.5)) == 3
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
            assert systemd.wait_for("STOPPING", timeout_s=5)[0].fields["STOPPING"] == "1"
    assert agent.returncode == 0
    stopped = stetho("status", "--config", str(config))  # at once, not a minute later
    assert stopped.returncode == 3 and "not running: stopped at" in stopped.stdout
    assert "disconnected" in stopped.stdout

    stale = json.loads((state / "status.json").read_text())
    stale["updated_at"] -= 3600
    del stale["stopped_at"]  # as a SIGKILLed agent leaves it
    (state / "status.json").write_text(json.dumps(stale))
    run = stetho("status", "--config", str(config))
    assert run.returncode == 3 and "not running" in run.stdout


def test_status_without_a_running_agent(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(port=1883, state=tmp_path / "nothing"))
    run = stetho("status", "--config", str(config))
    assert run.returncode == 3 and "not running" in run.stderr
    # It ended "([Errno 2] No such file or directory: '<the path again>')".
    said = " ".join(run.stderr.split())
    assert said.endswith("has not started yet (No such file or directory)"), said


def test_a_status_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "status.json").write_text("{half a stat")
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(port=1883, state=state))
    run = stetho("status", "--config", str(config))
    assert run.returncode == 3
    assert " ".join(run.stderr.split()).endswith("has not started yet (not JSON)"), run.stderr


@pytest.mark.parametrize("text", ["[]", "{}", '{"updated_at": "yesterday"}'])
@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_status_file_of_another_shape_is_one_line(
    tmp_path: Path, text: str, as_json: list[str]
) -> None:
    # JSON, but not the status this stetho writes (another version's, a hand-edited one):
    # it ended in a KeyError or TypeError traceback.
    state = tmp_path / "state"
    state.mkdir()
    (state / "status.json").write_text(text)
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(port=1883, state=state))
    run = stetho("status", "--config", str(config), *as_json)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert f"error: {state / 'status.json'} does not hold the status this stetho reads (" in (
        " ".join(run.stderr.split())
    )


@pytest.mark.parametrize(
    ("interval_s", "age_s", "stale"), [(0.5, 15, False), (0.5, 25, True), (60, 200, False)]
)
def test_stale_after_four_refreshes_and_twenty_seconds_at_least(
    tmp_path: Path, interval_s: float, age_s: float, stale: bool
) -> None:
    from typer.testing import CliRunner

    from edge_agent.cli.status import status_command

    state = tmp_path / "state"
    state.mkdir()
    (state / "status.json").write_text(
        json.dumps({"updated_at": time.time() - age_s, "pid": os.getpid()})
    )
    config = tmp_path / "agent.toml"
    text = CONFIG.format(port=1883, state=state)
    config.write_text(text.replace("status_interval_s = 0.5", f"status_interval_s = {interval_s}"))
    app = typer.Typer()
    app.command()(status_command)
    run = CliRunner().invoke(app, ["--config", str(config), "--json"])
    assert run.exit_code == (4 if stale else 0), run.output
    assert json.loads(run.output)["stale"] is stale
