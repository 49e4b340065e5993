"""Run deploy/mosquitto/mosquitto.conf as committed, on a free loopback port, for tests.

Only the port, the file locations and the log destination are rewritten; every other
directive (mutual TLS, identity as username, the ACL) is the production one. Each
rewrite must match exactly once, so a changed production file fails loudly here.
"""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

from edge_agent.runtime.local_broker import LocalBroker

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


class TlsBroker(LocalBroker):
    """Mosquitto with the deployment's configuration; the CA and server cert come from certs."""

    def __init__(self, workdir: Path, certs: Path, acl: Path = DEPLOY / "acl") -> None:
        super().__init__(workdir)
        self.certs = certs
        self.acl = acl
        text = (DEPLOY / "mosquitto.conf").read_text()
        self.config_text = render_config(text, self.port, certs, acl, workdir)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client_context(self, identity: str | None, ca: Path | None = None) -> ssl.SSLContext:
        """A TLS context as an agent or doctor builds it: trust `ca`, present `identity`."""
        context = ssl.create_default_context(cafile=str(ca or self.certs / "ca.crt"))
        if identity is not None:
            context.load_cert_chain(self.certs / f"{identity}.crt", self.certs / f"{identity}.key")
        return context
