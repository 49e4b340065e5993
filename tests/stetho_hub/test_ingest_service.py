"""The ingest service against a fake broker link and a real SQLite archive: no broker.

What a hospital relies on: a message is acknowledged only once what it carried is stored
(or refused for good), a store that fails leaves it with the broker, and every archived
recording is receipted to its own care home, again on each re-delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import types
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.errors import ConnectError, PublishError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings, ReceivedMessage
from edge_agent.wire import messages
from stetho_hub import wire
from stetho_hub.errors import MalformedMessageError, SchemaVersionError, StorageUnavailableError
from stetho_hub.ingest import IngestService, receipt_message, service
from stetho_hub.storage import (
    Archive,
    ArchivedRecording,
    AudioStore,
    DatabaseTarget,
    StoreOutcome,
    open_database,
    outage,
    summary,
)
from stetho_hub.storage import migrate as migrate_database
from stetho_testkit import poll
from stetho_testkit.hub.factory import WireRecording, make_recording
from stetho_testkit.hub.harness import sha256
from tests.stetho_hub.test_archive_edges import same_size_other_sound

FLAC = "audio/flac"
JSON = "application/json"


class FakeBroker:
    """Hands the service one FakeLink per connect, as a broker accepting or refusing it."""

    def __init__(self) -> None:
        self.links: list[FakeLink] = []
        self.attempts: list[tuple[str, int]] = []
        self.refuse = 0  # refuse this many connects first
        self.refuse_at: set[int] = set()  # and these connects (0 = the first)
        self.delays: list[tuple[int, type[BaseException] | None]] = []  # (attempt, error) asked
        self.publish_fails = False
        self.connected = asyncio.Event()

    def link(self, settings: MqttSettings) -> FakeLink:
        return FakeLink(settings, self)

    async def next_link(self, count: int) -> FakeLink:
        await eventually(lambda: len(self.links) >= count)
        return self.links[count - 1]


class FakeLink:
    """MqttConnection's face to the hub (connect, messages, ack, publish, close), no socket."""

    def __init__(self, settings: MqttSettings, broker: FakeBroker) -> None:
        self.settings = settings
        self.broker = broker
        self.closed = asyncio.Event()
        self.messages: asyncio.Queue[ReceivedMessage] = asyncio.Queue()
        self.close_reason = ""
        self.acked: list[ReceivedMessage] = []
        self.published: list[OutboundMessage] = []
        self.disconnected = False
        self.on_ack: Callable[[ReceivedMessage], None] = lambda message: None

    async def connect(self) -> None:
        number = len(self.broker.attempts)
        self.broker.attempts.append((self.settings.host, self.settings.port))
        if self.broker.refuse > 0 or number in self.broker.refuse_at:
            self.broker.refuse = max(0, self.broker.refuse - 1)
            raise ConnectError("connection refused")
        self.broker.links.append(self)

    def ack(self, message: ReceivedMessage) -> bool:
        if self.closed.is_set():
            return False
        self.on_ack(message)
        self.acked.append(message)
        return True

    async def publish(self, message: OutboundMessage) -> None:
        if self.closed.is_set() or self.broker.publish_fails:
            raise PublishError("not connected")
        self.published.append(message)

    async def disconnect(self) -> None:
        self.disconnected = True
        self.close()

    def close(self) -> None:
        self.close_reason = self.close_reason or "closed by the hub"
        self.closed.set()

    def drop(self) -> None:
        """The broker went away: the link ends under the hub."""
        self.close_reason = "link lost"
        self.closed.set()

    def deliver(self, *messages: ReceivedMessage) -> None:
        for message in messages:
            self.messages.put_nowait(message)

    def receipts(self) -> list[dict[str, object]]:
        return [json.loads(m.payload) for m in self.published]


_mids = iter(range(1, 1_000_000))


def received(
    topic: str, payload: bytes, content_type: str, props: tuple[tuple[str, str], ...] = ()
) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, False, content_type, props, next(_mids), 1)


def audio_of(rec: WireRecording, flac: bytes | None = None) -> ReceivedMessage:
    return received(rec.audio_topic, rec.flac if flac is None else flac, FLAC, rec.properties)


def meta_of(rec: WireRecording) -> ReceivedMessage:
    return received(rec.meta_topic, rec.meta_json, JSON)


def halves(rec: WireRecording) -> tuple[ReceivedMessage, ReceivedMessage]:
    return audio_of(rec), meta_of(rec)


def void(_: object) -> None:
    return None


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    await poll.eventually(check, timeout_s, every_s=0.005)


