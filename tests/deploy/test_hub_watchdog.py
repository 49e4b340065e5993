"""End to end: `stetho hub run` under systemd's watchdog, as systemd/stetho-hub.service sets it.

The real command (SQLite, a real Mosquitto) with $NOTIFY_SOCKET on a test datagram socket
(tests/deploy/fake_systemd.py) and $WATCHDOG_USEC at 1 s. It says READY and pings WATCHDOG=1
every half second. Then its event loop hangs from a cause outside it: its stdout is an
AF_UNIX stream socket, as journald's is (StandardOutput=journal), and the test stops reading
it, as a stalled journald does. Logging is synchronous, so the loop's next lines block in
write() once the socket's buffer is full (set small here: a few recordings' lines fill it).
The pings stop; the test then does what systemd does on WatchdogSec: SIGABRT, then
Restart=on-failure. A recording sent while the hub was down waits on the broker (the hub's
persistent session, QoS 1) and is archived by the restarted hub, with those the hung one had
received but not stored.
"""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import WirePublisher, archived, write_hub_config
from stetho_testkit.poll import wait_until
from tests.deploy.fake_systemd import Notification, NotifyReceiver

pytestmark = pytest.mark.broker

WATCHDOG_S = 1.0  # the unit's WatchdogSec is 30 s; the hub pings at half, whatever it is
FLOOD = 20  # recordings sent while the journal is stalled: their log lines fill its buffer


class Journal:
    """The reading end of one hub process's stdout and stderr; `stall()` stops reading."""

    def __init__(self) -> None:
        self.hub_end, self._ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The kernel's minimum (it doubles what is asked): a few lines fill it.
        self.hub_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2048)
        self._ours.settimeout(0.05)
        self._reading = threading.Event()
        self._reading.set()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            if not self._reading.wait(0.05):
                continue
            try:
                data = self._ours.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            with self._lock:
                self._chunks.append(data)

    def stall(self) -> None:
        self._reading.clear()

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode(errors="replace")

    def wait_for(self, words: str, timeout_s: float = 30) -> None:
        wait_until(
            lambda: words in self.text(),
            timeout_s,
            every_s=0.02,
            what=repr(words),
            describe=lambda: f"not in:\n{self.text()[-3000:]}",
        )

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self.hub_end.close()
        self._ours.close()


def _start(config: Path, systemd: NotifyReceiver, journal: Journal) -> subprocess.Popen[bytes]:
    hub = subprocess.Popen(
        [sys.executable, "-m", "stetho_cli", "hub", "run", "--config", str(config)],
        cwd=config.parent,  # a core dump, if the machine keeps them, stays in the test's dir
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "NOTIFY_SOCKET": systemd.address,
            "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6)),
        },
        stdout=journal.hub_end.fileno(),
        stderr=subprocess.STDOUT,
    )
    journal.hub_end.close()  # the hub holds it now: its exit ends our reads
    return hub


def _mine(systemd: NotifyReceiver, pid: int, key: str) -> list[Notification]:
    return [n for n in systemd.with_field(key) if n.pid == pid]


def _wait_pings(systemd: NotifyReceiver, pid: int, count: int) -> list[float]:
    def stamps() -> list[float]:
        return [n.at for n in _mine(systemd, pid, "WATCHDOG")]

    wait_until(
        lambda: len(stamps()) >= count,
        20,
        every_s=0.02,
        what=f"{count} WATCHDOG=1 from {pid}",
        describe=lambda: systemd.received,
    )
    return stamps()


def test_a_hung_hub_stops_its_pings_and_a_restarted_one_archives_what_waited(
    broker: LocalBroker, tmp_path: Path
) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    config = write_hub_config(tmp_path / "hub.toml", broker.port, target, tmp_path / "audio")
    flood = [make_recording(9000 + i) for i in range(FLOOD)]
    late = make_recording(9999)
    journals: list[Journal] = []
    hubs: list[subprocess.Popen[bytes]] = []
    with (
        tempfile.TemporaryDirectory(prefix="hw", dir="/tmp") as short,  # sun_path: 108 bytes
        NotifyReceiver(Path(short) / "notify") as systemd,
        WirePublisher(broker.host, broker.port) as agent,
    ):
        try:
            journals.append(first := Journal())
            hubs.append(hung := _start(config, systemd, first))
            assert [n.pid for n in systemd.wait_for("READY")] == [hung.pid]
            healthy = _wait_pings(systemd, hung.pid, 3)
            first.wait_for("event=hub_connected")  # subscribed: the flood is delivered to it

            first.stall()
            for rec in flood:
                agent.recording(rec)
            # The pings going on is also what a pinging thread would do. Should logging ever
            # leave the loop (a QueueHandler), this hang is gone: SIGSTOP the hub here instead.
            wait_until(
                lambda: time.monotonic() - _wait_pings(systemd, hung.pid, 1)[-1] > WATCHDOG_S + 0.5,
                15,
                what="the pings to stop (the loop to hang)",
                describe=lambda: first.text()[-3000:],
                alive=lambda: hung.poll() is None,
            )
            assert hung.poll() is None  # alive, and silent for longer than WatchdogSec
            hung_at = time.monotonic()

            hung.send_signal(signal.SIGABRT)  # systemd's WatchdogSignal
            assert hung.wait(timeout=10) == -signal.SIGABRT
            agent.recording(late)  # while no hub runs: the broker keeps it for the session

            journals.append(second := Journal())
            hubs.append(back := _start(config, systemd, second))
            assert systemd.wait_for("READY", count=2)[1].pid == back.pid
            wanted = {rec.recording_id for rec in [*flood, late]}
            wait_until(
                lambda: wanted <= archived(target).keys(),
                30,
                every_s=0.1,
                what="every recording archived",
                describe=lambda: (
                    f"not archived: {wanted - archived(target).keys()}\n{second.text()[-3000:]}"
                ),
                alive=lambda: back.poll() is None,
            )
            restarted = _wait_pings(systemd, back.pid, 1)
            back.send_signal(signal.SIGTERM)
            assert back.wait(timeout=30) == 0, second.text()[-3000:]
        finally:
            for hub in hubs:
                if hub.poll() is None:
                    hub.kill()
                    hub.wait()
            for journal in journals:
                journal.close()
        stopping = _mine(systemd, back.pid, "STOPPING")

    gaps = [b - a for a, b in itertools.pairwise(healthy)]
    assert all(WATCHDOG_S / 4 < gap < WATCHDOG_S for gap in gaps), gaps  # every half second
    assert hung_at - _wait_pings(systemd, hung.pid, 1)[-1] > WATCHDOG_S
    assert restarted[-1] > hung_at and stopping
    assert "Traceback" not in second.text(), second.text()[-3000:]
