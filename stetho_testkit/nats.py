"""A real nats-server with its MQTT gateway, private to one test: loopback only, its own files.

NATS speaks MQTT 3.1.1 (QoS 0 and 1, no v5), the other broker family the agent's opt-in
`broker.protocol = "3.1.1"` is for. Its MQTT gateway keeps sessions, retained messages and
QoS 1 queues in JetStream, so JetStream and a `server_name` are required. Everything it
writes stays in the test's tmp directory; it takes well under a second to start.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stetho_testkit.server_process import free_ports, log_text, spawn_answering, stop_group

SERVER = "nats-server"
START_TIMEOUT_S = 20.0  # about 0.1 s on an idle machine


def installed() -> bool:
    return shutil.which(SERVER) is not None


class NatsBroker:
    """`start()` returns once the MQTT listener answers; `stop()` ends the server (SIGTERM)."""

    host = "127.0.0.1"

    def __init__(self, root: Path, extra_config: str = "") -> None:
        self.root = root
        self.port, self.client_port = free_ports(2)  # MQTT, and NATS's own (loopback, unused)
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "nats.conf"
        config.write_text(
            f'server_name: "stetho-test-{self.port}"\n'  # the MQTT gateway refuses to run without
            f'listen: "127.0.0.1:{self.client_port}"\n'
            f'jetstream {{ store_dir: "{self.root / "jetstream"}" }}\n'
            f'mqtt {{ listen: "127.0.0.1:{self.port}" }}\n'
            f"{self.extra_config}\n",
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        config = self._write_config()
        self.process = spawn_answering(
            "nats-server",
            [SERVER, "-c", str(config)],
            self.root,
            (self.host, self.port),
            timeout_s=START_TIMEOUT_S,
            poll_s=0.05,
        )

    def output(self) -> str:
        return log_text(self.root)

    def stop(self) -> None:
        """SIGTERM (nats-server flushes JetStream and exits), SIGKILL if it lingers."""
        stop_group(self.process, 10)
