"""The hub under test: configs, a `python -m stetho_hub run` process, and an agent-like publisher.

The publisher speaks the real wire format (content type, user properties, QoS 1) with paho's
own thread: it is the test's side of MQTT, not the hub's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.salvage import OUTBOX_FILE
from firmware_bridge.flac import FLAC_CONTENT_TYPE
from stetho_hub.storage import AudioStore, DatabaseTarget, open_database, summary
from stetho_testkit.hub.factory import WireRecording, make_recording
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import wait_until

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
        f'[broker]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = 30\n{group}'
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
        process = self.process
        wait_until(
            lambda: self.output().count("event=hub_connected") > before,
            60,
            what="the hub to connect",
            describe=lambda: self.output()[-3000:],
            alive=lambda: process.poll() is None,
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def close(self) -> None:
        self.kill()

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
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
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


def archived(target: DatabaseTarget) -> dict[str, str]:
    """The hub's archive, recording id -> audio SHA-256, on a fresh connection (one that
    lived through a restart may lie)."""
    db = open_database(target)
    try:
        with db.transaction() as tx:
            rows = tx.all("SELECT recording_id, audio_sha256 FROM archived")
    finally:
        db.close()
    return {str(r): str(s) for r, s in rows}


def receipts_status(state: Path) -> dict[str, Any]:
    """An agent's `receipts` block of status.json ({} until it has written one)."""
    try:
        status = json.loads((state / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    block: dict[str, Any] = status.get("receipts", {})
    return block


def outbox_receipts(state: Path) -> dict[str, int]:
    """What an agent's outbox file says now (read-only; the agent may still run): recordings
    awaiting a receipt and re-sends so far, the figures its status.json shows after the next
    refresh (up to 5 s later)."""
    db = sqlite3.connect(f"file:{state / OUTBOX_FILE}?mode=ro", uri=True, timeout=10)
    try:
        (awaiting,) = db.execute(
            "SELECT COUNT(*) FROM receipts WHERE archived_at IS NULL"
        ).fetchone()
        (resent,) = db.execute("SELECT COALESCE(SUM(resent), 0) FROM receipts").fetchone()
    finally:
        db.close()
    return {"awaiting": int(awaiting), "sent_again": int(resent)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_kill_scenario(
    broker: LocalBroker, target: DatabaseTarget, workdir: Path, n: int, kills: int, seed: int
) -> dict[str, object]:
    """Publish `n` recordings while SIGKILLing the hub `kills` times; check the archive."""
    rng = random.Random(seed)
    audio_dir = workdir / "audio"
    config = write_hub_config(workdir / "hub.toml", broker.port, target, audio_dir)
    hub = HubProcess(config, workdir / "hub.log")
    recs = [make_recording(seed * 10_000 + i) for i in range(n)]
    kill_after = sorted(rng.sample(range(1, n), kills))
    published = threading.Semaphore(0)
    started = time.monotonic()
    with (
        MqttTestClient(broker.host, broker.port, ["stetho/v1/+/receipts"]) as care_home,
        WirePublisher(broker.host, broker.port) as agent,
        contextlib.closing(hub),  # killed even when an assertion fails halfway
    ):
        hub.start()

        def publish_all() -> None:
            for rec in recs:
                agent.recording(rec)
                published.release()

        publisher = threading.Thread(target=publish_all, daemon=True)
        publisher.start()
        done = 0
        for at in kill_after:
            while done < at:
                published.acquire(timeout=60)
                done += 1
            time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next recordings' storing
            hub.kill()
            time.sleep(rng.uniform(0.1, 0.5))  # recordings queue at the broker meanwhile
            hub.start()
        publisher.join(timeout=120)
        ids = {rec.recording_id for rec in recs}
        counts = wait_archived(target, n)
        with contextlib.suppress(TimeoutError):  # the assert below says how many are missing
            wait_until(lambda: _receipted(care_home) >= ids, 60, every_s=0.1)
        receipted = _receipted(care_home)
        hub.stop()
    elapsed = time.monotonic() - started
    check_archive(target, audio_dir, recs)
    logged = Counter(hub.archived_ids())
    result = {
        "recordings": n,
        "hub_sigkills": kills,
        "archived": counts["recordings_archived"],
        "archived_logged_twice": sum(1 for c in logged.values() if c > 1),
        "receipted": len(receipted & ids),
        "seconds": round(elapsed, 1),
    }
    print(f"hub kill scenario ({target.dialect}): {json.dumps(result)}", file=sys.stderr)
    assert receipted >= ids, f"{len(ids - receipted)} recordings never receipted"
    assert result["archived_logged_twice"] == 0
    return result


def _receipted(client: MqttTestClient) -> set[str]:
    return {json.loads(m.payload)["recording_id"] for m in client.on("/receipts")}


def wait_archived(target: DatabaseTarget, n: int, timeout_s: float = 120) -> dict[str, object]:
    """Poll the archive, each time on a fresh connection (one that lived through a database
    restart must not be what the test trusts)."""
    counts: dict[str, object] = {}

    def all_archived() -> bool:
        nonlocal counts
        db = open_database(target)
        try:
            counts = summary(db)
        finally:
            db.close()
        return counts["recordings_archived"] == n

    with contextlib.suppress(TimeoutError):  # the caller checks the counts
        wait_until(all_archived, timeout_s, every_s=0.2)
    return counts


def check_archive(target: DatabaseTarget, audio_dir: Path, recs: list[WireRecording]) -> None:
    db = open_database(target)
    try:
        counts = summary(db)
        with db.transaction() as tx:
            rows: dict[str, str] = dict(tx.all("SELECT recording_id, audio_sha256 FROM archived"))
    finally:
        db.close()
    n = len(recs)
    assert counts["recordings_metadata"] == counts["recordings_audio"] == n
    assert counts["recordings_archived"] == n and counts["refused"] == {}
    store = AudioStore(audio_dir)
    for rec in recs:
        assert rows[rec.recording_id] == sha256(rec.flac)
        assert sha256(store.read(rows[rec.recording_id])) == sha256(rec.flac)
