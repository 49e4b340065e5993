"""`stetho run` as a real process, a simulated stethoscope, a real broker, a doctor subscriber."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from firmware_bridge.flac import SITE_TAG, decode_flac, pcm_sha256
from firmware_bridge.flac_tags import read_vorbis_comments
from stetho_testkit.agent_harness import validate
from stetho_testkit.mqtt_client import MqttTestClient

pytestmark = pytest.mark.broker

CONFIG = """
site = "home-e2e"
agent_id = "pi-test"
[broker]
host = "127.0.0.1"
port = {port}
[storage]
state_dir = "{state}"
[[devices]]
id = "steth-a"
kind = "simulated"
scenario = "tachycardia"
speed = 20.0
resident = "res-42"
auscultation_site = "aortic"
[devices.schedule]
interval_s = 4
duration_s = 3
"""


def test_stetho_run_publishes_recordings_that_decode(broker: LocalBroker, tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(port=broker.port, state=tmp_path / "state"))
    with MqttTestClient(broker.host, broker.port, ["stetho/v1/#"]) as doctor:
        agent = subprocess.Popen(
            [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            doctor.wait_for(
                lambda m: len([x for x in m if x.topic.endswith("/recordings")]) >= 3, 60
            )
        finally:
            agent.send_signal(signal.SIGTERM)
            output, _ = agent.communicate(timeout=30)
        assert agent.returncode == 0, output
        doctor.wait_for(
            lambda m: any(
                x.topic.endswith("pi-test/status") and b'"offline"' in x.payload for x in m
            ),
            10,
        )

    metadata = [json.loads(m.payload) for m in doctor.on("/recordings")]
    audio = {
        dict(m.properties["UserProperty"])["recording_id"]: m.payload
        for m in doctor.on("/recordings/audio")
    }
    complete = [r for r in metadata if not r["partial"]]
    assert len(complete) >= 3
    for record in complete:
        assert record["resident"] == "res-42" and record["device"] == "steth-a"
        pcm, rate = decode_flac(audio[record["recording_id"]])
        tags = read_vorbis_comments(audio[record["recording_id"]])
        assert tags[SITE_TAG] == "aortic" and tags["STETHO_DEVICE"] == "steth-a"
        assert rate == 4000 and len(pcm) == 3 * 4000 == record["n_samples"]
        assert pcm_sha256(pcm) == record["audio"]["pcm_sha256"]
        assert record["analysis"]["triage"]["level"] in ("review", "urgent")
    # Every JSON payload on the wire validates against the published schemas.
    kinds = {
        "/recordings": "recording",
        "/triage": "triage",
        "/alerts": "alert",
        "/status": "status",
    }
    for message in doctor.messages:
        kind = next((k for suffix, k in kinds.items() if message.topic.endswith(suffix)), None)
        if kind is not None:
            validate(kind, message.payload)
    alerts = [json.loads(m.payload) for m in doctor.on("/alerts")]
    assert {a["recording_id"] for a in alerts} >= {r["recording_id"] for r in complete}
    assert "event=recording_stored" in output
