"""`stetho exam record` against a real agent (simulated stethoscopes at 8x speed, real SQLite
and Mosquitto): it ends when the recording it started has ended, saying what came of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from edge_agent.cli.exam import _call, exam_app
from edge_agent.exam.store import SOCKET_NAME, exam_dir
from edge_agent.runtime.local_broker import LocalBroker
from stetho_common.console import EXIT_CODES
from stetho_testkit.poll import wait_until
from tests.edge_agent.web.agent_proc import ROOT, running_agent

pytestmark = [pytest.mark.broker]


def _exam(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(exam_app, [*args, "--config", str(tmp_path / "agent.toml")])


def _started(tmp_path: Path) -> str:
    opened = _exam(tmp_path, "start", "--resident", "res-0042", "--protocol", "heart-4")
    assert opened.exit_code == 0, opened.output
    return opened.stdout.strip()


def _cli(tmp_path: Path, *args: str, config: Path | None = None) -> subprocess.Popen[str]:
    """`stetho exam ...` as a nurse's shell runs it: its own process, for signals."""
    return subprocess.Popen(
        [sys.executable, "-m", "stetho_cli", "exam", *args,
         "--config", str(config or tmp_path / "agent.toml")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_two_records_in_a_row_each_end_with_the_site_s_outcome(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: the first returned at once (it only started the recording) and the second was
    # refused: "a recording is still running: wait for it or stop it first".
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        first = _exam(tmp_path, "record", exam_id, "--device", "steth-1")
        assert first.exit_code == 0, first.output
        assert first.stdout.startswith("aortic: 8.0 s recorded, done"), first.stdout
        assert "recording aortic on steth-1 for 8 s" in first.stderr
        second = _exam(tmp_path, "record", exam_id, "--device", "steth-1", "--json")
        assert second.exit_code == 0, second.output
        outcome = json.loads(second.stdout)
        assert outcome["site"] == "pulmonic" and outcome["acceptable"] is True, outcome
        assert outcome["state"] == "recorded" and outcome["duration_s"] == 8.0
        shown = json.loads(_exam(tmp_path, "show", exam_id).stdout)
        assert [s["state"] for s in shown["sites"][:2]] == ["done", "done"]


def test_a_poor_recording_says_record_again_and_why_with_its_own_status(
    tmp_path: Path, broker: LocalBroker
) -> None:
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        result = _exam(tmp_path, "record", exam_id, "--device", "steth-2")
    assert result.exit_code == EXIT_CODES["rerecord"] == 5, result.output
    line = result.stdout.strip()
    assert line.startswith("aortic: 8.0 s recorded, record again"), line
    assert "press the chest piece firmly" in line or "hold it still" in line, line
    assert "\n" not in line and "Room 12" not in result.output  # one line, no resident name


def test_no_wait_returns_at_once_and_a_second_start_is_refused_in_one_sentence(
    tmp_path: Path, broker: LocalBroker
) -> None:
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        args = ["record", exam_id, "--device", "steth-1", "--duration", "80"]  # 10 s here
        started = _exam(tmp_path, *args, "--no-wait")
        assert started.exit_code == 0, started.output
        assert json.loads(started.stdout)["duration_s"] == 80.0
        refused = _exam(tmp_path, *args)
    assert refused.exit_code == 1, refused.output
    assert refused.output == (
        "error: the agent refused: a recording is still running: wait for it or stop it first\n"
    )


def test_ctrl_c_ends_the_wait_and_the_recording_goes_on(
    tmp_path: Path, broker: LocalBroker
) -> None:
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        # 12 s at 8x: 1.5 s for the SIGINT to land while the recording runs (it takes ms).
        cli = _cli(tmp_path, "record", exam_id, "--device", "steth-1", "--duration", "12")
        assert cli.stderr is not None
        assert cli.stderr.readline().startswith("recording aortic on steth-1 for 12 s")
        cli.send_signal(signal.SIGINT)
        out, said = cli.communicate(timeout=20)
        assert cli.returncode == 130, said
        assert (out, said) == ("", "error: stopped waiting; the recording of aortic goes on "
                               "in the agent (`stetho exam show` tells)\n")  # fmt: skip
        wait_until(lambda: _attempts(tmp_path, exam_id), 15, what="the recording to be kept")
        assert _attempts(tmp_path, exam_id) == 1  # the recording went on, and was kept


def _attempts(tmp_path: Path, exam_id: str) -> int:
    attempts: int = json.loads(_exam(tmp_path, "show", exam_id).stdout)["sites"][0]["attempts"]
    return attempts


def test_the_agent_stopping_mid_wait_is_one_sentence(tmp_path: Path, broker: LocalBroker) -> None:
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        cli = _cli(tmp_path, "record", exam_id, "--device", "steth-1", "--duration", "120")
        assert cli.stderr is not None
        assert cli.stderr.readline().startswith("recording aortic on steth-1 for 120 s")
        _wait_for_sound(tmp_path, exam_id)  # else the stop drops it: test_exam_cli's case
    out, said = cli.communicate(timeout=20)  # the agent was stopped (SIGTERM) 15 s early
    assert cli.returncode == 1, said
    assert said == (
        "error: the agent stopped during the recording of aortic: see `stetho exam show` once "
        "it is back\n"
    )
    assert out == ""


def _wait_for_sound(tmp_path: Path, exam_id: str) -> None:
    """Until the running recording holds sound (its id is in the agent's log)."""
    found = re.search(r"event=exam_recording_started .*recording=(\S+)",
                      (tmp_path / "agent.log").read_text())  # fmt: skip
    assert found, "the agent did not log the recording's start"
    path = f"/api/exams/{exam_id}/recordings/{found[1]}"
    socket = exam_dir(tmp_path / "state") / SOCKET_NAME
    wait_until(
        lambda: asyncio.run(_call(socket, "GET", path, None)).get("recorded_s", 0.0) != 0.0,
        15,
        what="sound to reach the recording",
    )
