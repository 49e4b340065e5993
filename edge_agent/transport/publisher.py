"""The publisher: keeps a broker connection and drains the outbox through it, in order.

A message is marked sent only after its PUBACK. When the link drops, everything not
acknowledged is published again on the next connection (at-least-once; subscribers
deduplicate by recording_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from edge_agent.errors import ConnectError, OutboxError, PublishError
from edge_agent.storage.outbox import OutboundMessage, Outbox, StoredMessage
from edge_agent.transport.mqtt import MqttConnection, MqttSettings, ReceivedMessage
from stetho_common import MAX_DELAY_S, next_delay

log = logging.getLogger(__name__)


@dataclass
class PublisherStats:
    published: int = 0
    connects: int = 0
    connect_failures: int = 0
    publish_failures: int = 0
    connected: bool = False
    last_error: str = ""


class Publisher:
    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        offline_message: OutboundMessage | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.stats = PublisherStats()
        self.connected = asyncio.Event()
        self.connection: MqttConnection | None = None
        self._offline_message = offline_message
        self._state: dict[str, OutboundMessage] = {}
        self._rng = rng
        # Messages on our subscriptions (acks, commands), from whichever connection is up.
        self.inbox: asyncio.Queue[ReceivedMessage] = asyncio.Queue(maxsize=10000)
        # The loop keeps only weak references to tasks: hold state sends until they finish.
        self._state_sends: set[asyncio.Task[None]] = set()

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

    async def _send_state(self, connection: MqttConnection, message: OutboundMessage) -> None:
        with contextlib.suppress(PublishError):
            await connection.publish(message)

    async def run(self) -> None:
        """Connect, drain, reconnect with backoff; forever, until cancelled."""
        attempt = 0
        while True:
            connection = MqttConnection(self.settings, self.inbox)
            try:
                await connection.connect()
            except ConnectError as exc:
                self.stats.connect_failures += 1
                self.stats.last_error = str(exc)
                delay = next_delay(attempt, exc, rng=self._rng) or MAX_DELAY_S
                log.warning("event=broker_connect_failed error=%r retry_in_s=%.1f", str(exc), delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            attempt = 0
            await self._serve(connection)

    async def _serve(self, connection: MqttConnection) -> None:
        self.stats.connects += 1
        self.connection = connection
        self.connected.set()
        self.stats.connected = True
        self.stats.last_error = ""  # the link is back: an old error would mislead the operator
        log.info("event=broker_connected host=%s port=%d", self.settings.host, self.settings.port)
        try:
            for message in list(self._state.values()):
                await connection.publish(message)
            await self._drain(connection)
        except PublishError as exc:
            self.stats.last_error = str(exc)
        except asyncio.CancelledError:
            await self._say_goodbye(connection)
            raise
        finally:
            self.connected.clear()
            self.stats.connected = False
            self.connection = None
            connection.close()
        log.warning("event=broker_disconnected reason=%r", connection.close_reason)

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
                    await _first_of(self.outbox.changed, connection.closed, timeout_s=1.0)
                    continue
                for item in batch:
                    await window.acquire()
                    if connection.closed.is_set():
                        window.release()
                        break
                    task = asyncio.create_task(self._send(connection, item, window, marker))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    dispatched = item.seq
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
        try:
            await connection.publish(item.message)
            marker.add(item.seq)
            self.stats.published += 1
        except PublishError as exc:
            self.stats.publish_failures += 1
            log.warning(
                "event=publish_failed seq=%d topic=%s recording=%s error=%r kept_in_outbox=1",
                item.seq,
                item.message.topic,
                item.message.recording_id,
                str(exc),
            )
        finally:
            window.release()


class SentMarker:
    """Group commit of PUBACKs: one transaction (one fsync) per batch, not per message.

    PUBACKs that arrive while a batch is being written join the next one. A PUBACK not yet
    recorded when the process dies only means the message is sent again (a duplicate).
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._waiting: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, seq: int) -> None:
        self._waiting.append(seq)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.flush())

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._outbox.mark_sent_many(batch)
            except OutboxError as exc:
                log.error("event=mark_sent_failed count=%d error=%r", len(batch), str(exc))
                return


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout_s: float) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
