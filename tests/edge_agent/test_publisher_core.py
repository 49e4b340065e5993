"""The publisher's rules, against a fake connection: no broker, no socket, a few seconds.

The broker tests (test_publisher.py, test_issue18_*.py) prove the publisher against Mosquitto
and a scripted MQTT v5 double, in tens of seconds; these take MqttConnection's place in the
publisher with an in-process fake, as the hub's ingest tests do, so every rule can be checked
fast enough to run under mutation: what is marked sent and when, what stays in the outbox and
is counted, how long each reconnect waits, which broker comes next, what the operator is told.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import pytest

from edge_agent.errors import (
    ConnectError,
    LinkLostError,
    OutboxError,
    PubackTimeoutError,
    PublishError,
)
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport import publisher
from edge_agent.transport.link_errors import TAKEN_OVER_ALARM
from edge_agent.transport.mqtt import MqttSettings, ReceivedMessage
from edge_agent.transport.publisher import Publisher

TOPIC = "stetho/v1/home-1/steth-1/recording"
STATUS = OutboundMessage("stetho/v1/home-1/pi/status", b"online", retain=True)
OFFLINE = OutboundMessage("stetho/v1/home-1/pi/status", b"offline", retain=True)
RNG = random.Random(7)
T = TypeVar("T")


class FakeBroker:
    """What the links see: refusals, errors per payload, the clock the publisher reads."""

    def __init__(self) -> None:
        self.links: list[FakeLink] = []
        self.attempts: list[tuple[str, int]] = []
        self.refuse = 0  # the next connects refused
        self.errors: dict[bytes, list[BaseException]] = {}  # raised by publish, one per try
        self.held: set[bytes] = set()  # publishes that wait for `release`
        self.release = asyncio.Event()
        self.max_packet_size: int | None = None
        self.refused_subscriptions = ""
        self.subscribe_fails = False
        self.disconnect_error: BaseException | None = None
        self.volatile_ok = True
        self.on_connect: Callable[[], None] = lambda: None
        self.clock = 1000.0
        # (attempt, error) of every delay asked, and whether the publisher's rng went with it.
        self.delays: list[tuple[int, type[BaseException]]] = []

    def link(self, settings: MqttSettings, inbox: asyncio.Queue[ReceivedMessage]) -> FakeLink:
        link = FakeLink(settings, self)
        link.messages = inbox
        return link

    def delay(self, attempt: int, error: BaseException, rng: random.Random | None = None) -> float:
        assert rng is RNG
        self.delays.append((attempt, type(error)))
        return 0.01 * (attempt + 1)  # longer than _until's poll: state between is seen

    def published(self) -> list[bytes]:
        return [m.payload for link in self.links for m in link.published]


class FakeLink:
    """MqttConnection's face to the publisher: connect, publish, subscribe, close; no socket."""

    def __init__(self, settings: MqttSettings, broker: FakeBroker) -> None:
        self.settings = settings
        self.broker = broker
        self.closed = asyncio.Event()
        self.loss: LinkLostError | None = None
        self.max_packet_size = broker.max_packet_size
        self.refused_subscriptions = broker.refused_subscriptions
        self.published: list[OutboundMessage] = []
        self.timeouts: list[float] = []
        self.volatile: list[OutboundMessage] = []
        self.subscribed: list[tuple[str, ...]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.disconnected = False
        self.messages: asyncio.Queue[ReceivedMessage] | None = None

    async def connect(self) -> None:
        self.broker.attempts.append((self.settings.host, self.settings.port))
        if self.broker.refuse > 0:
            self.broker.refuse -= 1
            raise ConnectError("connection refused")
        self.broker.on_connect()
        self.broker.links.append(self)

    async def publish(self, message: OutboundMessage, timeout_s: float = 30.0) -> None:
        if self.closed.is_set():
            raise PublishError("not connected")
        self.published.append(message)
        self.timeouts.append(timeout_s)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if message.payload in self.broker.held:
                await self.broker.release.wait()
            await asyncio.sleep(0)
            errors = self.broker.errors.get(message.payload)
            if errors:
                raise errors.pop(0)
        finally:
            self.in_flight -= 1

    def publish_nowait(self, message: OutboundMessage) -> bool:
        self.volatile.append(message)
        return self.broker.volatile_ok

    async def subscribe(self, topics: list[str]) -> None:
        self.subscribed.append(tuple(topics))
        if self.broker.subscribe_fails:
            raise PublishError("SUBACK: Not authorized")

    async def disconnect(self) -> None:
        self.disconnected = True
        self.close()
        if self.broker.disconnect_error is not None:
            raise self.broker.disconnect_error

    def close(self) -> None:
        if self.loss is None:
            self.loss = LinkLostError("closed by the agent")
        self.closed.set()

    def drop(self, loss: LinkLostError, after_s: float = 0.0) -> None:
        """The link ends under the publisher, `after_s` after it was accepted."""
        self.broker.clock += after_s
        self.loss = loss
        self.closed.set()


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(publisher, "MqttConnection", fake.link)
    monkeypatch.setattr(publisher, "persistent_delay", fake.delay)
    monkeypatch.setattr(publisher, "time", SimpleNamespace(monotonic=lambda: fake.clock))
    return fake


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(OutboxStore(tmp_path / "outbox.db", 10**9, min_free_disk_bytes=0))
    yield box
    box.close()


def _settings(**changes: object) -> MqttSettings:
    base = MqttSettings("broker-a", 8883, "agent-1", max_inflight=3, failback_s=0.02)
    return MqttSettings(**{**base.__dict__, **changes})


def _messages(n: int) -> list[OutboundMessage]:
    return [OutboundMessage(TOPIC, b"%d" % i, recording_id=f"rec-{i}") for i in range(n)]


async def _until(condition: Callable[[], bool], task: asyncio.Task[None] | None = None) -> None:
    async with asyncio.timeout(5):
        while not condition():
            assert task is None or not task.done(), task.exception()
            await asyncio.sleep(0.001)


async def _pending(outbox: Outbox) -> int:
    return (await outbox.stats()).pending


async def _until_pending(outbox: Outbox, count: int, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(5):
        while await _pending(outbox) != count:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.001)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _run(scenario: Coroutine[object, object, T]) -> T:
    """asyncio.run, failing on what the loop would only log: a done callback that raised, a
    task whose exception nobody retrieved."""
    logged: list[str] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: logged.append(context["message"]))
        return await scenario

    result = asyncio.run(main())
    gc.collect()
    assert logged == []
    return result


