"""SIGKILL the hub while recordings arrive: each is archived exactly once, its SHA-256 intact.

The short form of bench/hub_faults.py (300 recordings); `python -m stetho_hub run` processes
against a real Mosquitto and a real SQLite file or PostgreSQL.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from edge_agent.local_broker import LocalBroker
from stetho_hub.storage import AudioStore, DatabaseTarget, open_database, summary
from tests.mqtt_client import MqttTestClient
from tests.stetho_hub.factory import WireRecording, make_recording
from tests.stetho_hub.harness import HubProcess, WirePublisher, sha256, write_hub_config

pytestmark = pytest.mark.broker


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
        counts = _wait_archived(target, n)
        deadline = time.monotonic() + 60
        while _receipted(care_home) < ids and time.monotonic() < deadline:
            time.sleep(0.1)
        receipted = _receipted(care_home)
        hub.stop()
    elapsed = time.monotonic() - started
    _check_archive(target, audio_dir, recs)
    logged = Counter(hub.archived_ids())
    result = {
        "recordings": n,
        "hub_sigkills": kills,
        "archived": counts["recordings_archived"],
        "archived_logged_twice": sum(1 for c in logged.values() if c > 1),
        "receipted": len(receipted & ids),
        "seconds": round(elapsed, 1),
    }
    print(f"hub kill scenario ({target.dialect}): {json.dumps(result)}")
    assert receipted >= ids, f"{len(ids - receipted)} recordings never receipted"
    assert result["archived_logged_twice"] == 0
    return result


def _receipted(client: MqttTestClient) -> set[str]:
    return {json.loads(m.payload)["recording_id"] for m in client.on("/receipts")}


def _wait_archived(target: DatabaseTarget, n: int, timeout_s: float = 120) -> dict[str, object]:
    db = open_database(target)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            counts = summary(db)
            if counts["recordings_archived"] == n or time.monotonic() > deadline:
                return counts
            time.sleep(0.1)
    finally:
        db.close()


def _check_archive(target: DatabaseTarget, audio_dir: Path, recs: list[WireRecording]) -> None:
    db = open_database(target)
    try:
        counts = summary(db)
        with db.transaction() as tx:
            rows = dict(tx.all("SELECT recording_id, audio_sha256 FROM archived"))
    finally:
        db.close()
    n = len(recs)
    assert counts["recordings_metadata"] == counts["recordings_audio"] == n
    assert counts["recordings_archived"] == n and counts["refused"] == {}
    store = AudioStore(audio_dir)
    for rec in recs:
        assert rows[rec.recording_id] == sha256(rec.flac)
        assert sha256(store.read(rows[rec.recording_id])) == sha256(rec.flac)


def test_hub_sigkilled_while_recordings_arrive_archives_each_once(
    broker: LocalBroker, db_target: DatabaseTarget, tmp_path: Path
) -> None:
    run_kill_scenario(broker, db_target, tmp_path, n=40, kills=2, seed=7)
