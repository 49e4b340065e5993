"""Ctrl-C while `stetho exam record` asks a real agent to start: one line says whether the
recording may have started (the request was sent: the agent alone can tell) or certainly did
not (it never left), with status 130; never a traceback."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.poll import wait_until
from tests.edge_agent.exam.test_exam_record_wait import _attempts, _cli, _exam, _started
from tests.edge_agent.web.agent_proc import running_agent

pytestmark = [pytest.mark.broker]


def _until(what: Callable[[], object], message: str, timeout_s: float = 15) -> None:
    wait_until(what, timeout_s, every_s=0.02, what=message)


def _agent_pid(tmp_path: Path) -> int:
    """The agent `running_agent` started for this test: our child, run with its config."""
    config = str(tmp_path / "agent.toml").encode()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and config in argv:
            return int(entry.name)
    raise AssertionError("no agent process")


def _sent(pid: int) -> bool:
    """Whether `pid` has written bytes to a unix socket its peer has not read (ss's Send-Q)."""
    out = subprocess.run(["ss", "-xnpH"], capture_output=True, text=True, check=True).stdout
    return any(f"pid={pid}," in line and line.split()[3] != "0" for line in out.splitlines())


def _opened_for_reading(fifo: Path, timeout_s: float = 15) -> int:
    """The FIFO's write end, once a reader has it open (ENXIO until then)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def test_ctrl_c_before_and_after_the_start_is_sent_says_which(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: a traceback (KeyboardInterrupt out of asyncio.run), saying nothing of whether
    # the recording started.
    with running_agent(tmp_path, broker.port):
        exam_id = _started(tmp_path)
        # Still reading its config (a FIFO nobody writes): the request cannot have left.
        fifo = tmp_path / "slow.toml"
        os.mkfifo(fifo)
        cli = _cli(tmp_path, "record", exam_id, "--device", "steth-1", config=fifo)
        writer = _opened_for_reading(fifo)  # the CLI now waits on its read
        cli.send_signal(signal.SIGINT)
        # The read ends now (EOF): a SIGINT handled just before the read began only sets
        # Python's flag, and the read would wait on forever (2 of 30 runs hung).
        os.close(writer)
        out, said = cli.communicate(timeout=20)
        assert (cli.returncode, out) == (130, ""), said
        assert said == (
            "error: interrupted before the request to record was sent: no recording started\n"
        )
        assert _attempts(tmp_path, exam_id) == 0

        # The agent stalled (SIGSTOP): the request is sent, and no answer comes.
        agent = _agent_pid(tmp_path)
        os.kill(agent, signal.SIGSTOP)
        try:
            cli = _cli(tmp_path, "record", exam_id, "--device", "steth-1", "--duration", "2")
            _until(lambda: _sent(cli.pid), "the request was not sent")
            cli.send_signal(signal.SIGINT)
            out, said = cli.communicate(timeout=20)
        finally:
            os.kill(agent, signal.SIGCONT)
        assert (cli.returncode, out) == (130, ""), said
        assert said == (
            "error: interrupted after the request to record was sent: the recording may have "
            f"started; `stetho exam show {exam_id}` or the exam's page tells\n"
        )
        # And so it had: the agent, resumed, read the request and recorded.
        _until(lambda: _attempts(tmp_path, exam_id) == 1, "the sent request did not record")
        assert _exam(tmp_path, "show", exam_id).exit_code == 0