class FlakyArchive(Archive):
    """A real archive whose database is down for the first `down` batches, and which fails
    (a bug of ours, not the sender's) on any batch holding a recording id in `broken`."""

    def __init__(self, db_path: Path, audio: Path) -> None:
        db = open_database(DatabaseTarget("sqlite", str(db_path)), migrating=True)
        migrate_database(db)
        super().__init__(db, AudioStore(audio), clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
        self.down = 0
        self.refusals_down = False
        self.broken: set[str] = set()
        self.batches: list[int] = []
        self.while_storing: Callable[[], None] = lambda: None
        self.scans = 0  # looks for unsent receipts: one as each link starts, then on rescan
        self.threads: set[str] = set()  # the threads that touched it

    def store_batch(self, items: Sequence[wire.Incoming]) -> list[StoreOutcome]:
        self.batches.append(len(items))
        self.threads.add(threading.current_thread().name)
        self.while_storing()
        if self.down > 0:
            self.down -= 1
            raise StorageUnavailableError("database is down")
        ids = {getattr(i, "recording_id", None) for i in items}
        if ids & self.broken:
            raise RuntimeError("a bug in the archive")
        return super().store_batch(items)

    def pending_receipts(self, limit: int) -> list[ArchivedRecording]:
        self.scans += 1
        self.threads.add(threading.current_thread().name)
        return super().pending_receipts(limit)

    def count_refusal(self, reason: str, topic: str) -> None:
        if self.refusals_down:
            raise StorageUnavailableError("database is down")
        super().count_refusal(reason, topic)

    def counts(self) -> dict[str, object]:
        db = open_database(DatabaseTarget("sqlite", str(self.db.path)))  # type: ignore[attr-defined]
        try:
            return summary(db)
        finally:
            db.close()


@pytest.fixture
def archive(tmp_path: Path) -> FlakyArchive:
    return FlakyArchive(tmp_path / "hub.db", tmp_path / "audio")


@pytest.fixture
def fake_broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    broker = FakeBroker()
    monkeypatch.setattr(service, "MqttConnection", broker.link)

    def no_delay(attempt: int, error: BaseException | None) -> float:
        broker.delays.append((attempt, type(error) if error is not None else None))
        return 0.0

    monkeypatch.setattr(service, "persistent_delay", no_delay)
    return broker


@pytest.fixture(autouse=True)
def storage_waits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, type[BaseException]]]:
    """The waits the service asked for while the storage was down (attempt, error), none slept:
    the hub's one storage policy (stetho_hub.storage.outage), patched in its one place."""
    asked: list[tuple[int, type[BaseException]]] = []

    def no_delay(attempt: int, error: BaseException) -> float:
        asked.append((attempt, type(error)))
        return 0.0

    monkeypatch.setattr(outage, "storage_delay", no_delay)
    return asked


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Callable[[str], list[str]]:
    """The service's log lines of one event (`event=NAME ...`), as the operator reads them."""
    loggers = (service.__name__, outage.__name__)  # the storage waits log from their policy
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger)

    def lines(name: str) -> list[str]:
        found = (r.getMessage() for r in caplog.records if r.name in loggers)
        return [line for line in found if line.startswith(f"event={name} ")]

    return lines


def _settings(
    failover: tuple[tuple[str, int], ...] = (), failback_s: float = 300.0
) -> MqttSettings:
    return MqttSettings(
        "primary", 1883, "hub-1", failover=failover, failback_s=failback_s, manual_ack=True,
        subscriptions=("stetho/v1/+/+/recordings",),
    )  # fmt: skip


@contextlib.asynccontextmanager
async def hub(
    archive: FlakyArchive, settings: MqttSettings | None = None, stable_s: float = 0.0
) -> AsyncIterator[IngestService]:
    """A running service, once its first link took the receipts an earlier run left unsent
    (messages delivered later are then receipted from the queue alone)."""
    ingest = IngestService(settings or _settings(), archive, "hub-test", stable_s=stable_s)
    task = asyncio.create_task(ingest.run())
    try:
        await eventually(lambda: archive.scans >= 1)
        yield ingest
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- acknowledged only once stored ----------------------------------------------------------


def test_a_recording_is_acknowledged_only_after_its_audio_and_metadata_are_stored(
    archive: FlakyArchive,
    fake_broker: FakeBroker,
    tmp_path: Path,
    events: Callable[[str], list[str]],
) -> None:
    rec = make_recording(0)
    seen_at_ack: list[dict[str, object]] = []

    async def scenario() -> IngestService:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.on_ack = lambda message: seen_at_ack.append(archive.counts())
            link.deliver(audio_of(rec))
            await eventually(lambda: len(link.acked) == 1)
            link.deliver(meta_of(rec))
            await eventually(lambda: len(link.published) == 1 and ingest.stats.receipts_sent == 1)
            return ingest

    ingest = asyncio.run(scenario())
    # At the first PUBACK the audio was on disk and in the database; at the second, both halves.
    assert seen_at_ack[0]["recordings_audio"] == 1
    assert seen_at_ack[1]["recordings_metadata"] == 1
    assert seen_at_ack[1]["recordings_archived"] == 1
    stored = tmp_path / "audio" / sha256(rec.flac)[:2] / f"{sha256(rec.flac)}.flac"
    assert stored.read_bytes() == rec.flac
    assert (ingest.stats.stored, ingest.stats.archived, ingest.stats.acknowledged) == (2, 1, 2)
    assert (ingest.stats.duplicates, ingest.stats.refused_total) == (0, 0)
    assert archive.counts()["receipts_pending"] == 0  # marked sent after the broker took it
    assert events("hub_connected") == [
        "event=hub_connected broker=primary:1883 client_id=hub-1 filters=1"
    ]
    assert events("recording_archived") == [
        f"event=recording_archived recording={rec.recording_id} site=home-a"
        f" sha256={sha256(rec.flac)}"
    ]
    assert events("receipts_sent") == ["event=receipts_sent count=1"]


