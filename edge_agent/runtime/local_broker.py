"""A private Mosquitto broker on a free loopback port, for `stetho demo` and the tests.

It runs the real Debian `mosquitto` binary with a generated configuration in its
own directory, so nothing touches a system broker that may also be installed.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from edge_agent.errors import LocalBrokerError


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_mosquitto() -> str:
    """Locate the mosquitto binary; Debian installs it in /usr/sbin, often off a user's PATH."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise LocalBrokerError(
            "mosquitto is not installed; on Debian or Raspberry Pi OS run "
            "`sudo apt-get install mosquitto mosquitto-clients` (make demo/test do this for you)"
        )
    return found


class LocalBroker:
    """Start, stop, kill and restart one Mosquitto on a fixed port and persistence directory.

    Restarting keeps the port and the persistence file, so persistent MQTT sessions
    survive, as they would on the hospital's broker.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_config: str = "",
        persistence: bool = True,
        config_text: str | None = None,
        save_every_change: bool = True,
    ) -> None:
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.host = "127.0.0.1"
        self._extra_config = extra_config
        self._persistence = persistence
        self._save_every_change = save_every_change
        self.config_text = config_text  # used verbatim when set (e.g. the deployment's TLS config)
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "mosquitto.conf"
        if self.config_text is not None:
            path.write_text(self.config_text, encoding="utf-8")
            return path
        lines = [
            # Started as root, Mosquitto would switch to user `mosquitto` and then fail to
            # write its persistence file and log in our directory: stay who we are.
            f"user {getpass.getuser()}",
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            f"persistence {'true' if self._persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            # Save after every change, so a killed broker loses as little as Mosquitto allows.
            # That rewrites the whole store per message: runs that never kill the broker and
            # queue thousands of messages save once a minute instead.
            "autosave_on_changes true" if self._save_every_change else "autosave_on_changes false",
            "autosave_interval 1" if self._save_every_change else "autosave_interval 60",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            self._extra_config,
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def start(self, timeout_s: float = 10.0) -> None:
        if self.running:
            return
        config = self._write_config()
        self._process = subprocess.Popen(
            [find_mosquitto(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
                raise LocalBrokerError(f"mosquitto exited at start: {err.strip()} {log.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise LocalBrokerError(
            f"mosquitto did not listen on {self.host}:{self.port} in {timeout_s} s"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop gracefully (SIGTERM): Mosquitto saves its persistence file first."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def kill(self) -> None:
        """Kill without warning (SIGKILL), as a crash or power loss would."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
