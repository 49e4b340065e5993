"""The ingest service against a real Mosquitto and real databases, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import jsonschema
import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.wire import schemas
from stetho_hub.config import HubConfig, parse_config
from stetho_hub.ingest import IngestService, mqtt_settings
from stetho_hub.ingest.runner import open_archive
from stetho_hub.storage import DatabaseTarget, open_database, summary
from stetho_testkit import poll
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import WirePublisher, sha256
from stetho_testkit.mqtt_client import MqttTestClient

pytestmark = pytest.mark.broker
RECEIPTS = "stetho/v1/+/receipts"


def _config(
    broker: LocalBroker, target: DatabaseTarget, audio: Path, hub_id: str = "hub-test", **b: str
) -> HubConfig:
    database = {target.dialect: target.location}
    broker_table = {"host": broker.host, "port": broker.port, "keepalive_s": 30, **b}
    return parse_config(
        {"hub_id": hub_id, "broker": broker_table, "database": database,
         "archive": {"audio_dir": str(audio)}},
        "test",
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(config: HubConfig) -> AsyncIterator[IngestService]:
    archive = await asyncio.to_thread(open_archive, config)
    service = IngestService(mqtt_settings(config), archive, config.hub_id)
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(20):
            await service.connected.wait()
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        archive.db.close()


def counts_in(target: DatabaseTarget) -> dict[str, object]:
    """Read with a connection of our own: the hub's belongs to its storage thread."""
    db = open_database(target)
    try:
        return summary(db)
    finally:
        db.close()


async def eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    await poll.eventually(check, timeout_s, every_s=0.02)


def receipted(client: MqttTestClient) -> set[str]:
    return {json.loads(m.payload)["recording_id"] for m in client.on("/receipts")}


def test_recordings_are_archived_once_and_receipted(
    broker: LocalBroker, db_target: DatabaseTarget, tmp_path: Path
) -> None:
    config = _config(broker, db_target, tmp_path / "audio")
    recs = [make_recording(seed) for seed in range(3)]
    receipt_schema = json.loads((schemas.DEFAULT_DIR / "receipt.schema.json").read_text())

    async def scenario(agent: WirePublisher, care_home: MqttTestClient) -> dict[str, object]:
        async with running(config) as hub:
            for rec in recs:
                await asyncio.to_thread(agent.recording, rec)
            await eventually(lambda: receipted(care_home) == {r.recording_id for r in recs})
            first_round = len(care_home.on("/receipts"))
            for rec in recs:  # the agent sends everything again (it lost the receipts)
                await asyncio.to_thread(agent.recording, rec)
            await eventually(lambda: len(care_home.on("/receipts")) >= first_round + 3)
            await eventually(lambda: hub.stats.duplicates == 6)
            assert hub.stats.archived == 3 and hub.stats.stored == 6
            return await asyncio.to_thread(counts_in, config.database.target())

    with (
        MqttTestClient(broker.host, broker.port, [RECEIPTS]) as care_home,
        WirePublisher(broker.host, broker.port) as agent,
    ):
        counts = asyncio.run(scenario(agent, care_home))
        receipts = [json.loads(m.payload) for m in care_home.on("/receipts")]
    assert counts["recordings_archived"] == counts["recordings_metadata"] == 3
    assert counts["recordings_audio"] == 3 and counts["receipts_pending"] == 0
    by_id = {rec.recording_id: rec for rec in recs}
    for receipt in receipts:
        jsonschema.validate(receipt, receipt_schema)
        rec = by_id[receipt["recording_id"]]
        assert receipt["audio_sha256"] == sha256(rec.flac)
        assert receipt["pcm_sha256"] == rec.meta.audio.pcm_sha256
        assert receipt["size_bytes"] == len(rec.flac) and receipt["hub"] == "hub-test"
        stored = tmp_path / "audio" / sha256(rec.flac)[:2]
        assert (stored / f"{sha256(rec.flac)}.flac").read_bytes() == rec.flac


