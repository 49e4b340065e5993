"""`stetho run` confined like the unit confines it, talking mutual TLS to the deployed broker.

The agent runs under the unit's system-call filter and address families (tests/deploy/
confine.py installs the same seccomp filter systemd would) and, as root, with the whole file
system read-only except its state directory (ProtectSystem=strict); it reports READY, WATCHDOG and
STOPPING on a notify socket, publishes recordings as agent.oakhill.agent through the
committed ACL, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from stetho_testkit.mqtt_client import MqttTestClient
from tests.deploy.fake_systemd import NotifyReceiver
from tests.deploy.tls_broker import TlsBroker

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "stetho-edge.service"

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        shutil.which("systemd-analyze") is None or not Path("/proc/self/status").exists(),
        reason="needs systemd-analyze (syscall tables) and Linux seccomp",
    ),
]

CONFIG = """
site = "oakhill"
agent_id = "agent"
[broker]
host = "127.0.0.1"
port = {port}
tls = true
ca_file = "{certs}/ca.crt"
cert_file = "{certs}/agent.oakhill.agent.crt"
key_file = "{certs}/agent.oakhill.agent.key"
[storage]
state_dir = "{state}"
[[devices]]
id = "steth-1"
kind = "simulated"
scenario = "tachycardia"
speed = 20.0
resident = "res-0001"
[devices.schedule]
interval_s = 4
duration_s = 3
"""


def test_confined_agent_publishes_over_mutual_tls_and_talks_to_systemd(
    tls_broker: TlsBroker, certs: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(port=tls_broker.port, certs=certs, state=tmp_path / "state"))
    state = tmp_path / "state"
    state.mkdir()
    confined = [sys.executable, "-m", "tests.deploy.confine", str(UNIT), "--"]
    if os.geteuid() == 0 and shutil.which("unshare"):
        # ProtectSystem=strict too: everything read-only but the state directory.
        outer = os.readlink("/proc/self/ns/mnt")
        confined[3:3] = ["--protect-system", outer, "--read-write", str(state)]
        confined[:0] = ["unshare", "--mount", "--propagation", "private"]
    agent_cmd = [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)]
    doctor_tls = tls_broker.client_context("doctor.alice")
    with (
        tempfile.TemporaryDirectory(prefix="ca", dir="/tmp") as short,
        NotifyReceiver(Path(short) / "notify") as systemd,
        MqttTestClient(
            tls_broker.host, tls_broker.port, client_id="doctor-confined", tls=doctor_tls
        ) as doctor,
    ):
        doctor.subscribe("stetho/v1/#")
        agent = subprocess.Popen(
            [*confined, *agent_cmd],
            cwd=REPO,
            env={
                "PATH": "/usr/bin:/bin",
                "NOTIFY_SOCKET": systemd.address,
                "WATCHDOG_USEC": "30000000",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            doctor.wait_for(lambda m: any(x.topic.endswith("/recordings") for x in m))
            systemd.wait_for("READY")
            systemd.wait_for("WATCHDOG")
        finally:
            agent.send_signal(signal.SIGTERM)
            output, _ = agent.communicate(timeout=30)
        assert agent.returncode == 0, output
        notes = systemd.wait_for("STOPPING")
    assert {n.pid for n in notes} == {agent.pid}
    topics = set(doctor.topics())
    assert "stetho/v1/oakhill/steth-1/recordings" in topics
    assert "Not authorized" not in output, output


PROBE = """
import os, socket
refused = []
for name, attempt in [
    ("setuid", lambda: os.setuid(1000)),
    ("sched_setaffinity", lambda: os.sched_setaffinity(0, {0})),
    ("AF_NETLINK", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)),
    ("AF_PACKET", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)),
]:
    try:
        attempt()
    except PermissionError:
        refused.append(name)
socket.socket(socket.AF_INET6).close()
socket.socket(socket.AF_UNIX).close()
print(",".join(refused))
"""


def test_the_emulated_filter_refuses_what_the_unit_forbids() -> None:
    """The check above means something only if the filter bites: @privileged, @resources
    and other address families are refused, the families the agent needs are not."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.deploy.confine",
            str(UNIT),
            "--",
            sys.executable,
            "-c",
            PROBE,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "setuid,sched_setaffinity,AF_NETLINK,AF_PACKET"
