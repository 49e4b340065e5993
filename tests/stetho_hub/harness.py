"""The hub under test: configs, a `python -m stetho_hub run` process, and an agent-like publisher.

The publisher speaks the real wire format (content type, user properties, QoS 1) with paho's
own thread: it is the test's side of MQTT, not the hub's.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.audio import FLAC_CONTENT_TYPE
from stetho_hub.storage import DatabaseTarget
from tests.stetho_hub.factory import WireRecording

TIMEOUT_S = 20.0


def write_hub_config(
    path: Path,
    port: int,
    target: DatabaseTarget,
    audio_dir: Path,
    hub_id: str = "hub-test",
    shared_group: str | None = None,
) -> Path:
    database = (
        f'sqlite = "{target.location}"'
        if target.dialect == "sqlite"
        else f'postgresql = "{target.location}"'
    )
    group = f'shared_group = "{shared_group}"\n' if shared_group else ""
    path.write_text(
        f'hub_id = "{hub_id}"\nlog_level = "info"\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = 5\n{group}'
        f"[database]\n{database}\n"
        f'[archive]\naudio_dir = "{audio_dir}"\n',
        encoding="utf-8",
    )
    return path


class HubProcess:
    """One `python -m stetho_hub run` process; its output appended to one log across restarts."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config, self.log_path = config, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self) -> None:
        before = self.output().count("event=hub_connected") if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stetho_hub", "run", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while self.output().count("event=hub_connected") <= before:
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, "the hub did not connect"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def archived_ids(self) -> list[str]:
        return re.findall(r"event=recording_archived recording=(\S+)", self.output())


class WirePublisher:
    """Publishes recordings as an agent does: audio, then metadata, then triage; QoS 1."""

    def __init__(self, host: str, port: int, client_id: str = "fake-agent") -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.connect(host, port)
        self._client.loop_start()

    def publish(
        self, topic: str, payload: bytes, content_type: str, props: tuple[tuple[str, str], ...]
    ) -> None:
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = content_type
        if props:
            properties.UserProperty = list(props)
        info = self._client.publish(topic, payload, qos=1, properties=properties)
        info.wait_for_publish(TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"no PUBACK for {topic}")

    def recording(self, rec: WireRecording) -> None:
        self.publish(rec.audio_topic, rec.flac, FLAC_CONTENT_TYPE, rec.properties)
        self.publish(rec.meta_topic, rec.meta_json, "application/json", rec.properties)

    def __enter__(self) -> WirePublisher:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