def test_messages_are_acknowledged_in_arrival_order_after_one_batch_is_stored(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    recs = [make_recording(seed) for seed in range(3)]
    messages = [m for rec in recs for m in halves(rec)]

    async def scenario() -> list[ReceivedMessage]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*messages)  # queued before the consumer runs: one batch
            await eventually(lambda: ingest.stats.receipts_sent == 3)
            return link.acked

    assert asyncio.run(scenario()) == messages
    assert archive.batches == [6]


def test_a_long_queue_is_stored_in_batches_of_the_ingest_batch_size(
    archive: FlakyArchive, fake_broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "INGEST_BATCH", 4)
    recs = [make_recording(seed) for seed in range(5)]
    messages = [m for rec in recs for m in halves(rec)]

    async def scenario() -> list[ReceivedMessage]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*messages)
            await eventually(lambda: ingest.stats.acknowledged == 10)
            assert ingest.stats.archived == 5
            return link.acked

    assert asyncio.run(scenario()) == messages
    assert archive.batches == [4, 4, 2]


# -- duplicates, mismatches, refusals -------------------------------------------------------


def test_a_duplicate_delivery_is_archived_once_and_receipted_again(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    rec = make_recording(0)

    async def scenario() -> tuple[IngestService, FakeLink]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*halves(rec))
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            link.deliver(*halves(rec))  # the agent lost the receipt and sends it all again
            await eventually(lambda: len(link.published) == 3 and len(link.acked) == 4)
            return ingest, link

    ingest, link = asyncio.run(scenario())
    assert (ingest.stats.stored, ingest.stats.duplicates, ingest.stats.archived) == (2, 2, 1)
    assert len(link.acked) == 4
    assert [r["recording_id"] for r in link.receipts()] == [rec.recording_id] * 3
    counts = archive.counts()
    assert counts["recordings_archived"] == counts["recordings_audio"] == 1


