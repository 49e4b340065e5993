"""The hub's broker account as deployed (deploy/mosquitto/acl, deploy/hub/hub.toml), on a real
Mosquitto with mutual TLS: the hub reads every site through a shared subscription and sends
receipts, acknowledgements, exam answers and requests; an agent reads its own site's
receipts and never another site's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware_bridge.flac import FLAC_CONTENT_TYPE
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import HubProcess, wait_archived
from tests.deploy.test_broker_isolation import OAKHILL, RIVERSIDE, A, B, not_authorized, peer
from tests.deploy.tls_broker import REPO, TlsBroker

pytestmark = pytest.mark.broker

HUB = "hub.hub-1"
HUB_TOML = REPO / "deploy" / "hub" / "hub.toml"
SHARED = "$share/hubs/stetho/v1"


def test_hub_reads_every_site_on_a_shared_subscription_and_answers(tls_broker: TlsBroker) -> None:
    with (
        peer(tls_broker, HUB) as hub,
        peer(tls_broker, OAKHILL) as oakhill,
        peer(tls_broker, RIVERSIDE) as riverside,
    ):
        hub.subscribe(f"{SHARED}/+/+/recordings", f"{SHARED}/+/alerts", f"{SHARED}/+/exams")
        oakhill.subscribe(f"{A}/receipts", f"{A}/acks", f"{A}/exams/answers", f"{A}/+/cmd")
        assert not oakhill.publish(f"{A}/steth-1/recordings", b"A recording").is_failure
        assert not riverside.publish(f"{B}/steth-2/recordings", b"B recording").is_failure
        assert not oakhill.publish(f"{A}/exams", b"A exam").is_failure
        got = hub.wait_for(lambda m: len(m) == 3)
        assert sorted(m.payload for m in got) == [b"A exam", b"A recording", b"B recording"]
        for topic in (f"{A}/receipts", f"{A}/acks", f"{A}/exams/answers", f"{A}/steth-1/cmd"):
            assert not hub.publish(topic, b"from the hub").is_failure, topic
        assert len(oakhill.wait_for(lambda m: len(m) == 4)) == 4
        # The hub answers; it never writes what only a care home sends.
        for topic in (f"{A}/steth-1/recordings", f"{A}/alerts", f"{A}/exams", f"{A}/agent/status"):
            assert not_authorized(hub.publish(topic, b"forged")), topic


def test_agent_reads_only_its_own_sites_receipts(tls_broker: TlsBroker) -> None:
    with (
        peer(tls_broker, HUB) as hub,
        peer(tls_broker, OAKHILL) as oakhill,
        peer(tls_broker, RIVERSIDE) as riverside,
    ):
        oakhill.subscribe("stetho/v1/+/receipts", f"{B}/receipts", f"{A}/receipts")
        riverside.subscribe(f"{B}/receipts")
        assert not hub.publish(f"{B}/receipts", b"B receipt").is_failure
        assert not hub.publish(f"{A}/receipts", b"barrier").is_failure  # after B's, if routed
        riverside.wait_for(lambda m: len(m) == 1)
        got = oakhill.wait_for(lambda m: any(x.payload == b"barrier" for x in m))
        # Nor may a care home forge a receipt, even for itself: only the hub says "archived".
        assert not_authorized(oakhill.publish(f"{A}/receipts", b"forged"))
    assert {m.payload for m in got} == {b"barrier"}  # overlapping filters: one copy each
    assert [m.payload for m in riverside.messages] == [b"B receipt"]


def _render_hub_toml(tls_broker: TlsBroker, work: Path) -> Path:
    text = HUB_TOML.read_text(encoding="utf-8")
    rewrites = {
        'host = "broker.hospital.example"': 'host = "127.0.0.1"',
        "port = 8883": f"port = {tls_broker.port}",
        "/etc/stetho-hub/": f"{tls_broker.certs}/",
        "/var/lib/stetho-hub/": f"{work}/",
        "enabled = true": "enabled = false",  # the console has tests of its own
    }
    for old, new in rewrites.items():
        assert text.count(old) >= 1, f"deploy/hub/hub.toml should contain {old!r}"
        text = text.replace(old, new)
    path = work / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _wire(rec_props: tuple[tuple[str, str], ...], content_type: str) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = content_type
    props.UserProperty = list(rec_props)
    return props


def test_the_deployed_hub_config_archives_and_receipts_over_mutual_tls(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    hub = HubProcess(_render_hub_toml(tls_broker, tmp_path), tmp_path / "hub.log")
    rec = make_recording(71, site="oakhill", device="steth-1")
    try:
        hub.start()
        with peer(tls_broker, OAKHILL) as oakhill:
            oakhill.subscribe(f"{A}/receipts")
            audio = _wire(rec.properties, FLAC_CONTENT_TYPE)
            assert not oakhill.publish(rec.audio_topic, rec.flac, properties=audio).is_failure
            meta = _wire(rec.properties, "application/json")
            assert not oakhill.publish(rec.meta_topic, rec.meta_json, properties=meta).is_failure
            (receipt,) = oakhill.wait_for(lambda m: len(m) == 1)
        counts = wait_archived(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), 1, 30)
        assert hub.stop() == 0
    finally:
        hub.close()
    assert json.loads(receipt.payload)["recording_id"] == rec.recording_id
    assert counts["recordings_archived"] == 1
    assert "shared_group=hubs" in hub.output()
