"""Issue 18: `broker.protocol = "3.1.1"` through a real nats-server 2.9 (MQTT gateway, no v5).

A real `stetho run` agent and a real hub, both in 3.1.1 mode, over NATS: recordings archived,
receipts back, nothing left awaiting. NATS keeps MQTT sessions, queues and retained messages in
JetStream; these tests also check the parts of 3.1.1 the mode relies on there: a persistent
session queues recordings for a hub that is down, and the agent's last will (QoS 1, retained)
replaces its retained status when it dies.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.storage.salvage import OUTBOX_FILE
from edge_agent.wire import topics
from stetho_testkit import nats
from stetho_testkit.agent_harness import AGENT, SITE, AgentProcess
from stetho_testkit.hub.harness import archived, receipts_status
from tests.sync.mqtt311 import agent_config, hub_process, receipt_logged, three_receipted, wait

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not nats.installed(), reason="nats-server is not installed (scripts/bootstrap.sh does)"
    ),
]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[nats.NatsBroker]:
    server = nats.NatsBroker(tmp_path / "nats")
    server.start()  # well under a second: one per test
    try:
        yield server
    finally:
        server.stop()


def test_agent_and_hub_in_311_mode_deliver_and_receipt_through_nats(
    broker: nats.NatsBroker, tmp_path: Path
) -> None:
    with three_receipted(tmp_path, broker.port, "hub-nats") as (agent, hub, state, stored):
        # Killed, the agent writes no last status.json: wait for a refresh that counts them.
        agent.wait_for_status(state, lambda s: s.get("receipts", {}).get("archived") == len(stored))
        agent.kill()  # no goodbye: the broker publishes the last will
        counts = receipts_status(state)
        retain, will = _retained(broker.port, f"stetho/v1/{SITE}/{AGENT}/status")
    print(f"3.1.1 via NATS: stored {len(stored)}, receipts {json.dumps(counts)}")
    assert counts["awaiting"] == 0, counts
    assert counts["mismatched"] == 0
    assert "missing_recording_id" not in hub.output()
    assert retain == "1" and json.loads(will)["state"] == "offline", will


def _retained(port: int, topic: str) -> tuple[str, str]:
    """(retain flag, payload) of the first message a fresh 3.1.1 subscriber gets on `topic`."""
    args = ["-h", "127.0.0.1", "-p", str(port), "-V", "mqttv311", "-q", "1", "-t", topic]
    done = subprocess.run(
        ["mosquitto_sub", *args, "-C", "1", "-W", "10", "-F", "%r %p"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    retain, _, payload = done.stdout.strip().partition(" ")
    return retain, payload


def _all_published(state: Path) -> bool:
    """The outbox holds the recording's messages, every one marked sent (after its PUBACK)."""
    db = sqlite3.connect(f"file:{state / OUTBOX_FILE}?mode=ro", uri=True, timeout=10)
    try:
        total, sent = db.execute("SELECT COUNT(*), COUNT(sent_at) FROM messages").fetchone()
    finally:
        db.close()
    return bool(total >= 2 and sent == total)


def test_recordings_wait_in_the_hubs_nats_session_while_it_is_down(
    broker: nats.NatsBroker, tmp_path: Path
) -> None:
    hub, target = hub_process(tmp_path, broker.port, "hub-nats-late")
    hub.start()  # once, so that its persistent session (a JetStream consumer) exists
    assert hub.stop() == 0
    state = tmp_path / "state"
    config = agent_config(tmp_path / "a.toml", broker.port, state, 120)
    agent = AgentProcess(config, tmp_path / "agent.log")
    agent.start()
    try:
        (rid,) = agent.wait_for_stored(1)
        wait("PUBACKs while the hub is down", lambda: _all_published(state), 20, agent.output)
        hub.start()
        wait(
            "archived from the queue",
            lambda: receipt_logged(agent, rid),
            30,
            lambda: f"{receipts_status(state)} {hub.output()[-1500:]}",
        )
        assert agent.stop() == 0, agent.output()[-3000:]
        counts = receipts_status(state)  # written once more as it stopped
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"3.1.1 via NATS, hub down then up: receipts {json.dumps(counts)}")
    assert rid in archived(target) and counts["archived"] == 1 and counts["awaiting"] == 0
    assert counts.get("sent_again", 0) == 0, "the queued copy arrived, not a re-send"


def _publish_311(port: int, topics: list[str]) -> list[str]:
    """Publish each topic at QoS 1 on one 3.1.1 connection; the topics that got no PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    refused = []
    try:
        for topic in topics:
            info = client.publish(topic, b"{}", qos=1)
            with contextlib.suppress(RuntimeError):  # paho: "not currently connected"
                info.wait_for_publish(3)
            if not info.is_published():
                refused.append(topic)
                break  # NATS closed the link: nothing after this would go either
    finally:
        client.disconnect()
        client.loop_stop()
    return refused


def test_nats_refuses_dots_and_spaces_which_no_stetho_topic_has(broker: nats.NatsBroker) -> None:
    # nats-server maps MQTT '/' to NATS '.', so it refuses '.' and ' ' in an MQTT topic and
    # closes the link on such a PUBLISH. Every id in our topics is a slug, [a-z0-9-].
    assert _publish_311(broker.port, ["stetho/v1/home.a/alerts"]) == ["stetho/v1/home.a/alerts"]
    site, agent, device = "h" + "-" * 62, "0" * 63, "steth-9"
    ours = [
        topics.agent_status(site, agent),
        topics.device_status(site, device),
        topics.recording(site, device),
        topics.recording_audio(site, device),
        topics.triage(site),
        topics.alerts(site),
        topics.acks(site),
        topics.exams(site),
        topics.exam_answers(site),
        topics.receipts(site),
        topics.live(site, device),
        topics.command(site, agent),
    ]
    assert _publish_311(broker.port, ours) == []
