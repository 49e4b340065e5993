"""End to end: a service whose event loop hangs is killed by the watchdog and restarted.

The child is a real Python process using edge_agent.runtime.sdnotify and .watchdog;
FakeSystemd plays systemd (Type=notify, WatchdogSec, Restart=on-failure) over a real
notify socket.
"""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

from tests.deploy.fake_systemd import FakeSystemd, NotifyReceiver

# First start: ready, a few healthy pings, then a synchronous call hangs the loop for good.
# Second start (STETHO_TEST_MARKER exists): ready, a few pings, clean exit.
CHILD = """
import asyncio, os, sys, time
from pathlib import Path
from edge_agent.runtime.sdnotify import Notifier
from edge_agent.runtime.watchdog import run_watchdog

marker = Path(os.environ["STETHO_TEST_MARKER"])

async def main() -> None:
    notifier = Notifier.from_env()
    notifier.ready("test agent up")
    pinger = asyncio.create_task(run_watchdog(notifier))
    await asyncio.sleep(0.5)
    if not marker.exists():
        marker.touch()
        time.sleep(3600)
    notifier.stopping()
    pinger.cancel()

asyncio.run(main())
"""


def test_hung_event_loop_gets_the_service_killed_and_restarted() -> None:
    with tempfile.TemporaryDirectory(prefix="wdr", dir="/tmp") as name:
        workdir = Path(name)
        with NotifyReceiver(workdir / "notify") as receiver:
            systemd = FakeSystemd(
                argv=[sys.executable, "-c", CHILD],
                watchdog_s=1.0,
                receiver=receiver,
                env={"STETHO_TEST_MARKER": str(workdir / "hung-once")},
            )
            runs = systemd.run(timeout_s=60)
            notes = receiver.received

    assert len(runs) == 2
    hung, restarted = runs
    assert hung.killed_by_watchdog and hung.returncode == -signal.SIGABRT
    assert not restarted.killed_by_watchdog and restarted.returncode == 0
    for run in runs:
        mine = [n.fields for n in notes if n.pid == run.pid]
        assert mine[0] == {"READY": "1", "STATUS": "test agent up"}
        assert {"WATCHDOG": "1"} in mine
    assert {"STOPPING": "1"} in [n.fields for n in notes if n.pid == restarted.pid]
