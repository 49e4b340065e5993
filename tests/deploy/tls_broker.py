"""Run deploy/mosquitto/mosquitto.conf as committed, on a free loopback port, for tests.

Only the port, the file locations and the log destination are rewritten; every other
directive (mutual TLS, identity as username, the ACL) is the production one. Each
rewrite must match exactly once, so a changed production file fails loudly here.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from types import TracebackType

from edge_agent.local_broker import find_mosquitto, free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "mosquitto"


def render_config(text: str, port: int, certs: Path, acl: Path, workdir: Path) -> str:
    rewrites = {
        "listener 8883\n": f"listener {port} 127.0.0.1\n",
        "acl_file /etc/mosquitto/stetho/acl\n": f"acl_file {acl}\n",
        "persistence_location /var/lib/mosquitto/\n": f"persistence_location {workdir}/\n",
        "log_dest syslog\n": f"log_dest file {workdir}/mosquitto.log\n",
        "cafile /etc/mosquitto/stetho/ca.crt\n": f"cafile {certs}/ca.crt\n",
        "certfile /etc/mosquitto/stetho/server.crt\n": f"certfile {certs}/server.crt\n",
        "keyfile /etc/mosquitto/stetho/server.key\n": f"keyfile {certs}/server.key\n",
    }
    for old, new in rewrites.items():
        if text.count(old) != 1:
            raise AssertionError(f"deploy mosquitto.conf should contain {old!r} exactly once")
        text = text.replace(old, new)
    if os.geteuid() == 0:
        # As root, Mosquitto drops to the `mosquitto` user before reading certificates,
        # which cannot enter pytest's 0700 temporary directories. Stay root, in tests only.
        text += "user root\n"
    return text


def make_dev_certs(outdir: Path, *sites: str, doctors: str = "alice") -> None:
    subprocess.run(
        [str(DEPLOY / "make-dev-certs.sh"), str(outdir), *sites],
        env={"PATH": "/usr/bin:/bin", "DOCTORS": doctors},
        check=True,
        capture_output=True,
    )


class TlsBroker:
    """Mosquitto with the deployment's configuration; the CA and server cert come from certs."""

    def __init__(self, workdir: Path, certs: Path, acl: Path = DEPLOY / "acl") -> None:
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.certs = certs
        self.acl = acl
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout_s: float = 10.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = (DEPLOY / "mosquitto.conf").read_text()
        config = self.workdir / "mosquitto.conf"
        config.write_text(render_config(text, self.port, self.certs, self.acl, self.workdir))
        self._process = subprocess.Popen(
            [find_mosquitto(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start:\n{self.log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port}:\n{self.log}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def client_context(self, identity: str | None, ca: Path | None = None) -> ssl.SSLContext:
        """A TLS context as an agent or doctor builds it: trust `ca`, present `identity`."""
        context = ssl.create_default_context(cafile=str(ca or self.certs / "ca.crt"))
        if identity is not None:
            context.load_cert_chain(self.certs / f"{identity}.crt", self.certs / f"{identity}.key")
        return context

    def __enter__(self) -> TlsBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