def _make(outbox: Outbox, offline: OutboundMessage | None = None, **settings: object) -> Publisher:
    return Publisher(_settings(**settings), outbox, offline, RNG, stable_s=30.0,
                     puback_timeout_s=7.5)  # fmt: skip


def _logged_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        float(r.args[1])  # type: ignore[index]
        for r in caplog.records
        if r.msg.startswith("event=broker_disconnected")  # type: ignore[union-attr]
    ]


# ---- delivery: in order, marked sent only after the PUBACK, a window of max_inflight


def test_every_message_goes_once_in_order_and_is_marked_sent(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        await outbox.put_many(_messages(10))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 10, task)
        await _until_pending(outbox, 0, task)
        assert link.connected.is_set() and link.stats.connected
        assert link.connection is broker.links[0]
        await _stop(task)
        return link

    link = _run(scenario())
    assert broker.published() == [b"%d" % i for i in range(10)]
    assert broker.links[0].timeouts == [7.5] * 10  # the publisher's PUBACK wait, not paho's
    assert (link.stats.connects, link.stats.publish_failures, link.stats.losses) == (1, 0, 0)
    assert not link.connected.is_set() and link.connection is None
    assert link.stats.connected is False  # status.json says false, not null


def test_a_message_awaiting_its_puback_stays_pending_and_at_most_max_inflight_go(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.held = {b"0", b"1", b"2", b"3"}

    async def scenario() -> None:
        await outbox.put_many(_messages(5))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: bool(broker.links) and len(broker.links[0].published) == 3, task)
        await asyncio.sleep(0.05)
        assert len(broker.links[0].published) == 3  # a window of max_inflight=3
        assert await _pending(outbox) == 5 and link.stats.published == 0
        broker.release.set()
        await _until(lambda: link.stats.published == 5, task)
        await _until_pending(outbox, 0, task)
        await _stop(task)

    _run(scenario())
    assert broker.links[0].most_in_flight == 3


# ---- what a refusal, a timeout and a lost link each do


