"""A real agent process with the page enabled, simulated stethoscopes, and its state prepared
(a staff account and residents), for the browser and API tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edge_agent.exam.residents import Resident
from edge_agent.exam.store import SOCKET_NAME, ExamStore, exam_dir
from edge_agent.runtime.local_broker import free_port
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from stetho_testkit.browser import POLL_S
from stetho_testkit.poll import wait_until

ROOT = Path(__file__).resolve().parents[3]
SITE = "home-1"
STAFF, PIN = "nurse-a", "246810"
STAFF_2 = "nurse-b"  # a second nurse, same PIN
RESIDENTS = [Resident("res-0042", "Room 12 · Mme D."), Resident("res-0043", "Room 14 · M. P.")]


# 8 s per site at 8x speed (1 s of test time each): a poor-contact recording this long is
# refused at every start offset of the simulated stream (0 of 52 one-second offsets of seed 3
# pass; 4 s windows pass 7 of 56), so the re-record prompt is certain.
def config_text(state: Path, broker_port: int, web_port: int, extra: str = "") -> str:
    return f"""
site = "{SITE}"
agent_id = "pi"
[broker]
port = {broker_port}
[storage]
state_dir = "{state}"
[exam]
duration_s = 8
[web]
port = {web_port}
[[devices]]
id = "steth-1"
kind = "simulated"
speed = 8.0
[[devices]]
id = "steth-2"
kind = "simulated"
scenario = "poor-contact"
speed = 8.0
seed = 3
{extra}"""


@contextmanager
def running_agent(
    tmp: Path,
    broker_port: int,
    extra_config: str = "",
    prepare: Callable[[ExamStore], object] | None = None,
) -> Iterator[str]:
    """Start `stetho run` with the page; yield its base URL; stop it with SIGTERM. `prepare`
    adds to the exam store before the agent opens it (an exam already finished)."""
    state = tmp / "state"
    folder = exam_dir(state)
    accounts = Accounts(folder / ACCOUNTS_FILE)
    accounts.add(STAFF, "Marie", PIN)
    accounts.add(STAFF_2, "Paul", PIN)
    accounts.close()
    store = ExamStore(folder / "exams.sqlite3")
    store.add_residents(RESIDENTS)
    if prepare is not None:
        prepare(store)
    store.close()
    web_port = free_port()
    cfg = tmp / "agent.toml"
    cfg.write_text(config_text(state, broker_port, web_port, extra_config))
    log = (tmp / "agent.log").open("wb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "stetho_cli", "run", "-c", str(cfg)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        # The page listens before the exam socket (`stetho exam`'s): a CLI call made as soon as
        # the port answered found no socket in 2 of 15 starts.
        _wait_listening(proc, ("127.0.0.1", web_port), socket.AF_INET)
        _wait_listening(proc, str(folder / SOCKET_NAME), socket.AF_UNIX)
        yield f"http://127.0.0.1:{web_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_listening(proc: subprocess.Popen[bytes], address: str | tuple[str, int], family: int
                    ) -> None:  # fmt: skip
    def listening() -> bool:
        try:
            with socket.socket(family) as probe:
                probe.settimeout(0.2)
                probe.connect(address)
                return True
        except OSError:
            return False

    wait_until(
        listening,
        30,
        every_s=POLL_S,
        what=f"the agent to listen on {address}",
        describe=lambda: f"its exit code: {proc.poll()}",
        alive=lambda: proc.poll() is None,
    )