AUDIO = "stetho/v1/home-a/steth-a/recordings/audio"
JSON, FLAC = "application/json", "audio/flac"
BAD = [
    ("stetho/v1/home-a/steth-a/recordings", b"{not json", JSON, "invalid_recording"),
    (AUDIO, b"fLaC....", FLAC, "missing_recording_id"),
    (AUDIO, b"RIFF....", FLAC, "not_flac"),
    (AUDIO, b"fLaC....", JSON, "wrong_content_type"),
    ("stetho/v1/home-a/alerts", b'{"schema":"stetho.alert"}', JSON, "invalid_alert"),
    ("stetho/v1/home-a/exams", b'{"schema":"stetho.exam"}', JSON, "invalid_exam"),
    ("stetho/v1/home-a/Bad_Device/recordings", b"{}", JSON, "unexpected_topic"),
    ("stetho/v1/home-a/steth-a/status", b"", JSON, "empty_payload"),
]


def test_malformed_messages_are_counted_refused_and_not_redelivered(
    broker: LocalBroker, tmp_path: Path
) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    config = _config(broker, target, tmp_path / "audio")
    mismatched = make_recording(1, site="home-b")  # published under home-a's topic below
    good = make_recording(2)

    async def scenario(agent: WirePublisher) -> dict[str, object]:
        async with running(config) as hub:
            for topic, payload, content_type, _reason in BAD:
                await asyncio.to_thread(agent.publish, topic, payload, content_type, ())
            await asyncio.to_thread(
                agent.publish, good.meta_topic, mismatched.meta_json, "application/json", ()
            )
            await asyncio.to_thread(agent.recording, good)
            await eventually(lambda: hub.stats.acknowledged == len(BAD) + 3)
            assert hub.stats.refused_total == len(BAD) + 1 and hub.stats.archived == 1
        # Mosquitto may read a new CONNECT before the old socket's last PUBACKs and drop those
        # ("already connected, closing old connection"); a real restart takes longer than this.
        await asyncio.sleep(0.5)
        async with running(config) as hub:  # same session: nothing refused comes back
            await asyncio.sleep(1.0)
            assert hub.stats.refused_total == 0 and hub.stats.stored == 0
            return await asyncio.to_thread(counts_in, config.database.target())

    with WirePublisher(broker.host, broker.port) as agent:
        counts = asyncio.run(scenario(agent))
    expected = {reason: 1 for *_, reason in BAD}
    expected["topic_mismatch"] = 1
    assert counts["refused"] == expected
    assert counts["recordings_metadata"] == counts["recordings_archived"] == 1


def test_the_persistent_session_keeps_what_arrives_while_the_hub_is_down(
    broker: LocalBroker, tmp_path: Path
) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    config = _config(broker, target, tmp_path / "audio")
    recs = [make_recording(seed) for seed in range(4)]

    async def scenario(agent: WirePublisher) -> int:
        async with running(config):
            pass  # the session and its subscriptions now exist on the broker
        for rec in recs:
            await asyncio.to_thread(agent.recording, rec)
        async with running(config) as hub:
            await eventually(lambda: hub.stats.archived == 4)
            return hub.stats.stored

    with WirePublisher(broker.host, broker.port) as agent:
        assert asyncio.run(scenario(agent)) == 8


def test_two_hubs_on_a_shared_subscription_archive_each_recording_once(
    broker: LocalBroker, db_target: DatabaseTarget, tmp_path: Path
) -> None:
    configs = [
        _config(broker, db_target, tmp_path / "audio", f"hub-{n}", shared_group="hubs")
        for n in range(2)
    ]
    recs = [make_recording(seed) for seed in range(20)]

    async def scenario(agent: WirePublisher) -> tuple[list[int], dict[str, object]]:
        async with running(configs[0]) as one, running(configs[1]) as two:
            await asyncio.to_thread(lambda: [agent.recording(r) for r in recs])
            await eventually(lambda: one.stats.archived + two.stats.archived == 20)
            await eventually(lambda: one.stats.stored + two.stats.stored == 40)
            counts = await asyncio.to_thread(counts_in, db_target)
            return [one.stats.stored, two.stats.stored], counts

    with WirePublisher(broker.host, broker.port) as agent:
        stored, counts = asyncio.run(scenario(agent))
    print(f"shared subscription: messages stored per hub {stored}")
    assert min(stored) > 0  # both hubs took a share
    assert counts["recordings_archived"] == counts["recordings_audio"] == 20
