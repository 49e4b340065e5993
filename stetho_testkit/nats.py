"""A real nats-server with its MQTT gateway, private to one test: loopback only, its own files.

NATS speaks MQTT 3.1.1 (QoS 0 and 1, no v5), the other broker family the agent's opt-in
`broker.protocol = "3.1.1"` is for. Its MQTT gateway keeps sessions, retained messages and
QoS 1 queues in JetStream, so JetStream and a `server_name` are required. Everything it
writes stays in the test's tmp directory; it takes well under a second to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SERVER = "nats-server"
START_TIMEOUT_S = 20.0  # about 0.1 s on an idle machine


def installed() -> bool:
    return shutil.which(SERVER) is not None


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class NatsBroker:
    """`start()` returns once the MQTT listener answers; `stop()` ends the server (SIGTERM)."""

    host = "127.0.0.1"

    def __init__(self, root: Path, extra_config: str = "") -> None:
        self.root = root
        self.port, self.client_port = _free_ports(2)  # MQTT, and NATS's own (loopback, unused)
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
        with (self.root / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [SERVER, "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"nats-server did not start:\n{output[-3000:]}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.5):
            return True
        return False

    def output(self) -> str:
        path = self.root / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM (nats-server flushes JetStream and exits), SIGKILL if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
