"""The hub's parser, exactly: each kind's item field by field, each refusal's reason and detail,
and every cap at its edge. Every test here fails if the check it names is disabled."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from edge_agent.transport.mqtt import MqttConnection, ReceivedMessage
from edge_agent.wire import messages, topics
from stetho_hub import wire
from stetho_hub.config import parse_config
from stetho_hub.errors import MalformedMessageError
from stetho_hub.ingest.runner import mqtt_settings, open_archive
from stetho_hub.ingest.service import IngestService
from stetho_testkit.hub.factory import exam_json, make_recording

REC = make_recording(0)
SITE, DEVICE, AGENT = REC.site, REC.device, "pi-a"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXAM = "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b"


# What a triage and an alert of REC share.
ABOUT: dict[str, Any] = {
    "recording_id": REC.recording_id, "device": DEVICE, "resident": "res-1",
    "auscultation_site": "mitral", "kind": "heart", "recorded_at": AT, "flags": [],
}  # fmt: skip


def triage(site: str = SITE) -> bytes:
    message = {"site": site, "level": "review", **ABOUT}
    return messages.to_json(messages.TriageMessage.model_validate(message))


def alert(site: str = SITE) -> bytes:
    topics_of = {"audio_topic": REC.audio_topic, "recording_topic": REC.meta_topic}
    message = {"alert_id": str(uuid.uuid4()), "site": site, "agent": AGENT, "level": "urgent"}
    message |= topics_of | ABOUT
    return messages.to_json(messages.AlertMessage.model_validate(message))


def ack() -> bytes:
    return messages.to_json(messages.AckMessage(alert_id=uuid.uuid4(), by="dr-1", at=AT))


def status(site: str = SITE, device: str | None = None) -> bytes:
    return messages.to_json(
        messages.StatusMessage(state="online", site=site, agent=AGENT, device=device, at=AT)
    )


def answer() -> bytes:
    return messages.to_json(
        messages.ExamAnswerMessage(
            exam_id=uuid.UUID(EXAM), by="dr-1", disposition="gp-visit-24h", at=AT
        )
    )


def refusal(topic: str, payload: bytes, *args: object) -> tuple[str, str]:
    with pytest.raises(MalformedMessageError) as caught:
        wire.classify(topic, payload, *args)  # type: ignore[arg-type]
    return caught.value.reason, caught.value.detail


# ---- each kind, field by field -----------------------------------------------------------


def test_site_level_messages_become_their_items_with_the_bytes_kept() -> None:
    payload = triage()
    assert wire.classify(topics.triage(SITE), payload) == wire.TriageItem(
        messages.TriageMessage.model_validate_json(payload), payload
    )
    payload = alert()
    assert wire.classify(topics.alerts(SITE), payload) == wire.AlertItem(
        messages.AlertMessage.model_validate_json(payload), payload
    )
    payload = ack()
    assert wire.classify(topics.acks(SITE), payload) == wire.AckItem(
        SITE, messages.AckMessage.model_validate_json(payload), payload
    )
    payload = answer()
    assert wire.classify(topics.exam_answers(SITE), payload) == wire.ExamAnswerItem(
        SITE, messages.ExamAnswerMessage.model_validate_json(payload), payload
    )
    payload = exam_json(EXAM)
    assert wire.classify(topics.exams(SITE), payload) == wire.ExamItem(EXAM, SITE, payload)


def test_status_is_named_by_its_device_or_else_its_agent() -> None:
    of_device = status(device=DEVICE)
    assert wire.classify(topics.device_status(SITE, DEVICE), of_device) == wire.StatusItem(
        DEVICE, messages.StatusMessage.model_validate_json(of_device), of_device
    )
    of_agent = status()
    assert wire.classify(topics.agent_status(SITE, AGENT), of_agent) == wire.StatusItem(
        AGENT, messages.StatusMessage.model_validate_json(of_agent), of_agent
    )
    # A device's status on its agent's topic, and the other way round: each names another source.
    assert refusal(topics.agent_status(SITE, AGENT), of_device) == ("topic_mismatch", "source")
    assert refusal(topics.device_status(SITE, DEVICE), of_agent) == ("topic_mismatch", "source")
    assert refusal(topics.agent_status("home-b", AGENT), of_agent) == ("topic_mismatch", "site")


def test_a_recording_and_its_audio_become_their_items() -> None:
    assert wire.classify(REC.meta_topic, REC.meta_json) == wire.RecordingMeta(
        REC.meta, REC.meta_json
    )
    expected = wire.RecordingAudio(REC.recording_id, SITE, DEVICE, REC.flac)
    assert wire.classify(REC.audio_topic, REC.flac, REC.properties, "audio/flac") == expected
    assert wire.classify(REC.audio_topic, REC.flac) == expected  # MQTT 3.1.1: the FLAC's tag
    upper = (("recording_id", REC.recording_id.upper()),)
    assert wire.classify(REC.audio_topic, REC.flac, upper) == expected  # the UUID's own form


# ---- refusals: reason and detail -------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        (topics.triage(SITE), b"[]", ("invalid_triage", "(root): model_type")),
        (topics.triage(SITE), b'{"level": "review"}', ("invalid_triage", "recording_id: missing")),
        (topics.alerts(SITE), b"{}", ("invalid_alert", "alert_id: missing")),
        (topics.acks(SITE), b'{"alert_id": 1}', ("invalid_ack", "alert_id: uuid_type")),
        (topics.exam_answers(SITE), b"{}", ("invalid_exam_answer", "exam_id: missing")),
        (topics.exams(SITE), b"{}", ("invalid_exam", "exam_id: missing")),
        (REC.meta_topic, b"{}", ("invalid_recording", "recording_id: missing")),
        (topics.device_status(SITE, DEVICE), b"{}", ("invalid_status", "state: missing")),
        (topics.triage("home-b"), triage(), ("topic_mismatch", "site")),
        (topics.alerts("home-b"), alert(), ("topic_mismatch", "site")),
        (topics.exams("home-b"), exam_json(EXAM), ("topic_mismatch", "site")),
        (topics.recording("home-b", DEVICE), REC.meta_json, ("topic_mismatch", "site")),
        (topics.recording(SITE, "steth-b"), REC.meta_json, ("topic_mismatch", "device")),
        (f"stetho/v1/{SITE}/Steth/recordings", REC.meta_json, ("unexpected_topic", "")),
        (f"stetho/v1/{SITE}/Steth/recordings/audio", REC.flac, ("unexpected_topic", "")),
        (f"stetho/v1/{SITE}/{DEVICE}/recordings/other", b"{}", ("unexpected_topic", "")),
        (f"stetho/v1/{SITE}/{DEVICE}/unknown", b"{}", ("unexpected_topic", "")),
        (f"stetho/v1/{SITE}/exams/other", b"{}", ("unexpected_topic", "")),
        ("stetho/v1/home-a", b"{}", ("unexpected_topic", "")),
        (topics.triage(SITE), b"", ("empty_payload", "")),
    ],
)  # fmt: skip
def test_each_refusal_has_its_reason_and_a_detail_without_the_payload(
    topic: str, payload: bytes, expected: tuple[str, str]
) -> None:
    assert refusal(topic, payload) == expected


def test_a_nested_field_is_named_by_its_path() -> None:
    bad_flag = json.loads(triage()) | {"flags": [{"code": 1, "reason": "r", "value": None}]}
    assert refusal(topics.triage(SITE), json.dumps(bad_flag).encode()) == (
        "invalid_triage", "flags.0.code: string_type",
    )  # fmt: skip


def test_audio_refusals_say_what_was_wrong() -> None:
    odd_type = "application/x-" + "a" * 50
    assert refusal(REC.audio_topic, REC.flac, REC.properties, odd_type) == (
        "wrong_content_type", odd_type[:40],
    )  # fmt: skip
    assert refusal(REC.audio_topic, b"RIFF....", REC.properties) == ("not_flac", "")
    assert refusal(REC.audio_topic, REC.flac, (("schema_version", "1"),)) == (
        "missing_recording_id", "",
    )  # fmt: skip
    assert refusal(REC.audio_topic, REC.flac, (("recording_id", "nope"),)) == (
        "missing_recording_id", "not a UUID",
    )  # fmt: skip


# ---- caps at their edges ----------------------------------------------------------------------


def test_audio_cap_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_AUDIO_BYTES", len(REC.flac))
    assert isinstance(wire.classify(REC.audio_topic, REC.flac, REC.properties), wire.RecordingAudio)
    monkeypatch.setattr(wire, "MAX_AUDIO_BYTES", len(REC.flac) - 1)
    assert refusal(REC.audio_topic, REC.flac, REC.properties) == (
        "too_large", f"{len(REC.flac)} bytes",
    )  # fmt: skip


def test_announced_audio_size_cap_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_AUDIO_BYTES", REC.meta.audio.size_bytes)
    assert isinstance(wire.classify(REC.meta_topic, REC.meta_json), wire.RecordingMeta)
    monkeypatch.setattr(wire, "MAX_AUDIO_BYTES", REC.meta.audio.size_bytes - 1)
    assert refusal(REC.meta_topic, REC.meta_json) == ("too_large", "audio.size_bytes")


def test_json_cap_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = triage()
    monkeypatch.setattr(wire, "MAX_JSON_BYTES", len(payload))
    assert isinstance(wire.classify(topics.triage(SITE), payload), wire.TriageItem)
    monkeypatch.setattr(wire, "MAX_JSON_BYTES", len(payload) - 1)
    assert refusal(topics.triage(SITE), payload) == ("too_large", f"{len(payload)} bytes")


def test_a_refused_topic_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # MQTT topics may hold a newline, and a care home's ACL lets it publish any suffix under its
    # own prefix: the refusal logged the topic raw, so one line could become two.
    config = parse_config({"database": {"sqlite": "hub.db"}}, "hub.toml", tmp_path)
    archive = open_archive(config)
    service = IngestService(mqtt_settings(config), archive, "hub-1")
    topic = "stetho/v1/home-a/x\nevent=recording_archived recording=forged/status"
    message = ReceivedMessage(topic, b"{}", False, "application/json", ())
    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(service._handle(cast(MqttConnection, None), [message]))
    finally:
        archive.db.close()
    (line,) = [r.getMessage() for r in caplog.records if "message_refused" in r.getMessage()]
    assert "\n" not in line
    assert 'topic="stetho/v1/home-a/x\\nevent=recording_archived recording=forged/status"' in line


@pytest.mark.parametrize(
    "topic", ["stetho/v1/home-a\n/steth-a/status", "stetho/v1/home-a/steth-a\n/status"]
)
def test_a_slug_with_a_trailing_newline_is_an_unexpected_topic(topic: str) -> None:
    # The slug pattern ends in `$`, which re.match lets through before a final newline.
    with pytest.raises(MalformedMessageError) as refused:
        wire.classify(topic, b"{}", (), "application/json")
    assert refused.value.reason == "unexpected_topic"
