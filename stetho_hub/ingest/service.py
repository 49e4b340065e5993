"""The ingest service: subscribe, store durably, then acknowledge; send receipts.

One root coroutine per hub process. For each broker connection (MQTT v5, persistent
session, manual acknowledgement) it consumes messages in arrival order: parse, store in
the storage thread (committed and fsync'd), then PUBACK. A crash before the PUBACK makes
the broker deliver the message again, which the archive absorbs (idempotent on ids), so
nothing is lost and nothing is stored twice. Receipts go out from a second task, and are
marked sent only after the broker's PUBACK; whatever was not marked is sent again on the
next connection.

With several brokers in `[broker] hosts` the hub follows the agent's own policy
(edge_agent.transport.failover.HostRotation): the next address after three failures in a
row (failed connects or links that died young), back to the first every `failback_s`. A
broker the hub left keeps its persistent session, so what it queued is taken on return.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from edge_agent.errors import ConnectError, PublishError
from edge_agent.transport.failover import HostRotation
from edge_agent.transport.mqtt import MqttConnection, MqttSettings, ReceivedMessage
from edge_agent.transport.publisher import STABLE_S
from stetho_common import persistent_delay, quote
from stetho_hub import wire
from stetho_hub.errors import MalformedMessageError, SchemaVersionError, StorageUnavailableError
from stetho_hub.ingest.receipts import receipt_message
from stetho_hub.storage import Archive, ArchivedRecording, StorageOutage, StoreOutcome

log = logging.getLogger(__name__)
_T = TypeVar("_T")
INGEST_BATCH = 64  # messages stored per transaction (one commit fsync) when they queue up
RECEIPT_BATCH = 50  # receipts in flight at once; bounded by the broker's receive maximum too
RECEIPT_RESCAN_S = 60.0  # look for unsent receipts this often, whatever the queue says
LOG_FIRST_REFUSALS = 20  # then every 1000th, so a flood cannot fill the journal


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    archived: int = 0
    receipts_sent: int = 0
    acknowledged: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


class IngestService:
    """Runs until cancelled; `archive` is only ever touched from the storage thread."""

    def __init__(
        self, settings: MqttSettings, archive: Archive, hub_id: str, stable_s: float = STABLE_S
    ) -> None:
        self.settings = settings
        self.hosts = HostRotation(((settings.host, settings.port), *settings.failover))
        self.stable_s = stable_s  # a link shorter than this counts as a failure of its broker
        self.archive = archive
        self.hub_id = hub_id
        self.stats = IngestStats()
        self.connected = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-storage")
        self._receipts: asyncio.Queue[ArchivedRecording] = asyncio.Queue()

    async def _storage(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run(self) -> None:
        attempt = 0
        try:
            while True:
                connection = MqttConnection(self._endpoint_settings())
                try:
                    await connection.connect()
                except ConnectError as exc:
                    # The hub never gives up on the broker: it keeps nothing the broker doesn't.
                    delay = persistent_delay(attempt, exc)
                    log.warning(
                        "event=broker_unreachable broker=%s:%d error=%r retry_in_s=%.1f",
                        *self.hosts.current, str(exc), delay,
                    )  # fmt: skip
                    attempt = 0 if self._rotate() else attempt + 1
                    await asyncio.sleep(delay)
                    continue
                started = time.monotonic()
                if await self._serve(connection):  # left a failover broker on purpose
                    self.hosts.back_to_primary()
                    attempt = 0
                elif time.monotonic() - started >= self.stable_s:
                    self.hosts.held()  # a link that held: reconnect at once, backoff afresh
                    attempt = 0
                else:  # accepted, then dropped young: a failure of this broker, and no storm
                    delay = persistent_delay(attempt, None)
                    attempt = 0 if self._rotate() else attempt + 1
                    await asyncio.sleep(delay)
        finally:
            await self._commits_done()

    async def _commits_done(self) -> None:
        """A commit in progress completes; waited for off the loop, which a slow disk would hold
        (a stop cancelled again while waiting waits on the loop, as it must still wait)."""
        try:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
        except asyncio.CancelledError:
            self._executor.shutdown(wait=True)
            raise

    def _endpoint_settings(self) -> MqttSettings:
        host, port = self.hosts.current
        return dataclasses.replace(self.settings, host=host, port=port)

    def _rotate(self) -> bool:
        """A failure on the current broker; True (and logged) when the hub moved on."""
        before = self.hosts.current
        if not self.hosts.failed():
            return False
        log.warning(
            "event=broker_failover from=%s:%d to=%s:%d", *before, *self.hosts.current
        )  # fmt: skip
        return True

    async def _serve(self, connection: MqttConnection) -> bool:
        """Use one connection until it ends; True when it ended to go back to the first broker."""
        s = connection.settings
        log.info(
            "event=hub_connected broker=%s:%d client_id=%s filters=%d",
            s.host, s.port, s.client_id, len(s.subscriptions),
        )  # fmt: skip
        self.connected.set()
        failing_back = False
        try:
            async with asyncio.TaskGroup() as group:
                consumer = group.create_task(self._consume(connection))
                sender = group.create_task(self._send_receipts(connection))
                if self.hosts.on_primary:
                    await connection.closed.wait()
                else:
                    closed = group.create_task(connection.closed.wait())
                    done, _ = await asyncio.wait(
                        (closed,), timeout=self.settings.failback_s
                    )  # fmt: skip
                    failing_back = not done
                    closed.cancel()
                consumer.cancel()
                sender.cancel()
        except* PublishError as errors:
            log.warning("event=receipt_send_failed error=%r", str(errors.exceptions[0]))
        finally:
            self.connected.clear()
            if not connection.closed.is_set():
                # Stopping (SIGTERM), or failing back: DISCONNECT goes out after the PUBACKs
                # paho still holds, so what we stored is not delivered again.
                await connection.disconnect()
            connection.close()
        if failing_back:
            log.info("event=broker_failback to=%s:%d", *self.hosts.endpoints[0])
        else:
            log.warning("event=broker_connection_lost reason=%s", connection.close_reason)
        return failing_back

    async def _consume(self, connection: MqttConnection) -> None:
        inbox = connection.messages
        while True:
            batch = [await inbox.get()]
            while len(batch) < INGEST_BATCH and not inbox.empty():
                batch.append(inbox.get_nowait())
            verdicts = await self._handle(connection, batch)
            for message, may_ack in zip(batch, verdicts, strict=True):
                if may_ack and connection.ack(message):  # in arrival order (MQTT v5 §4.6)
                    self.stats.acknowledged += 1

    async def _handle(self, connection: MqttConnection, batch: list[ReceivedMessage]) -> list[bool]:
        """Store a batch; for each message, True when it may be acknowledged (stored or
        refused), False to leave it with the broker."""
        items: list[wire.Incoming | None] = []
        for message in batch:
            try:
                items.append(wire.classify(
                    message.topic, message.payload, message.user_properties, message.content_type
                ))  # fmt: skip
            except MalformedMessageError as exc:
                await self._refuse(exc.reason, exc.detail, message.topic)
                items.append(None)
        valid = [item for item in items if item is not None]
        outcomes = iter(await self._store(connection, valid) if valid else [])
        verdicts = []
        for message, item in zip(batch, items, strict=True):
            outcome = next(outcomes) if item is not None else None
            if item is not None and outcome is not None:
                await self._account(outcome, message.topic)
            verdicts.append(item is None or outcome is not None)
        return verdicts

    async def _store(
        self, connection: MqttConnection, items: list[wire.Incoming]
    ) -> list[StoreOutcome | None]:
        """Store `items`, retrying while the database is down; None where an item must stay
        unacknowledged."""
        outage = StorageOutage("ingest")
        while not connection.closed.is_set():
            try:
                stored = await self._storage(self.archive.store_batch, items)
                return list(stored)
            except StorageUnavailableError as exc:
                await outage.wait(exc)
            except SchemaVersionError:
                raise  # a reconnection found the database changed: stop, as a start would
            except Exception:
                if len(items) > 1:  # find the one item that fails; store the others
                    return [(await self._store(connection, [item]))[0] for item in items]
                # A bug of ours, not the sender's: keep the message (unacknowledged, so a fixed
                # hub stores it after a restart) and go on with the others.
                log.exception("event=store_failed kind=%s", type(items[0]).__name__)
                return [None]
        return [None] * len(items)

    async def _account(self, outcome: StoreOutcome, topic: str) -> None:
        if outcome.problem is not None:
            await self._refuse(outcome.problem, "", topic)
        elif outcome.new:
            self.stats.stored += 1
        else:
            self.stats.duplicates += 1
        archived = outcome.archived
        if archived is None:
            return
        if outcome.new:
            self.stats.archived += 1
            log.info(
                "event=recording_archived recording=%s site=%s sha256=%s",
                archived.recording_id, archived.site, archived.audio_sha256,
            )  # fmt: skip
        self._receipts.put_nowait(archived)

    async def _refuse(self, reason: str, detail: str, topic: str) -> None:
        self.stats.refused[reason] += 1
        total = self.stats.refused_total
        if total <= LOG_FIRST_REFUSALS or total % 1000 == 0:
            log.warning(
                "event=message_refused reason=%s detail=%r topic=%s refused_total=%d",
                reason, detail, quote(topic[:200]), total,  # a topic may hold a newline
            )  # fmt: skip
        try:
            await self._storage(self.archive.count_refusal, reason, topic)
        except StorageUnavailableError as exc:  # counted in memory; never loop on bad input
            log.error("event=refusal_not_counted error=%r", str(exc))

    async def _send_receipts(self, connection: MqttConnection) -> None:
        # Receipts left unsent by an earlier connection or process come first.
        batch = await self._pending_receipts()
        outage = StorageOutage("receipts")
        while True:
            if batch:
                try:
                    await self._send_batch(connection, batch)
                    outage.ended()
                except StorageUnavailableError as exc:
                    # Left unmarked, so sent again later: a duplicate receipt is harmless.
                    await outage.wait(exc)
            batch = await self._next_receipts()

    async def _send_batch(self, connection: MqttConnection, batch: list[ArchivedRecording]) -> None:
        messages = [receipt_message(a, self.hub_id) for a in batch]
        await asyncio.gather(*(connection.publish(m) for m in messages))
        ids = list(dict.fromkeys(a.recording_id for a in batch))
        await self._storage(self.archive.mark_receipts_sent, ids)
        self.stats.receipts_sent += len(ids)
        log.debug("event=receipts_sent count=%d", len(ids))

    async def _pending_receipts(self) -> list[ArchivedRecording]:
        """The database's unsent receipts, asked again while it is down: a database restart
        as the broker link (re)opens, or at a rescan, must not stop the hub."""
        outage = StorageOutage("receipts")
        while True:
            try:
                return await self._storage(self.archive.pending_receipts, RECEIPT_BATCH)
            except StorageUnavailableError as exc:
                await outage.wait(exc)

    async def _next_receipts(self) -> list[ArchivedRecording]:
        """Queued receipts; after RECEIPT_RESCAN_S without any, the database's unsent ones
        (a receipt whose connection was lost before it was marked sent is found there)."""
        try:
            async with asyncio.timeout(RECEIPT_RESCAN_S):
                first = await self._receipts.get()
        except TimeoutError:
            return await self._pending_receipts()
        batch = [first]
        while len(batch) < RECEIPT_BATCH and not self._receipts.empty():
            batch.append(self._receipts.get_nowait())
        return batch