@pytest.mark.parametrize(
    "error", [PublishError("PUBACK: Not authorized (0x87)"), PubackTimeoutError("no PUBACK")]
)
def test_a_refused_or_unanswered_v5_publish_stays_in_the_outbox_and_the_link_stays(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture, error: PublishError
) -> None:
    broker.errors[b"2"] = [error] * 100
    broker.errors[b"4"] = [error] * 100
    caplog.set_level(logging.WARNING, publisher.__name__)

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(5))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 3, task)
        await _until(lambda: link.stats.publish_failures == 2, task)
        await _until_pending(outbox, 2, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert (link.stats.publish_failures, link.stats.connects, link.stats.losses) == (2, 1, 0)
    lines = [r.getMessage() for r in caplog.records if "publish_failed" in r.getMessage()]
    assert lines == [
        f"event=publish_failed seq={seq} topic={TOPIC} recording=rec-{seq - 1} "
        f"error={str(error)!r} kept_in_outbox=1"
        for seq in (3, 5)
    ]


def test_an_unanswered_311_publish_ends_the_link_and_goes_again_on_the_next(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker.errors[b"1"] = [PubackTimeoutError("no PUBACK within 7.5 s")]
    caplog.set_level(logging.WARNING, publisher.__name__)

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(3))
        link = _make(outbox, protocol="3.1.1")
        task = asyncio.create_task(link.run())
        await _until_pending(outbox, 0, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.publish_failures == 0 and link.stats.losses == 1
    assert broker.links[0].loss is not None
    assert str(broker.links[0].loss) == "connection lost: no PUBACK within 7.5 s"
    assert broker.links[0].closed.is_set() and b"1" in [
        m.payload for m in broker.links[1].published
    ]
    assert broker.delays == [(0, LinkLostError)]


def test_a_lost_link_under_a_publish_is_no_publish_failure(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.errors[b"0"] = [LinkLostError("gone")]

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(2))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 1, task)
        broker.links[0].drop(LinkLostError("gone"))
        await _until_pending(outbox, 0, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.publish_failures == 0 and link.stats.losses == 1


def test_a_disk_that_fails_under_the_drain_ends_the_link_and_backs_off(
    broker: FakeBroker,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING, publisher.__name__)
    real = outbox.pending
    failures = [OutboxError("disk I/O error")]

    async def pending(limit: int, after_seq: int = 0) -> object:
        if failures:
            raise failures.pop()
        return await real(limit, after_seq)

    monkeypatch.setattr(outbox, "pending", pending)

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(2))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until_pending(outbox, 0, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.losses == 1 and link.stats.connects == 2
    assert str(broker.links[0].loss) == "connection lost: outbox read failed: disk I/O error"
    text = [r.getMessage() for r in caplog.records]
    assert 'event=outbox_read_failed error="disk I/O error"' in text


# ---- reconnecting: how long each wait, which broker next


def test_each_refused_connect_is_counted_and_waits_longer(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.refuse = 2

    async def scenario() -> tuple[Publisher, str]:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: len(broker.attempts) == 2, task)
        said = link.stats.last_error
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)
        return link, said

    link, said = _run(scenario())
    assert said == "connection refused"
    assert link.stats.last_error == ""  # the link is back: the old error is gone
    assert (link.stats.connect_failures, link.stats.connects) == (2, 1)
    assert broker.delays == [(0, ConnectError), (1, ConnectError)]


def test_young_links_wait_longer_and_one_that_held_starts_afresh(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, publisher.__name__)

    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        for number, lived_s in enumerate((0.0, 29.9, 30.0, 1.0), start=1):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset by peer"), after_s=lived_s)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
            if number == 2:
                assert link.stats.short_links == 2
            assert link.stats.last_error == "connection lost: reset by peer"
        await _until(lambda: len(broker.attempts) == 5, task)
        await _stop(task)
        return link

    link = _run(scenario())
    # Attempts 0, 1, then a link that held exactly stable_s: 0 again, and the count of short
    # links in a row starts over.
    assert broker.delays == [(0, LinkLostError), (1, LinkLostError), (0, LinkLostError),
                             (1, LinkLostError)]  # fmt: skip
    assert link.stats.short_links == 1 and link.stats.losses == 4
    assert _logged_delays(caplog) == [0.01, 0.02, 0.01, 0.02]
    assert caplog.messages[0] == 'event=broker_disconnected reason="reset by peer" retry_in_s=0.0'
    assert broker.attempts == [("broker-a", 8883)] * 5


def test_three_failures_move_to_the_next_broker_and_the_wait_starts_over(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker.refuse = 3
    caplog.set_level(logging.WARNING, publisher.__name__)

    async def scenario() -> Publisher:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=60.0)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert broker.attempts == [("broker-a", 8883)] * 3 + [("broker-b", 1883)]
    assert broker.delays == [(0, ConnectError), (1, ConnectError), (2, ConnectError)]
    settings = broker.links[0].settings
    assert (settings.host, settings.port, settings.client_id) == ("broker-b", 1883, "agent-1")
    assert "event=broker_failover from=broker-a:8883 to=broker-b:1883" in caplog.messages
    assert caplog.messages[:2] == [
        'event=broker_connect_failed host=broker-a error="connection refused" retry_in_s=0.0',
        'event=broker_connect_failed host=broker-a error="connection refused" retry_in_s=0.0',
    ]
    assert link.hosts.current == ("broker-b", 1883)


def test_young_links_on_one_broker_move_to_the_next_with_no_wait_added(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=60.0)
        task = asyncio.create_task(link.run())
        for number in range(1, 5):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset"), after_s=29.0)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
        await _until(lambda: len(broker.attempts) == 5, task)
        await _stop(task)
        return link

    link = _run(scenario())
    # The third young link moves to broker-b, whose first loss waits as a first one does.
    assert [a for a, _ in broker.delays] == [0, 1, 2, 0]
    assert broker.attempts == [("broker-a", 8883)] * 3 + [("broker-b", 1883)] * 2
    assert link.stats.short_links == 4


def test_a_link_that_held_on_a_broker_keeps_us_there(broker: FakeBroker, outbox: Outbox) -> None:
    async def scenario() -> None:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=60.0)
        task = asyncio.create_task(link.run())
        for number, lived_s in enumerate((1.0, 1.0, 31.0, 1.0, 1.0), start=1):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset"), after_s=lived_s)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
        await _until(lambda: len(broker.attempts) == 6, task)
        await _stop(task)

    _run(scenario())
    # Two young links, one that held (the count starts over), two young: still broker-a.
    assert broker.attempts == [("broker-a", 8883)] * 6


