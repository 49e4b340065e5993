"""A real RabbitMQ with its MQTT plugin, private to one test: loopback only, its own files.

Debian's rabbitmq-server (3.10) speaks MQTT 3.1.1 only, the broker the agent's opt-in
`broker.protocol = "3.1.1"` is for. Everything the node writes (database, logs, the Erlang
cookie under HOME, the expanded plugins) stays in the test's tmp directory, and it runs with
a private epmd port, so a system RabbitMQ (or another test's) is neither used nor disturbed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from stetho_testkit.server_process import free_ports, log_text, spawn_answering, stop_group

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # the script, not the root-only wrapper
START_TIMEOUT_S = 90.0  # about 10 s on an idle 2-core machine; CI may be shared


def installed() -> bool:
    return SERVER.is_file() and shutil.which("epmd") is not None


class RabbitBroker:
    """`start()` returns once the MQTT listener answers; `stop()` ends the node and its epmd."""

    host = "127.0.0.1"

    def __init__(self, root: Path, max_message_size: int | None = None) -> None:
        self.root = root
        self.max_message_size = max_message_size  # bytes of payload; RabbitMQ's default 128 MiB
        self.port, self.node_port, self.dist_port, self.epmd_port = free_ports(4)
        self.process: subprocess.Popen[bytes] | None = None

    def _environment(self) -> dict[str, str]:
        r = self.root
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(r),  # the Erlang cookie is written here, private to this node
            "LANG": "C.UTF-8",
            "RABBITMQ_CONF_ENV_FILE": str(r / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(r / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(r / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(r / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(r / "mnesia"),
            "RABBITMQ_LOG_BASE": str(r / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(r / "plugins-expand"),
            "RABBITMQ_PID_FILE": str(r / "rabbitmq.pid"),
            "RABBITMQ_NODENAME": f"stetho-test-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.node_port),  # unused (no AMQP listener), but private
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "rabbitmq-env.conf").write_text("", encoding="utf-8")
        (self.root / "enabled_plugins").write_text("[rabbitmq_mqtt].\n", encoding="utf-8")
        (self.root / "rabbitmq.conf").write_text(
            "listeners.tcp = none\n"  # no AMQP listener: the tests speak MQTT only
            f"mqtt.listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "mqtt.allow_anonymous = true\n"  # as guest, allowed because we are on loopback
            "log.console = false\n"
            "log.file.level = warning\n"
            + (
                ""
                if self.max_message_size is None
                else f"max_message_size = {self.max_message_size}\n"
            ),
            encoding="utf-8",
        )

    def start(self) -> None:
        self._write_config()
        self.process = spawn_answering(
            "RabbitMQ",
            [str(SERVER)],
            self.root,
            (self.host, self.port),
            timeout_s=START_TIMEOUT_S,
            poll_s=0.2,
            env=self._environment(),
        )

    def output(self) -> str:
        return log_text(self.root)

    def stop(self) -> None:
        """SIGTERM the node's process group (Erlang stops cleanly on it), then its epmd."""
        stop_group(self.process, 20)
        # epmd daemonises out of the process group; ours listens on our private port only.
        subprocess.run(
            ["epmd", "-kill"],
            env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)},
            capture_output=True,
            timeout=10,
            check=False,
        )
