"""The publisher: keeps a broker connection and drains the outbox through it, in order.

A message is marked sent only after its PUBACK. When the link drops, everything not
acknowledged is published again on the next connection (at-least-once; subscribers
deduplicate by recording_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from dataclasses import dataclass

from edge_agent.errors import (
    ConnectError,
    LinkLostError,
    OutboxError,
    PubackTimeoutError,
    PublishError,
)
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, StoredMessage
from edge_agent.transport.failover import HostRotation
from edge_agent.transport.link_errors import link_alarm
from edge_agent.transport.mqtt import MqttConnection, MqttSettings, ReceivedMessage
from edge_agent.transport.oversize import OversizeGuard
from edge_agent.transport.packet_size import PacketLimit, packet_limit
from edge_agent.transport.sent_marker import SentMarker
from stetho_common import persistent_delay, quote

log = logging.getLogger(__name__)
# A link that held this long was a real connection: the next loss starts the backoff afresh.
STABLE_S = 30.0


@dataclass
class PublisherStats:
    published: int = 0
    connects: int = 0
    connect_failures: int = 0
    publish_failures: int = 0
    connected: bool = False
    last_error: str = ""
    losses: int = 0  # accepted connections that ended, each followed by a backoff delay
    alarm: str | None = None  # a link problem the operator must act on (a cloned client id)
    short_links: int = 0  # accepted connections in a row that ended before `stable_s`
    too_large: int = 0  # messages skipped: over CONNACK's limit or broker.max_packet_bytes
    packet_alarm: str | None = None
    connack_max_packet: int | None = None  # the last v5 CONNACK's Maximum Packet Size


class Publisher:
    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        offline_message: OutboundMessage | None = None,
        rng: random.Random | None = None,
        stable_s: float = STABLE_S,
        puback_timeout_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.stats = PublisherStats()
        self.connected = asyncio.Event()
        self.connection: MqttConnection | None = None
        self._offline_message = offline_message
        self._state: dict[str, OutboundMessage] = {}
        self._rng = rng
        self.stable_s = stable_s
        self.puback_timeout_s = puback_timeout_s
        self.hosts = HostRotation(((settings.host, settings.port), *settings.failover))
        self._failing_back = False
        # Messages on our subscriptions (acks, commands), from whichever connection is up.
        self.inbox: asyncio.Queue[ReceivedMessage] = asyncio.Queue(maxsize=10000)
        # The loop keeps only weak references to tasks: hold state sends until they finish.
        self._state_sends: set[asyncio.Task[None]] = set()
        self._oversize = OversizeGuard(self.stats)

    def packet_limit(self) -> PacketLimit | None:
        """The broker's limit as last known: the last v5 CONNACK's (kept while the link is
        down, so captures are checked against it) and broker.max_packet_bytes."""
        return packet_limit(self.stats.connack_max_packet, self.settings.max_packet_bytes)

    def set_state(self, message: OutboundMessage) -> None:
        """Retained state (availability): sent now if connected, and again after each connect."""
        self._state[message.topic] = message
        if self.connection is not None and self.connected.is_set():
            task = asyncio.get_running_loop().create_task(
                self._send_state(self.connection, message)
            )
            self._state_sends.add(task)
            task.add_done_callback(self._state_sends.discard)

    def send_volatile(self, message: OutboundMessage) -> bool:
        """Send a QoS 0 message now if connected (live audio); False when it was dropped."""
        connection = self.connection
        if connection is None or not self.connected.is_set():
            return False
        return connection.publish_nowait(message)

    def subscribe_more(self, topics: tuple[str, ...]) -> None:
        """Add subscriptions while running (a stethoscope paired after the start): kept for
        every later connection, and asked for now on the current one."""
        new = tuple(t for t in topics if t not in self.settings.subscriptions)
        if not new:
            return
        subscriptions = (*self.settings.subscriptions, *new)
        self.settings = dataclasses.replace(self.settings, subscriptions=subscriptions)
        if self.connection is not None and self.connected.is_set():
            self._subscribe_soon(self.connection, new)

    def _subscribe_soon(self, connection: MqttConnection, topics: tuple[str, ...]) -> None:
        task = asyncio.get_running_loop().create_task(self._subscribe(connection, topics))
        self._state_sends.add(task)
        task.add_done_callback(self._state_sends.discard)

    async def _subscribe(self, connection: MqttConnection, topics: tuple[str, ...]) -> None:
        try:
            await connection.subscribe(list(topics))
        except PublishError as exc:  # refused or timed out: the next connection asks again
            log.warning("event=subscribe_failed topics=%d reason=%s", len(topics), quote(exc))

    async def _send_state(self, connection: MqttConnection, message: OutboundMessage) -> None:
        with contextlib.suppress(PublishError):
            await connection.publish(message)

    async def run(self) -> None:
        """Connect, drain, reconnect with backoff; forever, until cancelled.

        Every end of a link waits before the next attempt, a failed connect as much as an
        accepted connection the broker then dropped: a broker that accepts and kicks us at once
        (a denied certificate, a cloned client id) must not get a reconnect storm (issue 18).
        """
        attempt = 0
        while True:
            settings = self._endpoint_settings()
            connection = MqttConnection(settings, self.inbox)
            try:
                await connection.connect()
            except ConnectError as exc:
                self.stats.connect_failures += 1
                self.stats.last_error = str(exc)
                delay = persistent_delay(attempt, exc, rng=self._rng)
                log.warning(
                    "event=broker_connect_failed host=%s error=%s retry_in_s=%.1f",
                    quote(settings.host),
                    quote(exc),
                    delay,
                )
                attempt = 0 if self._rotate() else attempt + 1
                await asyncio.sleep(delay)
                continue
            started = time.monotonic()
            loss = await self._serve(connection)
            self._oversize.link_ended(connection)
            if time.monotonic() - started >= self.stable_s:
                attempt = 0  # a link that held starts the backoff afresh
                self.stats.short_links = 0
                self.hosts.held()
            else:
                self.stats.short_links += 1
            delay = persistent_delay(attempt, loss, rng=self._rng)
            attempt += 1
            if self._failing_back:  # we ended it to return to the first broker: go at once
                self._failing_back = False
                self.hosts.back_to_primary()
                attempt, delay = 0, 0.0
            elif started + self.stable_s > time.monotonic() and self._rotate():
                attempt = 0
            self._note_loss(loss, delay)
            await asyncio.sleep(delay)

    def _endpoint_settings(self) -> MqttSettings:
        host, port = self.hosts.current
        if (host, port) == (self.settings.host, self.settings.port):
            return self.settings
        return dataclasses.replace(self.settings, host=host, port=port)

    def _rotate(self) -> bool:
        """A failure on the current broker; True (and logged) when we moved to the next."""
        before = self.hosts.current
        if not self.hosts.failed():
            return False
        after = self.hosts.current
        log.warning(
            "event=broker_failover from=%s to=%s",
            quote(f"{before[0]}:{before[1]}"),
            quote(f"{after[0]}:{after[1]}"),
        )
        return True

    async def _fail_back(self, connection: MqttConnection) -> None:
        """On a failover broker: after `failback_s`, end the link cleanly and try the first."""
        await asyncio.sleep(self.settings.failback_s)
        self._failing_back = True
        log.info("event=broker_failback to=%s", quote(self.hosts.endpoints[0][0]))
        await connection.disconnect()

    def _note_loss(self, loss: LinkLostError, delay: float) -> None:
        self.stats.losses += 1
        self.stats.last_error = str(loss)
        log.warning(
            "event=broker_disconnected reason=%s retry_in_s=%.1f", quote(loss.reason), delay
        )
        alarm = link_alarm(loss, self.stats.short_links, self.settings.client_id)
        if alarm is not None and alarm != self.stats.alarm:
            self.stats.alarm = alarm
            log.error(
                "event=client_id_taken_over client_id=%s alarm=%s",
                quote(self.settings.client_id),
                quote(alarm),
            )

    async def _serve(self, connection: MqttConnection) -> LinkLostError:
        """Use one accepted connection until it ends; return why it ended."""
        self.stats.connects += 1
        self.connection = connection
        self.connected.set()
        self.stats.connected = True
        self.stats.last_error = ""  # the link is back: an old error would mislead the operator
        if connection.settings.v5:  # a limit learnt afresh, or none stated any more
            self.stats.connack_max_packet = connection.max_packet_size
        self._oversize.new_link()
        self._note_subscriptions(connection)
        # Subscriptions added while this connection was being set up.
        late = tuple(t for t in self.settings.subscriptions
                     if t not in connection.settings.subscriptions)  # fmt: skip
        if late:
            self._subscribe_soon(connection, late)
        log.info(
            "event=broker_connected host=%s port=%d",
            quote(connection.settings.host),
            connection.settings.port,
        )
        clear_alarm = asyncio.get_running_loop().call_later(self.stable_s, self._clear_link_alarm)
        failback = (
            None
            if self.hosts.on_primary
            else asyncio.create_task(self._fail_back(connection), name="failback")
        )
        try:
            for message in list(self._state.values()):
                await connection.publish(message)
            await self._drain(connection)
        except PublishError as exc:
            self.stats.last_error = str(exc)
        except OutboxError as exc:  # the disk failed under the drain: drop the link, back off
            log.error("event=outbox_read_failed error=%s", quote(exc))
            connection.loss = LinkLostError(f"outbox read failed: {exc}")
        except asyncio.CancelledError:
            await self._say_goodbye(connection)
            raise
        finally:
            clear_alarm.cancel()
            if failback is not None:
                failback.cancel()
            self.connected.clear()
            self.stats.connected = False
            self.connection = None
            connection.close()
        return connection.loss or LinkLostError("closed")

    def _note_subscriptions(self, connection: MqttConnection) -> None:
        if connection.refused_subscriptions:
            self.stats.alarm = f"subscription refused: {connection.refused_subscriptions}"
            log.error(
                "event=subscription_refused reason=%s", quote(connection.refused_subscriptions)
            )

    def _clear_link_alarm(self) -> None:
        """A link that held this long is ours again: the takeover alarm is over."""
        if self.stats.alarm is not None and not self.stats.alarm.startswith("subscription"):
            self.stats.alarm = None
            log.info("event=link_alarm_cleared")

    async def _say_goodbye(self, connection: MqttConnection) -> None:
        """On a clean shutdown the retained status says offline before we disconnect."""
        if self._offline_message is not None and not connection.closed.is_set():
            with contextlib.suppress(PublishError, TimeoutError):
                async with asyncio.timeout(2):
                    await connection.publish(self._offline_message)
        with contextlib.suppress(Exception):
            await connection.disconnect()

    async def _drain(self, connection: MqttConnection) -> None:
        window = asyncio.Semaphore(self.settings.max_inflight)
        tasks: set[asyncio.Task[None]] = set()
        marker = SentMarker(self.outbox)
        dispatched = 0
        try:
            while not connection.closed.is_set():
                self.outbox.changed.clear()
                batch = await self.outbox.pending(self.settings.max_inflight, dispatched)
                if not batch:
                    self._oversize.caught_up(connection)
                    await _first_of(self.outbox.changed, connection.closed, timeout_s=1.0)
                    continue
                for item in batch:
                    dispatched = item.seq
                    if self._oversize.too_large(connection, item):
                        continue  # kept in the outbox; the alarm says why and what to change
                    await window.acquire()
                    if connection.closed.is_set():
                        window.release()
                        break
                    task = asyncio.create_task(self._send(connection, item, window, marker))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await marker.close()  # PUBACKs already received are recorded, even on shutdown

    async def _send(
        self,
        connection: MqttConnection,
        item: StoredMessage,
        window: asyncio.Semaphore,
        marker: SentMarker,
    ) -> None:
        self._oversize.sending(connection, item)
        try:
            await connection.publish(item.message, self.puback_timeout_s)
            self._oversize.delivered(item.seq)
            marker.add(item.seq)
            self.stats.published += 1
        except LinkLostError:
            pass  # the whole link ended: logged once, as event=broker_disconnected
        except PubackTimeoutError as exc:
            if connection.settings.v5:  # a v5 PUBACK can refuse: silence is only a slow broker
                self._publish_failed(item, exc)
            elif connection.loss is None:  # 3.1.1: the link is broken; its loss is logged
                connection.loss = LinkLostError(str(exc))
                connection.close()
        except PublishError as exc:
            self._publish_failed(item, exc)
        finally:
            window.release()

    def _publish_failed(self, item: StoredMessage, exc: PublishError) -> None:
        self._oversize.failed(item.seq)
        self.stats.publish_failures += 1
        log.warning(
            "event=publish_failed seq=%d topic=%s recording=%s error=%r kept_in_outbox=1",
            item.seq,
            item.message.topic,
            item.message.recording_id,
            str(exc),
        )


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout_s: float) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