def test_audio_whose_hash_does_not_match_is_refused_counted_and_never_receipted(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    rec = make_recording(0)
    wrong = same_size_other_sound(rec)

    async def scenario() -> tuple[IngestService, FakeLink]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(meta_of(rec), audio_of(rec, wrong))
            await eventually(lambda: len(link.acked) == 2)
            await asyncio.sleep(0.05)
            assert link.published == [] and ingest.stats.archived == 0
            assert ingest.stats.refused == {"audio_mismatch": 1}
            link.deliver(audio_of(rec))  # the care home sends it again, whole
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return ingest, link

    ingest, link = asyncio.run(scenario())
    assert archive.counts()["refused"] == {"audio_mismatch": 1}
    # The refused audio stored nothing that counts: the metadata and the good audio only.
    assert (ingest.stats.stored, ingest.stats.duplicates) == (2, 0)
    assert len(link.acked) == 3  # refused for good: the broker must not send it again
    assert [r["recording_id"] for r in link.receipts()] == [rec.recording_id]
    assert ingest.stats.archived == 1
    assert events("message_refused") == [
        f"event=message_refused reason=audio_mismatch detail='' topic={rec.audio_topic}"
        " refused_total=1"
    ]


def test_a_malformed_message_is_refused_counted_and_acknowledged_without_storing(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    rec = make_recording(0)
    bad = received(rec.meta_topic, b"{not json", JSON)
    not_audio = received(rec.audio_topic, rec.flac, JSON, rec.properties)  # wrong content type
    with pytest.raises(MalformedMessageError) as parsing:
        wire.classify(bad.topic, bad.payload)

    async def scenario() -> tuple[IngestService, FakeLink]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(bad, not_audio, *halves(rec))
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return ingest, link

    ingest, link = asyncio.run(scenario())
    assert link.acked[:2] == [bad, not_audio] and len(link.acked) == 4
    assert ingest.stats.refused == {"invalid_recording": 1, "wrong_content_type": 1}
    assert ingest.stats.stored == 2
    assert archive.counts()["refused"] == {"invalid_recording": 1, "wrong_content_type": 1}
    assert archive.batches == [2]  # only the valid ones reach the archive
    assert events("message_refused")[0] == (
        f"event=message_refused reason=invalid_recording detail={parsing.value.detail!r}"
        f" topic={rec.meta_topic} refused_total=1"
    )


def test_a_refusal_is_still_acknowledged_when_it_cannot_be_counted(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    archive.refusals_down = True
    bad = received("stetho/v1/home-a/steth-a/recordings", b"{not json", JSON)

    async def scenario() -> tuple[IngestService, FakeLink]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(bad)
            await eventually(lambda: ingest.stats.acknowledged == 1)
            return ingest, link

    ingest, link = asyncio.run(scenario())
    assert link.acked == [bad] and ingest.stats.refused == {"invalid_recording": 1}
    assert archive.batches == []  # nothing valid: the archive is not asked
    assert events("refusal_not_counted") == ["event=refusal_not_counted error='database is down'"]


def test_refusals_are_logged_first_then_every_thousandth_with_the_topic_cut(
    archive: FlakyArchive, monkeypatch: pytest.MonkeyPatch, events: Callable[[str], list[str]]
) -> None:
    monkeypatch.setattr(service, "LOG_FIRST_REFUSALS", 2)
    ingest = IngestService(_settings(), archive, "hub-test")
    long_topic = "stetho/v1/home-a/" + "x" * 300

    async def refuse(times: int) -> None:
        for _ in range(times):
            await ingest._refuse("invalid_recording", "loc: type", long_topic)

    asyncio.run(refuse(3))  # the first two logged
    ingest.stats.refused["earlier"] = 995
    asyncio.run(refuse(3))  # 999, 1000, 1001: the thousandth logged
    ingest._executor.shutdown()
    cut = long_topic[:200]
    assert events("message_refused") == [
        f"event=message_refused reason=invalid_recording detail='loc: type' topic={cut}"
        f" refused_total={total}"
        for total in (1, 2, 1000)
    ]


# -- a store that fails ---------------------------------------------------------------------


def test_while_the_database_is_down_nothing_is_acknowledged_then_all_is_stored(
    archive: FlakyArchive,
    fake_broker: FakeBroker,
    storage_waits: list[tuple[int, type[BaseException]]],
    events: Callable[[str], list[str]],
) -> None:
    archive.down = 3
    rec = make_recording(0)

    async def scenario() -> tuple[IngestService, FakeLink]:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*halves(rec))
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return ingest, link

    ingest, link = asyncio.run(scenario())
    assert archive.batches == [2, 2, 2, 2]  # three failures, then the same batch stored
    assert len(link.acked) == 2 and ingest.stats.archived == 1
    down = StorageUnavailableError
    assert storage_waits == [(0, down), (1, down), (2, down)]  # backing off, never giving up
    assert fake_broker.delays == []  # the broker's own backoff is another policy's
    assert (
        events("storage_unavailable")
        == ["event=storage_unavailable error='database is down' during=ingest retry_in_s=0.0"] * 3
    )


def test_a_message_the_archive_fails_on_stays_unacknowledged_and_the_rest_are_stored(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    good, bad = make_recording(0), make_recording(1)
    archive.broken = {bad.recording_id}

    async def scenario(messages: list[ReceivedMessage]) -> FakeLink:
        async with hub(archive):
            link = await fake_broker.next_link(1)
            link.deliver(*messages)
            await eventually(lambda: len(link.acked) == len(messages) - 1)
            await asyncio.sleep(0.05)
            return link

    pair = [audio_of(good), audio_of(bad)]
    assert asyncio.run(scenario(pair)).acked == pair[:1]  # bad: redelivered to a fixed hub
    assert archive.batches == [2, 1, 1]  # the batch, then one by one
    fake_broker.links.clear()
    archive.batches.clear()
    three = [meta_of(good), audio_of(bad), audio_of(good)]
    assert asyncio.run(scenario(three)).acked == [three[0], three[2]]
    assert archive.batches == [3, 1, 1, 1]
    assert events("store_failed") == ["event=store_failed kind=RecordingAudio"] * 2


def test_a_database_refused_on_reconnection_stops_the_ingest_with_nothing_acknowledged(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    # Before: the refusal was "a bug of ours", logged per message, and the ingest went on.
    rec = make_recording(0)
    refused = SchemaVersionError("the database sqlite:hub.db records migration 2 under another")

    def reconnect_refused() -> None:
        raise refused

    archive.while_storing = reconnect_refused

    async def scenario() -> tuple[FakeLink, BaseException | None]:
        ingest = IngestService(_settings(), archive, "hub-test", stable_s=0.0)
        task = asyncio.create_task(ingest.run())
        link = await fake_broker.next_link(1)
        link.deliver(*halves(rec))
        try:
            async with asyncio.timeout(10):  # an ingest that goes on fails here, not hangs
                await eventually(task.done)
        finally:
            task.cancel()
        return link, task.exception()

    link, stopped = asyncio.run(scenario())
    # Out of the link's TaskGroup: `stetho hub run` says its sentence (except* HubError).
    assert isinstance(stopped, ExceptionGroup) and stopped.exceptions == (refused,)
    assert link.acked == []


def test_a_link_lost_while_the_database_is_down_leaves_every_message_with_the_broker(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    archive.down = 1_000_000
    rec = make_recording(0)

    async def scenario() -> FakeLink:
        async with hub(archive):
            link = await fake_broker.next_link(1)
            link.deliver(*halves(rec))
            await eventually(lambda: len(archive.batches) >= 2)
            link.drop()
            await fake_broker.next_link(2)
            return link

    link = asyncio.run(scenario())
    assert link.acked == []


def test_messages_stored_after_their_link_was_lost_are_not_acknowledged(
    archive: FlakyArchive,
) -> None:
    rec = make_recording(0)
    ingest = IngestService(_settings(), archive, "hub-test")
    link = FakeLink(_settings(), FakeBroker())
    link.deliver(*halves(rec))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        # Lost while the batch was being stored: the PUBACKs have no link to go out on.
        archive.while_storing = lambda: void(loop.call_soon_threadsafe(link.drop))
        consumer = asyncio.create_task(ingest._consume(link))  # type: ignore[arg-type]
        await eventually(lambda: ingest.stats.stored == 2)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer

    asyncio.run(scenario())
    ingest._executor.shutdown()
    assert link.acked == [] and ingest.stats.acknowledged == 0
    assert archive.counts()["recordings_archived"] == 1  # stored: the redelivery is a duplicate


# -- receipts -------------------------------------------------------------------------------


def test_a_receipt_names_the_recording_its_site_and_the_hub() -> None:
    archived = ArchivedRecording(
        "0b0c4a6e-3f0e-4f55-9a39-3cbf4c3d2a10", "home-b", "steth-c", "a" * 64, "b" * 64, 1234,
        "2026-12-01T10:00:00.000000+00:00",
    )  # fmt: skip
    message = receipt_message(archived, "hub-7")
    messages.ReceiptMessage.model_validate_json(message.payload)  # as the care home reads it
    body = json.loads(message.payload)
    assert message.topic == "stetho/v1/home-b/receipts"
    assert (message.qos, message.retain, message.expiry_s) == (1, False, None)
    assert message.content_type == "application/json"
    assert message.recording_id == archived.recording_id
    assert message.user_properties == (
        ("schema_version", str(body["schema_version"])),
        ("recording_id", archived.recording_id),
    )
    assert body["schema_version"] == 1
    assert {k: body[k] for k in ("recording_id", "site", "device", "hub")} == {
        "recording_id": archived.recording_id, "site": "home-b", "device": "steth-c",
        "hub": "hub-7",
    }  # fmt: skip
    assert (body["audio_sha256"], body["pcm_sha256"], body["size_bytes"]) == (
        "a" * 64, "b" * 64, 1234,
    )  # fmt: skip
    assert datetime.fromisoformat(body["archived_at"]) == datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_each_care_home_receives_the_receipts_of_its_own_recordings_only(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    at_a = make_recording(0, site="home-a", device="steth-a")
    at_b = make_recording(1, site="home-b", device="steth-a")  # same device name elsewhere

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*halves(at_a), *halves(at_b))
            await eventually(lambda: ingest.stats.receipts_sent == 2)
            return link

    link = asyncio.run(scenario())
    by_topic = {m.topic: json.loads(m.payload) for m in link.published}
    assert set(by_topic) == {"stetho/v1/home-a/receipts", "stetho/v1/home-b/receipts"}
    for topic, rec in (("stetho/v1/home-a/receipts", at_a), ("stetho/v1/home-b/receipts", at_b)):
        body = by_topic[topic]
        assert (body["recording_id"], body["site"]) == (rec.recording_id, rec.site)
        assert body["audio_sha256"] == sha256(rec.flac) and body["size_bytes"] == len(rec.flac)
        assert body["pcm_sha256"] == rec.meta.audio.pcm_sha256 and body["hub"] == "hub-test"
    with archive.db.transaction() as tx:
        rows = tx.all("SELECT recording_id, site FROM archived ORDER BY site")
    assert rows == [(at_a.recording_id, "home-a"), (at_b.recording_id, "home-b")]


def test_receipts_left_unsent_are_sent_first_on_the_next_connection(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    earlier = [make_recording(seed) for seed in range(3)]
    for rec in earlier:  # archived by an earlier process that died before sending receipts
        archive.store_batch([wire.classify(m.topic, m.payload, m.user_properties, m.content_type)
                             for m in halves(rec)])  # fmt: skip

    async def scenario() -> FakeLink:
        async with hub(archive):
            link = await fake_broker.next_link(1)
            await eventually(lambda: len(link.published) == 3)
            await eventually(lambda: archive.counts()["receipts_pending"] == 0)
            return link

    link = asyncio.run(scenario())
    assert [r["recording_id"] for r in link.receipts()] == [r.recording_id for r in earlier]


def test_a_receipt_whose_publish_failed_is_sent_again_on_the_next_link(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    rec = make_recording(0)
    fake_broker.publish_fails = True

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            first = await fake_broker.next_link(1)
            first.deliver(*halves(rec))
            await eventually(first.closed.is_set)  # a failed publish ends the link
            assert len(first.acked) == 2 and ingest.stats.receipts_sent == 0
            fake_broker.publish_fails = False
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return fake_broker.links[-1]

    last = asyncio.run(scenario())
    assert [r["recording_id"] for r in last.receipts()] == [rec.recording_id]
    assert archive.counts()["receipts_pending"] == 0
    assert events("receipt_send_failed")[0] == "event=receipt_send_failed error='not connected'"


def test_receipts_queued_together_go_out_in_batches_of_the_receipt_batch_size(
    archive: FlakyArchive, fake_broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RECEIPT_BATCH", 2)
    recs = [make_recording(seed) for seed in range(3)]
    sizes: list[int] = []
    marked = archive.mark_receipts_sent

    def mark(ids: Sequence[str]) -> None:
        sizes.append(len(ids))
        marked(ids)

    monkeypatch.setattr(archive, "mark_receipts_sent", mark)

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*(m for rec in recs for m in halves(rec)))
            await eventually(lambda: ingest.stats.receipts_sent == 3)
            return link

    link = asyncio.run(scenario())
    assert sizes == [2, 1]
    assert [r["recording_id"] for r in link.receipts()] == [r.recording_id for r in recs]


def test_a_recording_archived_by_another_hub_process_is_receipted_by_the_rescan(
    archive: FlakyArchive, fake_broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RECEIPT_RESCAN_S", 0.05)
    late = make_recording(9)

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            # Another hub process took the messages: no queue entry here, found by the rescan.
            await asyncio.to_thread(other_hub_stores, archive, late)
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return link

    link = asyncio.run(scenario())
    assert [r["recording_id"] for r in link.receipts()] == [late.recording_id]
    assert archive.counts()["receipts_pending"] == 0


def test_a_receipt_not_marked_sent_while_the_database_is_down_is_sent_again(
    archive: FlakyArchive,
    fake_broker: FakeBroker,
    storage_waits: list[tuple[int, type[BaseException]]],
    monkeypatch: pytest.MonkeyPatch,
    events: Callable[[str], list[str]],
) -> None:
    # Marks failing twice in a row wait attempts 0 then 1; one that succeeds starts the next
    # outage's waits over at 0 (before: a fixed 1 s of this loop's own, logged without it).
    monkeypatch.setattr(service, "RECEIPT_RESCAN_S", 0.05)
    first, second = make_recording(0), make_recording(1)
    marked = archive.mark_receipts_sent
    failures = [2]

    def mark(ids: Sequence[str]) -> None:
        if failures[0]:
            failures[0] -= 1
            raise StorageUnavailableError("database is down")
        marked(ids)

    monkeypatch.setattr(archive, "mark_receipts_sent", mark)

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*halves(first))
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            failures[0] = 1
            link.deliver(*halves(second))
            await eventually(lambda: ingest.stats.receipts_sent == 2)
            return link

    link = asyncio.run(scenario())
    sent = [r["recording_id"] for r in link.receipts()]
    assert sent == [first.recording_id] * 3 + [second.recording_id] * 2
    assert archive.counts()["receipts_pending"] == 0
    down = StorageUnavailableError
    assert storage_waits == [(0, down), (1, down), (0, down)]
    assert (
        events("storage_unavailable")
        == ["event=storage_unavailable error='database is down' during=receipts retry_in_s=0.0"] * 3
    )


@pytest.mark.parametrize("when", ["the link opens", "a rescan"])
def test_unsent_receipts_unreadable_while_the_database_is_down_are_asked_again(
    archive: FlakyArchive,
    fake_broker: FakeBroker,
    storage_waits: list[tuple[int, type[BaseException]]],
    monkeypatch: pytest.MonkeyPatch,
    events: Callable[[str], list[str]],
    when: str,
) -> None:
    # Before: the StorageUnavailableError left the receipts' task and stopped the whole hub
    # ("error: unhandled errors in a TaskGroup"), a PostgreSQL restart as the link opened.
    monkeypatch.setattr(service, "RECEIPT_RESCAN_S", 0.05)
    earlier = make_recording(0)
    archive.store_batch([wire.classify(m.topic, m.payload, m.user_properties, m.content_type)
                         for m in halves(earlier)])  # fmt: skip
    pending = archive.pending_receipts
    asked: list[int] = []

    # Three reads down: the third wait must be attempt 2, not the second's again.
    down = {1, 2, 3} if when == "the link opens" else {2, 3, 4}  # a rescan is the second read on

    def read(limit: int) -> list[ArchivedRecording]:
        asked.append(limit)
        if len(asked) in down:
            raise StorageUnavailableError("database is down")
        # Before the database went down, as if another hub process had not yet archived it.
        return pending(limit) if len(asked) > max(down) else []

    monkeypatch.setattr(archive, "pending_receipts", read)

    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            await eventually(lambda: ingest.stats.receipts_sent == 1)
            return link

    link = asyncio.run(scenario())
    assert [r["recording_id"] for r in link.receipts()] == [earlier.recording_id]
    assert archive.counts()["receipts_pending"] == 0
    assert (
        events("storage_unavailable")
        == ["event=storage_unavailable error='database is down' during=receipts retry_in_s=0.0"] * 3
    )
    assert storage_waits == [(n, StorageUnavailableError) for n in range(3)]


def other_hub_stores(archive: FlakyArchive, rec: WireRecording) -> None:
    """`rec` archived by another hub process sharing this SQLite file and audio folder."""
    db = open_database(DatabaseTarget("sqlite", str(archive.db.path)))  # type: ignore[attr-defined]
    try:
        other = Archive(db, archive.audio)
        other.store_batch([wire.classify(m.topic, m.payload, m.user_properties, m.content_type)
                           for m in halves(rec)])  # fmt: skip
    finally:
        db.close()


# -- the broker link: failover and failback -------------------------------------------------

CONNECT, YOUNG = ConnectError, None  # why the hub waits: a refused connect, a link died young


def test_after_three_refused_connects_the_hub_moves_to_the_next_broker_and_backs_off_afresh(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    fake_broker.refuse = 4  # three on the first broker, one on the second
    settings = _settings(failover=(("second", 1884),))

    async def scenario() -> None:
        async with hub(archive, settings) as ingest:
            await fake_broker.next_link(1)
            await eventually(ingest.connected.is_set)

    asyncio.run(scenario())
    assert fake_broker.attempts == [("primary", 1883)] * 3 + [("second", 1884)] * 2
    assert fake_broker.delays == [(0, CONNECT), (1, CONNECT), (2, CONNECT), (0, CONNECT)]
    assert events("broker_unreachable")[0] == (
        "event=broker_unreachable broker=primary:1883 error='connection refused' retry_in_s=0.0"
    )
    assert events("broker_unreachable")[3].startswith("event=broker_unreachable broker=second")
    assert events("broker_failover") == ["event=broker_failover from=primary:1883 to=second:1884"]


def test_on_a_failover_broker_the_hub_goes_back_to_the_first_after_failback(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    fake_broker.refuse_at = {0, 1, 2, 3, 5}  # the first thrice, the second once, the first again
    settings = _settings(failover=(("second", 1884),), failback_s=0.05)

    async def scenario() -> FakeLink:
        async with hub(archive, settings):
            on_second = await fake_broker.next_link(1)
            back = await fake_broker.next_link(2)
            assert (back.settings.host, back.settings.port) == ("primary", 1883)
            return on_second

    on_second = asyncio.run(scenario())
    assert on_second.disconnected  # DISCONNECT after the PUBACKs, not a dropped socket
    assert (on_second.settings.host, on_second.settings.port) == ("second", 1884)
    assert [host for host, _ in fake_broker.attempts] == ["primary"] * 3 + ["second"] * 2 + [
        "primary"
    ] * 2
    # Back on the first broker the backoff starts afresh.
    assert [attempt for attempt, _ in fake_broker.delays] == [0, 1, 2, 0, 0]
    assert events("broker_failback") == ["event=broker_failback to=primary:1883"]


def test_links_that_die_young_count_as_failures_and_one_that_held_does_not(
    archive: FlakyArchive, fake_broker: FakeBroker, events: Callable[[str], list[str]]
) -> None:
    settings = _settings(failover=(("second", 1884),))

    async def drop_links(ingest: IngestService, count: int) -> None:
        for n in range(1, count + 1):
            link = await fake_broker.next_link(n)
            await eventually(ingest.connected.is_set)
            link.drop()

    async def young() -> None:
        async with hub(archive, settings, stable_s=3600.0) as ingest:
            await drop_links(ingest, 4)  # three young deaths: the next broker; one there
            await fake_broker.next_link(5)

    asyncio.run(young())
    assert fake_broker.attempts == [("primary", 1883)] * 3 + [("second", 1884)] * 2
    assert fake_broker.delays == [(0, YOUNG), (1, YOUNG), (2, YOUNG), (0, YOUNG)]
    assert events("broker_connection_lost")[0] == "event=broker_connection_lost reason=link lost"

    fake_broker.links.clear()
    fake_broker.attempts.clear()
    fake_broker.delays.clear()
    fake_broker.refuse_at = {0, 2}

    async def held() -> None:
        async with hub(archive, settings, stable_s=0.0) as ingest:
            await drop_links(ingest, 2)  # each held long enough: no failure, no wait
            await fake_broker.next_link(3)

    asyncio.run(held())
    assert fake_broker.attempts == [("primary", 1883)] * 5
    # A refusal after a link that held backs off from the start again.
    assert fake_broker.delays == [(0, CONNECT), (0, CONNECT)]


def test_a_stopped_hub_says_disconnect_and_leaves_its_link_closed(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    async def scenario() -> FakeLink:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            await eventually(ingest.connected.is_set)
        assert not ingest.connected.is_set()
        return link

    link = asyncio.run(scenario())
    assert link.disconnected and link.closed.is_set()


def test_a_hub_stopped_during_a_commit_exits_only_once_it_is_complete(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    rec = make_recording(0)
    storing = threading.Event()

    def slow_commit() -> None:
        storing.set()
        time.sleep(0.3)  # in the storage thread, as a commit's fsync may take

    archive.while_storing = slow_commit

    async def scenario() -> None:
        async with hub(archive):
            link = await fake_broker.next_link(1)
            link.deliver(*halves(rec))
            await asyncio.to_thread(storing.wait, 5.0)
        # SIGTERM here: the hub's task is cancelled and has returned

    asyncio.run(scenario())
    counts = archive.counts()
    assert counts["recordings_archived"] == 1  # stored before the hub was gone, not after


def test_the_archive_is_touched_from_one_storage_thread_only(
    archive: FlakyArchive, fake_broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RECEIPT_RESCAN_S", 0.01)  # a rescan while a store is slow
    archive.while_storing = lambda: time.sleep(0.2)
    rec = make_recording(0)

    async def scenario() -> None:
        async with hub(archive) as ingest:
            link = await fake_broker.next_link(1)
            link.deliver(*halves(rec))
            await eventually(lambda: ingest.stats.receipts_sent >= 1)
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    # One database connection, one thread: SQLite's and psycopg's rule.
    assert archive.threads == {"hub-storage_0"}


def test_a_stop_cancelled_again_while_a_commit_runs_still_waits_for_it(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    # A second SIGTERM (or a supervisor's cancel) while run() waits for the storage thread:
    # the commit in progress must still complete before run() returns.
    rec = make_recording(0)
    storing = threading.Event()

    def slow_commit() -> None:
        storing.set()
        time.sleep(0.3)

    archive.while_storing = slow_commit

    async def scenario() -> dict[str, object]:
        ingest = IngestService(_settings(), archive, "hub-test")
        task = asyncio.create_task(ingest.run())
        link = await fake_broker.next_link(1)
        link.deliver(*halves(rec))
        await asyncio.to_thread(storing.wait, 5.0)
        task.cancel()
        for _ in range(5):  # into run()'s finally, awaiting the storage thread
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return archive.counts()  # read the moment run() returned

    assert asyncio.run(scenario())["recordings_archived"] == 1


def test_a_link_that_lasted_exactly_the_stable_time_held(
    archive: FlakyArchive, fake_broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service's clock stands still: every link lasts 0 s, exactly a stable_s of 0.
    monkeypatch.setattr(service, "time", types.SimpleNamespace(monotonic=lambda: 100.0))
    fake_broker.refuse_at = {2}

    async def scenario() -> None:
        async with hub(archive, stable_s=0.0) as ingest:
            for n in (1, 2):
                link = await fake_broker.next_link(n)
                await eventually(ingest.connected.is_set)
                link.drop()
            await fake_broker.next_link(3)

    asyncio.run(scenario())
    assert fake_broker.delays == [(0, CONNECT)]  # held: no wait after a link, no failure


def test_a_batch_whose_link_closed_while_the_database_was_down_is_left_with_the_broker(
    archive: FlakyArchive, fake_broker: FakeBroker
) -> None:
    # Through run() this waits on a race (the link's end cancels the consumer, or the retry
    # loop sees it first); here the retry loop sees it, deterministically.
    archive.down = 1_000_000
    rec = make_recording(0)

    async def scenario() -> list[bool]:
        ingest = IngestService(_settings(), archive, "hub-test")
        link = FakeLink(_settings(), fake_broker)
        link.closed.set()
        return await ingest._handle(link, list(halves(rec)))  # type: ignore[arg-type]

    assert asyncio.run(scenario()) == [False, False]  # neither may be acknowledged
    assert archive.counts()["recordings_archived"] == 0