def test_on_a_failover_broker_the_link_is_ended_to_go_back_at_once(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker.refuse = 3
    caplog.set_level(logging.INFO, publisher.__name__)

    async def scenario() -> Publisher:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=0.02)
        task = asyncio.create_task(link.run())
        await _until(lambda: len(broker.links) == 2, task)
        await _until(lambda: link.connected.is_set(), task)
        broker.links[1].drop(LinkLostError("reset"), after_s=1.0)  # back home, a young loss
        await _until(lambda: len(broker.links) == 3, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert broker.attempts[3:5] == [("broker-b", 1883), ("broker-a", 8883)]
    assert broker.links[0].disconnected  # ended cleanly, not dropped
    # The fail-back goes at once and starts the count afresh: the next loss waits as a first.
    assert _logged_delays(caplog) == [0.0, 0.01]
    assert broker.delays[-2:] == [(0, LinkLostError), (0, LinkLostError)]
    assert "event=broker_failback to=broker-a" in caplog.messages
    assert "event=broker_connected host=broker-b port=1883" in caplog.messages
    assert link.hosts.on_primary and link.hosts.failures == 1  # the young loss since


def test_on_the_first_broker_nothing_ends_the_link_to_fail_back(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> None:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=0.01)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await asyncio.sleep(0.1)
        assert not broker.links[0].disconnected and link.stats.losses == 0
        await _stop(task)

    _run(scenario())
    assert len(broker.attempts) == 1


# ---- what the operator is told


def test_a_taken_over_client_id_raises_the_alarm_once(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, publisher.__name__)
    taken = LinkLostError("Session taken over (0x8E)", 0x8E, by_broker=True)

    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        for number in (1, 2):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(taken, after_s=40.0)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.alarm == TAKEN_OVER_ALARM
    said = [r for r in caplog.records if r.getMessage().startswith("event=client_id_taken_over")]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    assert said[0].getMessage() == (
        f'event=client_id_taken_over client_id=agent-1 alarm="{TAKEN_OVER_ALARM}"'
    )


def test_three_young_links_in_a_row_raise_the_question(broker: FakeBroker, outbox: Outbox) -> None:
    async def scenario() -> list[str | None]:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        alarms = []
        for number in (1, 2, 3):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset"), after_s=1.0)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
            alarms.append(link.stats.alarm)
        await _stop(task)
        return alarms

    alarms = _run(scenario())
    assert alarms[:2] == [None, None]
    assert alarms[2] is not None and alarms[2].startswith(f"{TAKEN_OVER_ALARM}? ")
    assert alarms[2] == (
        f"{TAKEN_OVER_ALARM}? the broker accepted and then dropped 3 connections in a row "
        "(last: reset); is another agent using client id agent-1 (a cloned SD card), or is "
        "what we publish refused?"
    )


def test_a_link_that_holds_clears_the_takeover_alarm_but_not_a_refused_subscription(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, publisher.__name__)
    link = _make(outbox)
    link.stats.alarm = TAKEN_OVER_ALARM
    link._clear_link_alarm()
    assert link.stats.alarm is None and caplog.messages == ["event=link_alarm_cleared"]
    link.stats.alarm = "subscription refused: stetho/v1/home-1/acks Not authorized"
    link._clear_link_alarm()
    assert link.stats.alarm == "subscription refused: stetho/v1/home-1/acks Not authorized"
    caplog.clear()
    link.stats.alarm = None
    link._clear_link_alarm()
    assert link.stats.alarm is None and caplog.text == ""


def test_the_alarm_clears_only_while_the_link_is_up_stable_s(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> tuple[str | None, str | None]:
        link = Publisher(_settings(), outbox, None, RNG, stable_s=0.05)
        link.stats.alarm = TAKEN_OVER_ALARM
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        broker.links[0].drop(LinkLostError("reset"))  # dies young: the alarm stays
        await _until(lambda: len(broker.links) == 2, task)
        await asyncio.sleep(0.03)
        kept = link.stats.alarm
        await asyncio.sleep(0.1)  # the second link has held 0.05 s
        cleared = link.stats.alarm
        await _stop(task)
        return kept, cleared

    kept, cleared = _run(scenario())
    assert kept == TAKEN_OVER_ALARM and cleared is None


def test_a_refused_subscription_is_an_alarm(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker.refused_subscriptions = "stetho/v1/home-1/acks: Not authorized"
    caplog.set_level(logging.ERROR, publisher.__name__)

    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.alarm == "subscription refused: stetho/v1/home-1/acks: Not authorized"
    assert caplog.messages == [
        'event=subscription_refused reason="stetho/v1/home-1/acks: Not authorized"'
    ]


# ---- retained state, live audio, subscriptions added while running


def test_state_goes_first_on_every_link_and_at_once_while_connected(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> None:
        await outbox.put_many(_messages(1))
        link = _make(outbox)
        link.set_state(OutboundMessage(STATUS.topic, b"starting", retain=True))
        link.set_state(STATUS)  # the same topic: only the latest is kept
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 1, task)
        device = OutboundMessage("stetho/v1/home-1/steth-1/status", b"online", retain=True)
        link.set_state(device)
        await _until(lambda: len(broker.links[0].published) == 3, task)
        broker.links[0].drop(LinkLostError("reset"))
        await _until(lambda: len(broker.links) == 2 and len(broker.links[1].published) == 2)
        await _stop(task)

    _run(scenario())
    first, second = broker.links
    assert [m.payload for m in first.published] == [b"online", b"0", b"online"]
    assert [m.topic for m in second.published] == [STATUS.topic, "stetho/v1/home-1/steth-1/status"]


def test_state_set_while_not_connected_waits_for_the_link(outbox: Outbox) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox)
        link.set_state(STATUS)
        await asyncio.sleep(0)
        return link

    link = _run(scenario())
    assert link._state == {STATUS.topic: STATUS} and not link._state_sends


def test_live_audio_goes_only_while_connected(broker: FakeBroker, outbox: Outbox) -> None:
    chunk = OutboundMessage("stetho/v1/home-1/steth-1/live", b"pcm", qos=0)

    async def scenario() -> list[bool]:
        link = _make(outbox)
        said = [link.send_volatile(chunk)]
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        said.append(link.send_volatile(chunk))
        broker.volatile_ok = False  # the socket's queue is full
        said.append(link.send_volatile(chunk))
        await _stop(task)
        said.append(link.send_volatile(chunk))
        return said

    assert _run(scenario()) == [False, True, False, False]
    assert len(broker.links[0].volatile) == 2


def test_a_connection_not_yet_up_takes_no_live_audio(broker: FakeBroker, outbox: Outbox) -> None:
    chunk = OutboundMessage("stetho/v1/home-1/steth-1/live", b"pcm", qos=0)
    link = _make(outbox)
    link.connection = FakeLink(_settings(), broker)  # type: ignore[assignment]
    assert link.send_volatile(chunk) is False  # connected not set yet
    link.set_state(STATUS)  # nor state: it waits for the link
    assert link.connection.volatile == [] and not link._state_sends  # type: ignore[attr-defined]


def test_subscriptions_added_are_kept_and_asked_for_on_the_live_link(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox, subscriptions=("stetho/v1/home-1/acks",))
        link.subscribe_more(("stetho/v1/home-1/acks", "stetho/v1/home-1/steth-1/cmd"))
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        link.subscribe_more(("stetho/v1/home-1/steth-1/cmd",))  # nothing new: nothing asked
        link.subscribe_more(("stetho/v1/home-1/steth-2/cmd", "stetho/v1/home-1/acks"))
        await _until(lambda: len(broker.links[0].subscribed) == 1, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.settings.subscriptions == (
        "stetho/v1/home-1/acks", "stetho/v1/home-1/steth-1/cmd", "stetho/v1/home-1/steth-2/cmd",
    )  # fmt: skip
    assert broker.links[0].settings.subscriptions[:2] == link.settings.subscriptions[:2]
    assert broker.links[0].subscribed == [("stetho/v1/home-1/steth-2/cmd",)]


def test_subscriptions_added_while_connecting_are_asked_for_once_up(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox, subscriptions=("stetho/v1/home-1/acks",))
        broker.on_connect = lambda: link.subscribe_more(("stetho/v1/home-1/steth-9/cmd",))
        task = asyncio.create_task(link.run())
        await _until(lambda: len(broker.links) == 1 and bool(broker.links[0].subscribed), task)
        await _stop(task)
        return link

    _run(scenario())
    assert broker.links[0].subscribed == [("stetho/v1/home-1/steth-9/cmd",)]


def test_a_refused_late_subscription_is_logged_and_the_link_goes_on(
    broker: FakeBroker, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    broker.subscribe_fails = True
    caplog.set_level(logging.WARNING, publisher.__name__)

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(1))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        link.subscribe_more(("a/b", "c/d"))
        await _until(lambda: "subscribe_failed" in caplog.text, task)
        await _until(lambda: link.stats.published == 1, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert 'event=subscribe_failed topics=2 reason="SUBACK: Not authorized"' in caplog.messages
    assert link.stats.connects == 1 and link.stats.losses == 0


# ---- the broker's packet limit, and a clean stop


def test_the_connacks_limit_is_learnt_per_v5_link_and_kept_while_down(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.max_packet_size = 300

    async def scenario() -> tuple[Publisher, list[int | None]]:
        await outbox.put_many([*_messages(1), OutboundMessage(TOPIC, b"x" * 400), *_messages(1)])
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 2, task)
        seen = [link.stats.connack_max_packet]
        broker.max_packet_size = None
        broker.links[0].drop(LinkLostError("reset"))
        await _until(lambda: link.stats.losses == 1, task)
        seen.append(link.stats.connack_max_packet)  # kept while the link is down
        await _until(lambda: link.stats.connects == 2, task)
        seen.append(link.stats.connack_max_packet)  # none stated any more
        await _until_pending(outbox, 0, task)
        await _stop(task)
        return link, seen

    link, seen = _run(scenario())
    assert seen == [300, 300, None]
    # Held on the link that stated 300 bytes, sent on the one that stated none.
    assert link.stats.too_large == 1
    assert [m.payload for m in broker.links[0].published] == [b"0", b"0"]
    assert b"x" * 400 in [m.payload for m in broker.links[1].published]
    assert link.packet_limit() is None


def test_a_311_link_keeps_the_limit_last_learnt(broker: FakeBroker, outbox: Outbox) -> None:
    broker.max_packet_size = 500

    async def scenario() -> Publisher:
        link = _make(outbox, protocol="3.1.1", max_packet_bytes=4000)
        link.stats.connack_max_packet = 900
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.connack_max_packet == 900
    limit = link.packet_limit()
    assert limit is not None and limit.bytes == 900


def test_a_clean_stop_says_offline_then_disconnects(broker: FakeBroker, outbox: Outbox) -> None:
    async def scenario() -> None:
        link = _make(outbox, OFFLINE)
        link.set_state(STATUS)
        task = asyncio.create_task(link.run())
        await _until(lambda: bool(broker.links) and len(broker.links[0].published) == 1, task)
        await _stop(task)

    _run(scenario())
    assert [m.payload for m in broker.links[0].published] == [b"online", b"offline"]
    assert broker.links[0].disconnected


def test_a_stop_on_a_closed_link_sends_nothing(broker: FakeBroker, outbox: Outbox) -> None:
    async def scenario() -> None:
        link = _make(outbox, OFFLINE)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        broker.links[0].closed.set()  # gone, its loss not yet seen by the drain
        await _stop(task)

    _run(scenario())
    assert broker.links[0].published == []


def test_a_stop_without_an_offline_message_still_disconnects(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> None:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)

    _run(scenario())
    assert broker.links[0].published == [] and broker.links[0].disconnected


def test_a_goodbye_the_broker_refuses_or_a_failing_disconnect_still_stops_cleanly(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.errors[b"offline"] = [PublishError("PUBACK: Not authorized")]
    broker.disconnect_error = OSError("socket already closed")

    async def scenario() -> asyncio.Task[None]:
        link = _make(outbox, OFFLINE)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await _stop(task)
        return task

    task = _run(scenario())
    assert task.cancelled()  # cancelled, not ended by the goodbye's errors
    assert [m.payload for m in broker.links[0].published] == [b"offline"]
    assert broker.links[0].disconnected


def test_a_goodbye_without_a_puback_gives_up_after_2_s(broker: FakeBroker, outbox: Outbox) -> None:
    broker.held = {b"offline"}

    async def scenario() -> float:
        link = _make(outbox, OFFLINE)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _stop(task)
        assert task.cancelled()
        return loop.time() - started

    took = _run(scenario())
    assert 2.0 <= took < 2.8 and broker.links[0].disconnected


# ---- the drain: idle links, outstanding PUBACKs, the poll behind the outbox's signal


def test_a_publish_waits_30_s_for_its_puback_unless_told(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        await outbox.put_many(_messages(1))
        link = Publisher(_settings(), outbox, rng=RNG)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.stats.published == 1, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert broker.links[0].timeouts == [30.0]
    assert link.inbox.maxsize == 10_000  # acks and commands held at most; a flood stays bounded


def test_every_link_hands_what_it_receives_to_the_one_inbox(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        broker.links[0].drop(LinkLostError("reset"))
        await _until(lambda: len(broker.links) == 2, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert [li.messages for li in broker.links] == [link.inbox, link.inbox]
    assert broker.links[0].messages is link.inbox and broker.links[1].messages is link.inbox


def test_an_idle_link_stays_up_and_takes_what_is_stored_later(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        await asyncio.sleep(0.05)
        await outbox.put_many(_messages(2))
        await _until(lambda: link.stats.published == 2, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert (link.stats.connects, link.stats.losses, len(broker.attempts)) == (1, 0, 1)


def test_a_message_stored_without_the_signal_still_goes_within_a_second(
    broker: FakeBroker, outbox: Outbox
) -> None:
    # The drain waits on the outbox's `changed` event, and polls each second behind it.
    async def scenario() -> float:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        outbox.changed.set()  # the drain wakes, finds nothing, waits afresh
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await outbox._call(outbox.store.put_many, _messages(1))  # `changed` left unset
        await _until(lambda: link.stats.published == 1, task)
        took = loop.time() - started
        await _stop(task)
        return took

    took = _run(scenario())
    assert 0.5 < took < 1.5


def test_puback_waits_cut_by_a_lost_link_are_sent_again_on_the_next(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.held = {b"0", b"1"}  # never answered on the first link

    async def scenario() -> Publisher:
        await outbox.put_many(_messages(3))
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: bool(broker.links) and len(broker.links[0].published) == 3, task)
        broker.held = set()
        broker.links[0].drop(LinkLostError("reset"))
        await _until_pending(outbox, 0, task)
        await _stop(task)
        return link

    link = _run(scenario())
    assert [m.payload for m in broker.links[1].published] == [b"0", b"1"]
    assert link.stats.published == 3 and link.stats.losses == 1


def test_a_large_message_the_broker_refuses_is_not_suspected_of_its_size(
    broker: FakeBroker, outbox: Outbox
) -> None:
    big = OutboundMessage(TOPIC, b"x" * 20_000, recording_id="rec-big")
    broker.errors[big.payload] = [PublishError("PUBACK: Not authorized (0x87)")] * 2

    async def scenario() -> Publisher:
        await outbox.put_many([big])
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        for number in (1, 2):
            await _until(lambda n=number: link.stats.publish_failures == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset"), after_s=40.0)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
        await _stop(task)
        return link

    link = _run(scenario())
    assert link.stats.packet_alarm is None  # refused by reason, not lost with the link


def test_a_state_or_subscription_sent_at_once_is_held_until_it_finishes(
    broker: FakeBroker, outbox: Outbox
) -> None:
    broker.held = {b"online"}

    async def scenario() -> None:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        link.set_state(STATUS)
        link.subscribe_more(("stetho/v1/home-1/steth-3/cmd",))
        assert len(link._state_sends) == 2
        assert all(isinstance(t, asyncio.Task) for t in link._state_sends)
        await _until(lambda: len(link._state_sends) == 1, task)  # the SUBSCRIBE is done
        broker.release.set()
        await _until(lambda: not link._state_sends, task)
        await _stop(task)

    _run(scenario())


def test_a_failing_state_send_is_dropped_quietly(broker: FakeBroker, outbox: Outbox) -> None:
    async def scenario() -> Publisher:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        broker.errors[b"online"] = [PublishError("PUBACK: Not authorized")]
        link.set_state(STATUS)
        await _until(lambda: not link._state_sends, task)
        await _stop(task)
        return link

    link = _run(scenario())  # nothing logged by the loop: the error did not escape
    assert link.stats.losses == 0


def test_live_audio_is_the_message_given(broker: FakeBroker, outbox: Outbox) -> None:
    chunk = OutboundMessage("stetho/v1/home-1/steth-1/live", b"pcm", qos=0)

    async def scenario() -> None:
        link = _make(outbox)
        task = asyncio.create_task(link.run())
        await _until(lambda: link.connected.is_set(), task)
        assert link.send_volatile(chunk)
        await _stop(task)

    _run(scenario())
    assert broker.links[0].volatile == [chunk]


def test_a_subscription_added_before_the_link_is_up_waits_for_it(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> FakeLink:
        link = _make(outbox)
        fake = FakeLink(_settings(), broker)
        link.connection = fake  # type: ignore[assignment]
        link.subscribe_more(("stetho/v1/home-1/steth-4/cmd",))
        await asyncio.sleep(0.01)
        return fake

    fake = _run(scenario())
    assert fake.subscribed == []


def test_a_link_that_held_exactly_stable_s_is_no_failure_on_its_broker(
    broker: FakeBroker, outbox: Outbox
) -> None:
    async def scenario() -> None:
        link = _make(outbox, failover=(("broker-b", 1883),), failback_s=60.0)
        task = asyncio.create_task(link.run())
        for number, lived_s in enumerate((30.0, 1.0, 1.0), start=1):
            await _until(lambda n=number: len(broker.links) == n, task)  # type: ignore[misc]
            broker.links[-1].drop(LinkLostError("reset"), after_s=lived_s)
            await _until(lambda n=number: link.stats.losses == n, task)  # type: ignore[misc]
        await _until(lambda: len(broker.attempts) == 4, task)
        await _stop(task)

    _run(scenario())
    # Two failures here after one that held: the third would move to broker-b.
    assert broker.attempts == [("broker-a", 8883)] * 4


def test_the_configured_limit_counts_without_a_connack(outbox: Outbox) -> None:
    link = _make(outbox, max_packet_bytes=65_536)
    limit = link.packet_limit()
    assert limit is not None and (limit.bytes, limit.configured) == (65_536, True)
