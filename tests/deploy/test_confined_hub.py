"""`stetho hub run` confined like systemd/stetho-hub.service confines it, on the deployed broker.

The hub runs under the unit's system-call filter, address families and MemoryDenyWriteExecute
(tests/deploy/confine.py, as for the agent) and, as root, with the whole file system read-only
except its state directory (ProtectSystem=strict); deploy/hub/hub.toml on SQLite, its
console on. It reports READY and WATCHDOG on a notify socket, answers a GET of /signin,
archives a recording that arrives over mutual TLS (its FLAC decoded under MDWE) and receipts
it, then reports STOPPING and exits 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.runtime.local_broker import free_port
from firmware_bridge.flac import FLAC_CONTENT_TYPE
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.factory import WireRecording, make_recording
from stetho_testkit.hub.harness import wait_archived
from stetho_testkit.mqtt_client import MqttTestClient, Received
from tests.deploy.fake_systemd import NotifyReceiver
from tests.deploy.test_broker_isolation import OAKHILL, A, peer
from tests.deploy.tls_broker import TlsBroker

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "stetho-hub.service"
HUB_TOML = REPO / "deploy" / "hub" / "hub.toml"

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        shutil.which("systemd-analyze") is None or not Path("/proc/self/status").exists(),
        reason="needs systemd-analyze (syscall tables) and Linux seccomp",
    ),
]


def _hub_toml(tls_broker: TlsBroker, state: Path, console_port: int) -> str:
    """deploy/hub/hub.toml with the test's broker, certificates, state and console port
    (each rewrite must match, so a changed deployment file fails here)."""
    text = HUB_TOML.read_text(encoding="utf-8")
    rewrites = {
        'host = "broker.hospital.example"': 'host = "127.0.0.1"',
        "port = 8883": f"port = {tls_broker.port}",
        "/etc/stetho-hub/": f"{tls_broker.certs}/",
        "/var/lib/stetho-hub/": f"{state}/",
        "port = 8080": f"port = {console_port}",
        # The broker lives for the whole session: leave no session behind to take a share
        # of the "hubs" group's messages, or be resumed by another test's hub.
        'shared_group = "hubs"': 'shared_group = "hubs"\nclient_id = "stetho-hub-confined"\n'
        "session_expiry_s = 0",
    }
    for old, new in rewrites.items():
        assert text.count(old) >= 1, f"deploy/hub/hub.toml should contain {old!r}"
        text = text.replace(old, new)
    return text


def _wire(rec_props: tuple[tuple[str, str], ...], content_type: str) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = content_type
    props.UserProperty = list(rec_props)
    return props


def _send_until_receipted(agent: MqttTestClient, rec: WireRecording) -> Received:
    """Publish `rec` until its receipt arrives: READY comes before the hub has subscribed, and
    its session here is new, so the broker drops what arrives before (a deployed hub's session
    persists). The hub archives a recording once, however many copies arrive."""
    deadline = time.monotonic() + 30
    while True:
        for topic, payload, kind in (
            (rec.audio_topic, rec.flac, FLAC_CONTENT_TYPE),
            (rec.meta_topic, rec.meta_json, "application/json"),
        ):
            props = _wire(rec.properties, kind)
            assert not agent.publish(topic, payload, properties=props).is_failure
        try:
            return agent.wait_for(lambda m: len(m) >= 1, timeout_s=2)[0]
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def test_confined_hub_archives_serves_and_talks_to_systemd(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    console_port = free_port()
    config = tmp_path / "hub.toml"
    config.write_text(_hub_toml(tls_broker, state, console_port), encoding="utf-8")
    confined = [sys.executable, "-m", "tests.deploy.confine", str(UNIT), "--"]
    if os.geteuid() == 0 and shutil.which("unshare"):
        outer = os.readlink("/proc/self/ns/mnt")
        confined[3:3] = ["--protect-system", outer, "--read-write", str(state)]
        confined[:0] = ["unshare", "--mount", "--propagation", "private"]
    hub_cmd = [sys.executable, "-m", "stetho_cli", "hub", "run", "--config", str(config)]
    rec = make_recording(83, site="oakhill", device="steth-1")
    with (
        tempfile.TemporaryDirectory(prefix="ch", dir="/tmp") as short,
        NotifyReceiver(Path(short) / "notify") as systemd,
    ):
        hub = subprocess.Popen(
            [*confined, *hub_cmd],
            cwd=REPO,
            env={
                "PATH": "/usr/bin:/bin",
                "NOTIFY_SOCKET": systemd.address,
                "WATCHDOG_USEC": "2000000",
                "MPLCONFIGDIR": str(state / "matplotlib"),  # the unit's Environment=, here
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            systemd.wait_for("READY", timeout_s=60)
            url = f"http://127.0.0.1:{console_port}/signin"
            with urllib.request.urlopen(url, timeout=10) as page:
                assert page.status == 200
                assert "<form" in page.read().decode()
            with peer(tls_broker, OAKHILL) as oakhill:
                oakhill.subscribe(f"{A}/receipts")
                receipt = _send_until_receipted(oakhill, rec)
            counts = wait_archived(DatabaseTarget("sqlite", str(state / "hub.db")), 1, 30)
            systemd.wait_for("WATCHDOG", count=2)
        finally:
            hub.send_signal(signal.SIGTERM)
            output, _ = hub.communicate(timeout=30)
        assert hub.returncode == 0, output
        notes = systemd.wait_for("STOPPING")
    assert {n.pid for n in notes} == {hub.pid}
    assert json.loads(receipt.payload)["recording_id"] == rec.recording_id
    assert counts["recordings_archived"] == 1
    assert "Traceback" not in output, output


def test_ready_does_not_wait_for_the_broker(tls_broker: TlsBroker, tmp_path: Path) -> None:
    """With no broker listening and the console off, the hub still says READY (it retries the
    broker for ever, and a start must not time out on it), then stops cleanly on SIGTERM."""
    state = tmp_path / "state"
    state.mkdir()
    text = _hub_toml(tls_broker, state, free_port()).replace(
        f"port = {tls_broker.port}", f"port = {free_port()}"
    )
    config = tmp_path / "hub.toml"
    config.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
    hub_cmd = [sys.executable, "-m", "stetho_cli", "hub", "run", "--config", str(config)]
    confined = [sys.executable, "-m", "tests.deploy.confine", str(UNIT), "--", *hub_cmd]
    with (
        tempfile.TemporaryDirectory(prefix="ch", dir="/tmp") as short,
        NotifyReceiver(Path(short) / "notify") as systemd,
    ):
        hub = subprocess.Popen(
            confined,
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": systemd.address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert hub.stdout is not None
        seen = ""
        try:
            (ready,) = systemd.wait_for("READY", timeout_s=60)
            # A refused connection fails at once: stop once it is logged, not after a fixed 2 s.
            deadline = time.monotonic() + 30
            while "event=broker_unreachable" not in seen and time.monotonic() < deadline:
                if select.select([hub.stdout], [], [], 0.5)[0]:
                    seen += hub.stdout.readline()
        finally:
            hub.send_signal(signal.SIGTERM)
            rest, _ = hub.communicate(timeout=30)
        output = seen + rest
        assert hub.returncode == 0, output
        systemd.wait_for("STOPPING")
    assert ready.fields["STATUS"] == "hub hub-1: archive open"
    assert "event=broker_unreachable" in output
    assert not systemd.with_field("WATCHDOG")  # no WATCHDOG_USEC: no pings
