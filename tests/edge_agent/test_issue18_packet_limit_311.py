"""Issue 18: a packet size limit for brokers that cannot state one (`broker.max_packet_bytes`).

An MQTT 3.1.1 CONNACK has no properties, so the broker's limit must come from the config; it
feeds the same rule as a v5 CONNACK's Maximum Packet Size (keep the message, send the rest,
raise the alarm). Without the setting, a broker that drops the link on a big PUBLISH is
spotted and the alarm names the key to set. The real broker is Mosquitto, which takes 3.1.1
clients too and closes their connection on a packet over its `max_packet_size`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from edge_agent.cli.status import render
from edge_agent.config import load_config
from edge_agent.errors import ConfigError
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.packet_size import (
    OversizeSuspicion,
    PacketLimit,
    packet_limit,
    publish_packet_size,
    too_large_alarm,
)
from edge_agent.transport.settings import broker_settings
from stetho_testkit.mqtt_client import MqttTestClient
from tests.sync.mqtt311 import audio_message, run_publisher

LIMIT = 20000
AGENT = 'site = "home-1"\n[broker]\nprotocol = "3.1.1"\n{extra}[storage]\nreceipt_timeout_s = 60\n'


def _config_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(AGENT.format(extra=extra), encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("value", ["1000", "268435456", '"64k"', "2.5", "true"])
def test_a_bad_max_packet_bytes_is_refused_naming_file_key_and_range(
    tmp_path: Path, value: str
) -> None:
    path = _config_file(tmp_path, f"max_packet_bytes = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text and "broker.max_packet_bytes" in text, text
    assert "16384" in text or "268435455" in text or "integer" in text, text


def test_max_packet_bytes_reaches_the_connection_settings(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path, "max_packet_bytes = 65536\n"))
    assert broker_settings(config.broker, "a").max_packet_bytes == 65536
    config = load_config(_config_file(tmp_path, ""))
    assert broker_settings(config.broker, "a").max_packet_bytes is None


def test_the_smaller_of_connack_and_config_applies() -> None:
    assert packet_limit(None, None) is None
    assert packet_limit(30000, None) == PacketLimit(30000, configured=False)
    assert packet_limit(None, 20000) == PacketLimit(20000, configured=True)
    assert packet_limit(30000, 20000) == PacketLimit(20000, configured=True)
    assert packet_limit(10000, 20000) == PacketLimit(10000, configured=False)


def test_a_311_publish_has_no_properties_section() -> None:
    plain = OutboundMessage("t/a", b"x" * 100)
    tagged = OutboundMessage("t/a", b"x" * 100, content_type="audio/flac")
    assert publish_packet_size(plain, v5=False) == publish_packet_size(tagged, v5=False)
    assert publish_packet_size(plain, v5=False) == publish_packet_size(plain) - 1  # props len


def test_suspicion_needs_the_same_big_message_unacknowledged_twice_running() -> None:
    watch = OversizeSuspicion()
    assert watch.link_ended({1: 50000, 2: 300}) is None
    assert watch.link_ended({}) is None  # a loss with nothing big in flight resets it
    assert watch.link_ended({1: 50000}) is None
    assert watch.link_ended({1: 50000, 3: 20}) == (1, 50000)
    assert watch.link_ended({1: 50000}) is None  # said once
    small = OversizeSuspicion()
    assert small.link_ended({5: 900}) is None
    assert small.link_ended({5: 900}) is None  # below any limit one may set: not suspected


@pytest.mark.broker
def test_a_message_over_max_packet_bytes_is_held_and_the_rest_go_in_311(tmp_path: Path) -> None:
    exact = (
        LIMIT - publish_packet_size(audio_message(1, LIMIT), v5=False) + LIMIT
    )  # PUBLISH = LIMIT
    items = [
        audio_message(0, 1000),
        audio_message(1, exact),
        audio_message(2, 3 * LIMIT),
        audio_message(3, 900),
    ]
    assert publish_packet_size(items[1], v5=False) == LIMIT
    broker = LocalBroker(tmp_path / "m", extra_config=f"max_packet_size {LIMIT}")
    with broker, MqttTestClient(broker.host, broker.port, ["stetho/v1/#"]) as doctor:
        settings = MqttSettings(
            broker.host, broker.port, "agent-311", protocol="3.1.1", max_packet_bytes=LIMIT
        )
        link = run_publisher(
            settings,
            tmp_path / "o.db",
            items,
            lambda link, pending: link.stats.too_large > 0 and pending == 1,
        )
        got = doctor.wait_for(lambda m: len(m) >= 3)
    assert sorted(m.topic for m in got) == sorted(items[i].topic for i in (0, 1, 3))
    assert link.stats.connects == 1  # the broker never saw the big one
    assert link.stats.too_large == 1
    assert link.stats.packet_alarm is not None
    assert f"exceeds broker.max_packet_bytes ({LIMIT} bytes)" in link.stats.packet_alarm


@pytest.mark.broker
def test_without_the_setting_a_broker_dropping_big_publishes_raises_the_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    items = [audio_message(i, size) for i, size in enumerate((1000, 3 * LIMIT, 900))]
    with LocalBroker(tmp_path / "m", extra_config=f"max_packet_size {LIMIT}") as broker:
        settings = MqttSettings(broker.host, broker.port, "agent-311", protocol="3.1.1")
        link = run_publisher(
            settings, tmp_path / "o.db", items, lambda link, _: bool(link.stats.packet_alarm)
        )
    assert link.stats.losses >= 2
    alarm = link.stats.packet_alarm or ""
    assert "broker.max_packet_bytes" in alarm and str(publish_packet_size(items[1], False)) in alarm
    assert "event=link_lost_on_large_message seq=2" in caplog.text


def test_stetho_status_shows_the_packet_alarm() -> None:
    alarm = too_large_alarm(94974, PacketLimit(65536, configured=True))
    broker = {"host": "h", "port": 1883, "connected": True, "published": 3, "connects": 1}
    broker |= {"last_error": None, "alarm": None, "packet_alarm": alarm}
    outbox = {"pending": 1, "oldest_pending_age_s": 5.0, "used_bytes": 1, "quota_bytes": 2}
    outbox |= {"free_disk_bytes": 3, "alarm": None}
    data = {"site": "s", "agent": "a", "version": "0", "pid": 1, "started_at": 0.0}
    data |= {"updated_at": 0.0, "broker": broker, "outbox": outbox, "devices": {}}
    console = Console(record=True, width=400)
    render(data, console)
    text = console.export_text()
    assert f"ALARM broker: {alarm}" in text
    assert "exceeds broker.max_packet_bytes (65536 bytes)" in alarm
