"""The systemd side of sd_notify, for tests: a real AF_UNIX datagram socket and a supervisor.

`NotifyReceiver` binds the socket systemd would pass in $NOTIFY_SOCKET and records every
datagram with the sender's pid (SO_PASSCRED, as systemd reads it for NotifyAccess=main).
`FakeSystemd` runs a command as a Type=notify service with WatchdogSec and
Restart=on-failure: when no WATCHDOG=1 arrives in time it kills the process with SIGABRT
(systemd's default WatchdogSignal) and starts it again.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from stetho_testkit.poll import wait_until


@dataclass(frozen=True)
class Notification:
    at: float  # time.monotonic() on receipt
    pid: int
    fields: dict[str, str]


class NotifyReceiver:
    """Collects sd_notify datagrams on a path socket, or an abstract one when path is None."""

    def __init__(self, path: Path | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        if path is None:
            name = f"stetho-test-{uuid.uuid4().hex}"
            self.sock.bind(b"\0" + name.encode())
            self.address = "@" + name
        else:
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.05)
        self._lock = threading.Lock()
        self._received: list[Notification] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        creds_size = socket.CMSG_SPACE(struct.calcsize("3i"))
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(4096, creds_size)
            except TimeoutError:
                continue
            pid = -1
            for level, kind, blob in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", blob[: struct.calcsize("3i")])[0]
            pairs = (line.partition("=") for line in data.decode().split("\n") if line)
            note = Notification(time.monotonic(), pid, {k: v for k, _, v in pairs})
            with self._lock:
                self._received.append(note)

    @property
    def received(self) -> list[Notification]:
        with self._lock:
            return list(self._received)

    def with_field(self, key: str) -> list[Notification]:
        return [n for n in self.received if key in n.fields]

    def wait_for(self, key: str, count: int = 1, timeout_s: float = 10.0) -> list[Notification]:
        return wait_until(
            lambda: found if len(found := self.with_field(key)) >= count else None,
            timeout_s,
            every_s=0.01,
            what=f"{count} x {key}",
            describe=lambda: self.received,
        )

    def __enter__(self) -> NotifyReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@dataclass
class Run:
    pid: int
    returncode: int | None = None
    killed_by_watchdog: bool = False


@dataclass
class FakeSystemd:
    """Supervise `argv` like a Type=notify unit with WatchdogSec and Restart=on-failure."""

    argv: list[str]
    watchdog_s: float
    receiver: NotifyReceiver
    max_starts: int = 3
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    def run(self, timeout_s: float = 60.0) -> list[Run]:
        deadline = time.monotonic() + timeout_s
        while len(self.runs) < self.max_starts and time.monotonic() < deadline:
            run = self._run_once(deadline)
            self.runs.append(run)
            failed = run.killed_by_watchdog or run.returncode != 0
            if not failed:
                break
        return self.runs

    def _run_once(self, deadline: float) -> Run:
        env = {
            **os.environ,
            **self.env,
            "NOTIFY_SOCKET": self.receiver.address,
            "WATCHDOG_USEC": str(int(self.watchdog_s * 1e6)),
        }
        proc = subprocess.Popen(self.argv, env=env)
        run = Run(proc.pid)
        try:
            wait_until(
                lambda: proc.poll() is not None or self._watchdog_expired(proc.pid),
                deadline - time.monotonic(),
                every_s=0.01,
                what="the supervised process to end or miss its watchdog (the test deadline)",
            )
            if proc.poll() is not None:
                run.returncode = proc.returncode
                return run
            proc.send_signal(signal.SIGABRT)
            run.killed_by_watchdog = True
            run.returncode = proc.wait()
            return run
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _watchdog_expired(self, pid: int) -> bool:
        # systemd arms the watchdog when the service becomes ready and re-arms it on each ping.
        mine = [n for n in self.receiver.received if n.pid == pid]
        stamps = [n.at for n in mine if "READY" in n.fields or "WATCHDOG" in n.fields]
        return bool(stamps) and time.monotonic() - stamps[-1] > self.watchdog_s
