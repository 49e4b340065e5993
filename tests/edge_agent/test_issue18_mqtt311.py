"""Issue 18: the opt-in MQTT 3.1.1 mode, in its parts (the RabbitMQ run is in tests/sync).

3.1.1 has no properties, so the mode is refused where it would lose something silently (no
receipts on the agent, a shared subscription at the hub), and what it sends carries none.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge_agent.config import BrokerConfig, load_config
from edge_agent.errors import ConfigError
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttConnection, ReceivedMessage, publish_properties
from edge_agent.transport.settings import broker_settings
from edge_agent.wire.v311 import recording_id_in
from firmware_bridge.flac_tags import set_vorbis_comments
from stetho_doctor.client import recording_id_of
from stetho_hub import wire
from stetho_hub.config import load_config as load_hub_config
from stetho_hub.errors import HubConfigError
from stetho_hub.ingest.runner import mqtt_settings
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.mqtt_client import MqttTestClient

AGENT = 'site = "home-1"\n[broker]\nprotocol = "3.1.1"\n'


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_311_without_a_receipt_timeout_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "agent.toml", AGENT)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert "storage.receipt_timeout_s" in str(caught.value)


def test_311_with_receipts_builds_311_settings(tmp_path: Path) -> None:
    text = AGENT + "[storage]\nreceipt_timeout_s = 600\n"
    config = load_config(_write(tmp_path / "agent.toml", text))
    settings = broker_settings(config.broker, config.default_client_id())
    assert settings.protocol == "3.1.1" and not settings.v5
    assert broker_settings(load_config(_write(tmp_path / "v5.toml", 'site = "h"\n')).broker, "x").v5


def test_the_hub_in_311_mode_refuses_a_shared_group(tmp_path: Path) -> None:
    base = '[database]\nsqlite = "hub.db"\n[broker]\nprotocol = "3.1.1"\n'
    hub = load_hub_config(_write(tmp_path / "hub.toml", base))
    assert mqtt_settings(hub).protocol == "3.1.1"
    path = _write(tmp_path / "shared.toml", base + 'shared_group = "hubs"\n')
    with pytest.raises(HubConfigError, match="shared_group"):
        load_hub_config(path)


def test_no_properties_in_311() -> None:
    message = OutboundMessage("t", b"x", content_type="audio/flac", expiry_s=5)
    assert publish_properties(message, v5=False) is None
    assert publish_properties(message) is not None


@pytest.mark.broker
def test_a_311_publish_reaches_a_v5_subscriber_without_properties_and_the_hub_reads_it(
    broker: LocalBroker,
) -> None:
    # Mosquitto speaks both: an agent in 3.1.1 mode and a v5 reader can share it.
    rec = make_recording(7)
    agent = broker_settings(BrokerConfig(port=broker.port, protocol="3.1.1"), "agent-311")
    message = OutboundMessage(
        rec.audio_topic, rec.flac, 1, False, "audio/flac", None, rec.properties, rec.recording_id
    )

    async def publish() -> None:
        connection = MqttConnection(agent)
        await connection.connect()
        try:
            await connection.publish(message)
        finally:
            await connection.disconnect()

    with MqttTestClient(broker.host, broker.port, [rec.audio_topic]) as reader:
        asyncio.run(publish())
        (got,) = reader.wait_for(lambda got: len(got) == 1)
    assert got.payload == rec.flac
    assert "UserProperty" not in got.properties and "ContentType" not in got.properties
    audio = wire.classify(got.topic, got.payload)
    assert isinstance(audio, wire.RecordingAudio) and audio.recording_id == rec.recording_id


def test_the_payload_names_the_recording_when_no_property_does() -> None:
    rec = make_recording(3)
    assert recording_id_in(rec.audio_topic, rec.flac) == rec.recording_id
    assert recording_id_in(rec.meta_topic, rec.meta_json) == rec.recording_id
    for topic, payload in [
        (rec.audio_topic, b"fLaC\x84\x00\xff"),  # metadata cut short
        (rec.audio_topic, set_vorbis_comments(rec.flac, {"COMMENT": "recording_id=nope"})),
        (rec.meta_topic, b"[1]"),
        (rec.meta_topic, b'{"recording_id": 7}'),
        (rec.meta_topic, b"\xff"),
        ("stetho/v1/home-a/acks", rec.meta_json),  # not a recording's topic
    ]:
        assert recording_id_in(topic, payload) is None
    no_props = ReceivedMessage(rec.audio_topic, rec.flac, False, None, ())
    assert recording_id_of(no_props) == rec.recording_id  # `stetho alerts --save` in 3.1.1
