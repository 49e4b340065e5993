"""End to end: a recording is sent again until the hospital's receipt names its exact bytes."""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.wire import topics
from stetho_testkit.agent_harness import SITE, AgentProcess, write_config
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import wait_until

pytestmark = pytest.mark.broker


def _status(state: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((state / "status.json").read_text())
    return data


def _wait(predicate: Callable[[], object], timeout_s: float = 30) -> None:
    def holds() -> object:
        try:
            return predicate()
        except (OSError, ValueError, KeyError):  # status.json not written yet, or mid-replace
            return False

    wait_until(holds, timeout_s, every_s=0.1)


def test_unreceipted_recordings_are_sent_again_until_the_hub_answers(
    broker: LocalBroker, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "a.toml", broker.port, state, interval_s=600, duration_s=1.5)
    config.write_text(
        config.read_text().replace("min_free_disk_mb", "receipt_timeout_s = 1\nmin_free_disk_mb")
    )
    audio_topic = f"{topics.ROOT}/{SITE}/+/recordings/audio"
    with MqttTestClient(broker.host, broker.port, [audio_topic, topics.alerts(SITE)]) as hub:
        agent = AgentProcess(config, tmp_path / "agent.log")
        agent.start()
        try:
            (rid,) = agent.wait_for_stored(1)
            hub.wait_for(lambda got: len([m for m in got if m.topic.endswith("/audio")]) >= 2)
            flac = hub.on("/recordings/audio")[0].payload  # sent again: the hub stayed silent
            # The agent's log says so at once; status.json (checked below) at its next refresh.
            _wait(lambda: "event=recordings_sent_again count=1 " in agent.output())
            receipt = {
                "schema": "stetho.receipt",
                "schema_version": 1,
                "recording_id": rid,
                "site": SITE,
                "device": "steth-a",
                "audio_sha256": hashlib.sha256(flac).hexdigest(),
                "pcm_sha256": "0" * 64,
                "size_bytes": len(flac),
                "archived_at": datetime.now(UTC).isoformat(),
                "hub": "hub-test",
            }
            hub.publish(topics.receipts(SITE), json.dumps(receipt).encode())
            _wait(lambda: f"event=recording_archived recording={rid} " in agent.output())
            sent = len(hub.on("/recordings/audio"))
            time.sleep(1.5)  # 1.5 x the timeout (as 3 s was for 2 s): archived, never sent again
            assert len(hub.on("/recordings/audio")) == sent
            assert all(m.payload == flac for m in hub.on("/recordings/audio"))
            assert len(hub.on("/alerts")) <= 1  # a doctor never gets the alert twice
        finally:
            assert agent.stop() == 0, agent.output()[-3000:]
    receipts = _status(state)["receipts"]  # written once more as the agent stopped
    assert isinstance(receipts, dict)
    assert receipts["sent_again"] >= 1 and receipts["archived"] == 1
    assert receipts["awaiting"] == 0
    assert "event=recording_archived recording=" + rid in agent.output()
