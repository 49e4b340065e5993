"""The disk fills while the hospital link is down: alarm raised, refusals logged, nothing lost.

Two settings, each reported on its own: a real small disk (a 4 MB tmpfs, which needs root to
mount) and, only where that cannot be mounted, the outbox quota playing the full disk on the
ordinary one. Whichever does not run is reported as skipped, with the reason. Both go through
the same admission rule.
"""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import wait_until

pytestmark = pytest.mark.broker


@pytest.fixture(params=["tmpfs", "quota"])
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, str]]:
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(
        # mode: a tmpfs root is 1777 by default, a shared folder the agent refuses to shut
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    try:
        if request.param == "tmpfs" and mounted.returncode != 0:
            pytest.skip(f"cannot mount a 4 MB tmpfs here: {mounted.stderr.decode().strip()}")
        if request.param == "quota" and mounted.returncode == 0:
            # 40 s saved: the quota stands in for the real disk only where that cannot run.
            pytest.skip("the real small disk (tmpfs) runs here; quota mode is its stand-in")
        yield mount, request.param
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_raises_the_alarm_and_keeps_every_accepted_recording(
    broker: LocalBroker, tmp_path: Path, small_disk: tuple[Path, str]
) -> None:
    state, how = small_disk
    # On tmpfs: 4 MB disk, 1 MB kept free. Otherwise a 2 MB quota on the ordinary disk. Long
    # recordings fill it in fewer of them (18 rather than 62), each a few times bigger.
    limits = {"quota_mb": 512, "min_free_mb": 1} if how == "tmpfs" else {"quota_mb": 2}
    config = write_config(
        tmp_path / "a.toml", broker.port, state, duration_s=24, interval_s=24, speed=100, **limits
    )
    doctor = MosquittoSub(broker.port, "doctor-disk", tmp_path / "doctor.txt")
    doctor.start()
    agent = AgentProcess(config, tmp_path / "a.log")
    watch = {"client_id": "status-watch", "clean_start": False, "session_expiry_s": 3600}
    with MqttTestClient(broker.host, broker.port, ["stetho/v1/+/+/status"], **watch) as status:
        agent.start()
        agent.wait_for_stored(2)
        broker.stop()  # the link is down: the outbox can only grow
        wait_until(  # 150 s: a 2-core machine shared with other work is slow
            lambda: "event=recording_refused" in agent.output(),
            150,
            every_s=0.1,
            what="the outbox to fill",
        )
        refused_while_full = agent.output().count("event=recording_refused")
        broker.start()
        stored = agent.stored_ids()
        delivery = doctor.wait_for(stored, timeout_s=90)
        status.wait_for(lambda m: any(b'"alarm"' in x.payload for x in m), 30)
    assert agent.stop() == 0
    doctor.stop()
    print(f"disk-full ({how}): refused={refused_while_full}")
    assert "event=outbox_alarm" in agent.output()
    alarms = [json.loads(m.payload) for m in status.messages if b'"alarm"' in m.payload]
    assert "refused" in alarms[0]["detail"]["alarm"]
    check_delivery(f"disk-full-{how}", stored, delivery)
