"""Start and stop a private broker process for one test: free loopback ports, its own log.

One way for every real broker the tests start (nats-server, RabbitMQ): spawn it in its own
process group, wait until its MQTT port answers, and end the whole group on stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
        return True
    return False


def log_text(root: Path) -> str:
    path = root / "server.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def stop_group(process: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """SIGTERM the process group (the servers stop cleanly on it), SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def spawn_answering(
    name: str,
    command: Sequence[str],
    root: Path,
    address: tuple[str, int],
    *,
    timeout_s: float,
    poll_s: float,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` logging to root/server.log; return once `address` accepts connections."""
    with (root / "server.log").open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: stop_group() ends every process of it
        )
    deadline = time.monotonic() + timeout_s
    while not answers(*address):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process, 10)
            raise RuntimeError(f"{name} did not start:\n{log_text(root)[-3000:]}")
        time.sleep(poll_s)
    return process
