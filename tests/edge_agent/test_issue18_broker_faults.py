"""Issue 18: no broker behaviour ends the publisher; every loss backs off; reasons are logged.

Each test runs the real publisher and outbox against a scripted MQTT v5 broker double
(tests/fakes/mqtt5_broker.py) that misbehaves for a few connections and then behaves: the
publisher must stay up and deliver every stored message once it does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.link_errors import TAKEN_OVER_ALARM
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from tests.fakes.mqtt5_broker import Behaviour, FakeBroker

GOOD = Behaviour()
TOTAL = 12


def run_against(
    script: list[Behaviour],
    tmp_path: Path,
    within_s: float = 20,
    subscribe_timeout_s: float = 10.0,
    **publisher: float,
) -> tuple[FakeBroker, Publisher, float]:
    """Store TOTAL messages, run the publisher until the broker has them all; return the elapsed
    time (the test fails if the publisher raised or did not deliver in time)."""
    broker = FakeBroker(script).start()
    settings = MqttSettings(
        broker.host,
        broker.port,
        "agent-18",
        subscriptions=("stetho/v1/s/ack/#",),
        keepalive_s=5,
        subscribe_timeout_s=subscribe_timeout_s,
    )
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))

    async def scenario() -> tuple[Publisher, float]:
        await outbox.put_many(
            [
                OutboundMessage("stetho/v1/s/d/m", b"%d" % i, recording_id=str(i))
                for i in range(TOTAL)
            ]
        )
        fast = {"stable_s": 5.0, **publisher}
        link = Publisher(settings, outbox, rng=random.Random(18), **fast)
        task = asyncio.create_task(link.run())
        start = asyncio.get_running_loop().time()
        async with asyncio.timeout(within_s):
            while (await outbox.stats()).pending:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.05)
        elapsed = asyncio.get_running_loop().time() - start
        assert not task.done()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link, elapsed

    try:
        link, elapsed = asyncio.run(scenario())
    finally:
        outbox.close()
        broker.stop()
    assert sorted(set(broker.payloads()), key=int) == [b"%d" % i for i in range(TOTAL)]
    return broker, link, elapsed


def test_close_right_after_connack_is_retried_not_raised(tmp_path: Path) -> None:
    broker, link, _ = run_against([Behaviour(close_after_connack=True)] * 2 + [GOOD], tmp_path)
    assert broker.connections == 3
    assert link.stats.connect_failures == 2


def test_stall_between_connack_and_suback_is_a_failed_connect(tmp_path: Path) -> None:
    # The subscribe waits for its SUBACK (10 s by default; 2 s set here, the same path);
    # then the publisher reconnects and delivers.
    assert MqttSettings("h", 1, "c").subscribe_timeout_s == 10.0
    stall = [Behaviour(stall_subscribe=True), GOOD]
    _broker, link, elapsed = run_against(stall, tmp_path, subscribe_timeout_s=2)
    assert link.stats.connect_failures == 1
    assert 2 <= elapsed < 7


def test_every_loss_waits_before_reconnecting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Accepted, then dropped by the broker with "server busy" at the first PUBLISH, four times:
    # each loss is followed by a growing delay (0.5-1, 1-2, 2-4 s ...), never an immediate retry.
    dropped = Behaviour(disconnect_on_publish=0x89)
    caplog.set_level(logging.WARNING, "edge_agent.transport.publisher")
    broker, _link, elapsed = run_against([dropped] * 4 + [GOOD], tmp_path, within_s=30)
    assert broker.connections == 5
    assert elapsed >= 0.5 + 1 + 2 + 4 - 0.5  # lower halves of the first four ceilings
    lines = [r.getMessage() for r in caplog.records if "broker_disconnected" in r.getMessage()]
    assert len(lines) >= 4
    assert all("Server busy (0x89)" in line and "retry_in_s=" in line for line in lines)


def test_taken_over_client_id_raises_the_alarm_and_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A cloned agent with our client id: the broker kicks us with 0x8E. Reconnecting at once
    # would kick the clone in turn (15 takeovers in 2 s in the issue); we wait the longest.
    taken = Behaviour(disconnect_after_s=0.2, disconnect_reason=0x8E)
    caplog.set_level(logging.WARNING)
    broker = FakeBroker([taken, GOOD]).start()
    settings = MqttSettings(broker.host, broker.port, "agent-18")
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))

    async def scenario() -> Publisher:
        link = Publisher(settings, outbox, rng=random.Random(1))
        task = asyncio.create_task(link.run())
        async with asyncio.timeout(5):
            while link.stats.losses == 0:
                await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # well inside the longest delay: no second connection yet
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link

    try:
        link = asyncio.run(scenario())
    finally:
        outbox.close()
        broker.stop()
    assert broker.connections == 1
    assert link.stats.alarm == TAKEN_OVER_ALARM
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "event=client_id_taken_over client_id=agent-18" in text
    assert 'reason="broker sent DISCONNECT: Session taken over (0x8E)" retry_in_s=60.0' in text


def test_denied_publishes_do_not_make_a_reconnect_storm(tmp_path: Path) -> None:
    # Every PUBACK says "not authorized" (a certificate of another site): the messages stay in
    # the outbox, the connection stays, and nothing reconnects.
    broker = FakeBroker([Behaviour(puback_reason=0x87)]).start()
    settings = MqttSettings(broker.host, broker.port, "agent-18")
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))

    async def scenario() -> tuple[Publisher, int]:
        await outbox.put_many([OutboundMessage("t/x", b"1", recording_id="1")])
        link = Publisher(settings, outbox, rng=random.Random(1))
        task = asyncio.create_task(link.run())
        await asyncio.sleep(2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link, (await outbox.stats()).pending

    try:
        link, pending = asyncio.run(scenario())
    finally:
        outbox.close()
        broker.stop()
    assert broker.connections == 1
    assert link.stats.publish_failures == 1
    assert pending == 1


def test_a_broker_without_mqtt5_is_named(tmp_path: Path) -> None:
    broker = FakeBroker([Behaviour(v311_only=True)]).start()
    settings = MqttSettings(broker.host, broker.port, "agent-18")
    outbox = Outbox(OutboxStore(tmp_path / "o.db", 10**9, min_free_disk_bytes=0))

    async def scenario() -> Publisher:
        link = Publisher(settings, outbox, rng=random.Random(1))
        task = asyncio.create_task(link.run())
        async with asyncio.timeout(5):
            while not link.stats.connect_failures:
                await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return link

    try:
        link = asyncio.run(scenario())
    finally:
        outbox.close()
        broker.stop()
    assert link.stats.last_error.startswith("the broker does not speak MQTT v5")
