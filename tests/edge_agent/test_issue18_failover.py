"""Issue 18: `broker.hosts` failover: the rotation rule, then two real Mosquittos."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from edge_agent.config import parse_endpoint
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.failover import HostRotation
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from stetho_testkit.mqtt_client import MqttTestClient


def test_rotation_moves_after_three_failures_wraps_and_comes_back() -> None:
    hosts = HostRotation((("a", 1), ("b", 2)))
    assert [hosts.failed() for _ in range(3)] == [False, False, True]
    assert hosts.current == ("b", 2) and not hosts.on_primary
    hosts.held()
    assert [hosts.failed() for _ in range(3)] == [False, False, True]
    assert hosts.current == ("a", 1)
    hosts.failed()
    hosts.back_to_primary()
    assert hosts.on_primary and hosts.failures == 0


def test_single_host_never_rotates() -> None:
    hosts = HostRotation((("a", 1),))
    assert not any(hosts.failed() for _ in range(10))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h", ("h", 1883)),
        ("h:8883", ("h", 8883)),
        ("[::1]:9", ("::1", 9)),
        ("[::1]", ("::1", 1883)),
    ],
)
def test_endpoints_parse(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text, 1883) == expected


@pytest.mark.parametrize("text", ["", "h:0", "h:70000", "a b", "[::1", "h:x"])
def test_bad_endpoints_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text, 1883)


@pytest.mark.broker
def test_agent_fails_over_to_the_second_mosquitto_and_comes_back(tmp_path: Path) -> None:
    first, second = LocalBroker(tmp_path / "a"), LocalBroker(tmp_path / "b")
    first.start()
    second.start()
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))
    settings = MqttSettings(
        first.host, first.port, "agent-fo", failover=((second.host, second.port),), failback_s=4
    )

    def batch(start: int) -> list[OutboundMessage]:
        return [OutboundMessage("stetho/v1/s/d/m", b"%d" % i) for i in range(start, start + 5)]

    async def drained() -> None:
        async with asyncio.timeout(30):
            while (await outbox.stats()).pending:
                await asyncio.sleep(0.05)

    async def scenario(link: Publisher) -> list[str]:
        task = asyncio.create_task(link.run())
        hosts_seen = []
        await outbox.put_many(batch(0))
        await drained()
        hosts_seen.append(link.hosts.current[1])
        await asyncio.to_thread(first.kill)
        await outbox.put_many(batch(5))
        await drained()  # through the second broker, after three failed connects to the first
        hosts_seen.append(link.hosts.current[1])
        await asyncio.to_thread(first.start)
        async with asyncio.timeout(20):  # failback after 4 s on the second broker
            while not (link.hosts.on_primary and link.stats.connected):
                await asyncio.sleep(0.05)
        await outbox.put_many(batch(10))
        await drained()
        hosts_seen.append(link.hosts.current[1])
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return [str(p) for p in hosts_seen]

    try:
        with MqttTestClient(second.host, second.port, ["stetho/v1/#"]) as on_second:
            link = Publisher(settings, outbox, rng=random.Random(0), stable_s=2)
            seen = asyncio.run(scenario(link))
            got_second = on_second.wait_for(lambda m: len(m) >= 5)
    finally:
        outbox.close()
        first.kill()
        second.kill()
    assert seen == [str(first.port), str(second.port), str(first.port)]
    assert {m.payload for m in got_second} >= {b"%d" % i for i in range(5, 10)}
