"""The shipped deploy/mosquitto/mosquitto.conf, on a plain loopback listener, for the fault suite.

Durability settings (persistence, autosave, queue and packet limits) are used exactly as
shipped; only what ties the file to a production host is rewritten: the TLS listener becomes
a plain loopback one without authentication (the fault suite's `mosquitto_sub` has no
certificate), and the file locations point into the test's directory. Each rewrite must match
exactly once, so a changed production file fails loudly here. TLS and the ACL themselves are
tested in tests/deploy/.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from edge_agent.runtime.local_broker import LocalBroker

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
LISTENER_SECTION = "# ---- The only listener"


def render_plain(text: str, port: int, workdir: Path) -> str:
    rewrites = {
        "allow_anonymous false\n": "allow_anonymous true\n",
        "acl_file /etc/mosquitto/stetho/acl\n": "",
        "persistence_location /var/lib/mosquitto/\n": f"persistence_location {workdir}/\n",
        "log_dest syslog\n": f"log_dest file {workdir}/mosquitto.log\n",
    }
    for old, new in rewrites.items():
        if text.count(old) != 1:
            raise AssertionError(f"deploy mosquitto.conf should contain {old!r} exactly once")
        text = text.replace(old, new)
    if text.count(LISTENER_SECTION) != 1:
        raise AssertionError(f"deploy mosquitto.conf should contain {LISTENER_SECTION!r} once")
    head = text[: text.index(LISTENER_SECTION)]
    return f"user {getpass.getuser()}\n{head}listener {port} 127.0.0.1\n"


class ShippedBroker(LocalBroker):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.config_text = render_plain(SHIPPED.read_text(), self.port, workdir)
