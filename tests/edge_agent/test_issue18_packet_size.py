"""Issue 18: the broker's Maximum Packet Size (CONNACK) is respected; a 3.1.1 broker is named."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.packet_size import publish_packet_size
from edge_agent.transport.publisher import Publisher
from stetho_testkit.mqtt_client import MqttTestClient
from tests.fakes.mqtt5_broker import Behaviour, FakeBroker

LIMIT = 20000


def outbound(i: int, size: int) -> OutboundMessage:
    return OutboundMessage(
        f"stetho/v1/s/d{i}/recordings/audio",
        bytes(size),
        content_type="audio/flac",
        expiry_s=3600 if i % 2 else None,
        user_properties=(("recording_id", f"r-{i}"), ("schema_version", "1")),
        recording_id=f"r-{i}",
    )


def run_publisher(settings: MqttSettings, path: Path, items: list[OutboundMessage], until: int
                  ) -> Publisher:  # fmt: skip
    outbox = Outbox(OutboxStore(path, 10**9, min_free_disk_bytes=0))

    async def scenario() -> Publisher:
        await outbox.put_many(items)
        link = Publisher(settings, outbox, rng=random.Random(0))
        task = asyncio.create_task(link.run())
        async with asyncio.timeout(20):
            while (await outbox.stats()).pending > until:
                assert not task.done()
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link

    try:
        return asyncio.run(scenario())
    finally:
        outbox.close()


def test_packet_size_is_what_goes_on_the_wire(tmp_path: Path) -> None:
    broker = FakeBroker([Behaviour()]).start()
    items = [outbound(i, size) for i, size in enumerate((0, 1, 127, 128, 16383, 16384, 70000))]
    try:
        run_publisher(MqttSettings(broker.host, broker.port, "a"), tmp_path / "o.db", items, 0)
    finally:
        broker.stop()
    assert [p.packet_bytes for p in broker.received] == [publish_packet_size(m) for m in items]


@pytest.mark.broker
def test_message_over_mosquittos_max_packet_size_is_held_and_the_rest_go(tmp_path: Path) -> None:
    with LocalBroker(tmp_path / "m", extra_config=f"max_packet_size {LIMIT}") as broker:
        items = [outbound(0, 1000), outbound(1, 3 * LIMIT), outbound(2, 1000), outbound(3, 900)]
        with MqttTestClient(broker.host, broker.port, ["stetho/v1/#"]) as doctor:
            settings = MqttSettings(broker.host, broker.port, "agent-18")
            link = run_publisher(settings, tmp_path / "o.db", items, until=1)
            got = doctor.wait_for(lambda m: len(m) >= 3)
    assert sorted(m.topic for m in got) == sorted(items[i].topic for i in (0, 2, 3))
    assert link.stats.connects == 1  # no reconnect loop on the big one
    assert link.stats.too_large == 1
    assert link.stats.packet_alarm is not None
    assert f"maximum packet size ({LIMIT} bytes)" in link.stats.packet_alarm
