"""The publisher against a real Mosquitto: order, PUBACK-before-sent, broker restarts."""

import asyncio
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from stetho_testkit.mqtt_client import MqttTestClient

pytestmark = pytest.mark.broker


def settings(broker: LocalBroker) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port, client_id="test-agent", max_inflight=5)


def messages(n: int) -> list[OutboundMessage]:
    return [
        OutboundMessage("stetho/v1/s/d/m", str(i).encode(), recording_id=str(i)) for i in range(n)
    ]


async def drain_until_empty(outbox: Outbox, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while (await outbox.stats()).pending:
            await asyncio.sleep(0.05)


def test_outbox_is_published_in_order_and_marked_sent(broker: LocalBroker, tmp_path: Path) -> None:
    async def scenario() -> None:
        outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))
        await outbox.put_many(messages(50))
        publisher = Publisher(settings(broker), outbox)
        task = asyncio.create_task(publisher.run())
        await drain_until_empty(outbox)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        outbox.close()

    with MqttTestClient(broker.host, broker.port, ["stetho/v1/#"]) as doctor:
        asyncio.run(scenario())
        got = doctor.wait_for(lambda m: len(m) >= 50)
    assert [m.payload for m in got[:50]] == [str(i).encode() for i in range(50)]


def test_nothing_is_lost_across_broker_restarts(broker: LocalBroker, tmp_path: Path) -> None:
    total = 120

    async def scenario() -> None:
        outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))
        publisher = Publisher(settings(broker), outbox)
        task = asyncio.create_task(publisher.run())
        for batch in range(6):
            await outbox.put_many(messages(total)[batch * 20 : (batch + 1) * 20])
            await asyncio.sleep(0.05)
            if batch in (1, 3):
                # A graceful restart: Mosquitto saves the doctor's queued messages first.
                await asyncio.to_thread(broker.restart)
        await drain_until_empty(outbox, 90)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        outbox.close()

    # The doctor's persistent session keeps queueing while the broker restarts.
    with MqttTestClient(
        broker.host,
        broker.port,
        ["stetho/v1/#"],
        client_id="doc",
        clean_start=False,
        session_expiry_s=3600,
    ):
        pass
    asyncio.run(scenario())
    with MqttTestClient(
        broker.host,
        broker.port,
        ["stetho/v1/#"],
        client_id="doc",
        clean_start=False,
        session_expiry_s=3600,
    ) as doctor:
        got = doctor.wait_for(
            lambda m: {x.payload for x in m} >= {str(i).encode() for i in range(total)}, 60
        )
    assert {m.payload for m in got} == {str(i).encode() for i in range(total)}
