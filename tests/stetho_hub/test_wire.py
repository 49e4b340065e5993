"""The hub's parser alone: bytes and topics in, items or refusal reasons out."""

from __future__ import annotations

import pytest

from firmware_bridge.flac_tags import set_vorbis_comments
from stetho_hub import wire
from stetho_hub.errors import MalformedMessageError
from stetho_testkit.hub.factory import exam_json, make_recording

REC = make_recording(0)
EXAM = "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b"


def test_every_kind_is_recognised_by_its_topic() -> None:
    meta = wire.classify(REC.meta_topic, REC.meta_json)
    assert isinstance(meta, wire.RecordingMeta) and meta.recording_id == REC.recording_id
    assert meta.exam_id is None
    audio = wire.classify(REC.audio_topic, REC.flac, REC.properties, "audio/flac")
    assert isinstance(audio, wire.RecordingAudio) and audio.recording_id == REC.recording_id
    exam = wire.classify("stetho/v1/home-a/exams", exam_json(EXAM))
    assert isinstance(exam, wire.ExamItem) and exam.exam_id == EXAM


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("other/v1/home-a/triage", b"{}", "unexpected_topic"),
        ("stetho/v2/home-a/triage", b"{}", "unexpected_topic"),
        ("stetho/v1/Home/triage", b"{}", "unexpected_topic"),
        ("stetho/v1/home-a/unknown", b"{}", "unexpected_topic"),
        ("stetho/v1/home-a/triage", b"", "empty_payload"),
        ("stetho/v1/home-a/triage", b"{" * (wire.MAX_JSON_BYTES + 1), "too_large"),
        ("stetho/v1/home-a/triage", b"[]", "invalid_triage"),
        ("stetho/v1/home-b/steth-a/recordings", REC.meta_json, "topic_mismatch"),
        ("stetho/v1/home-a/steth-b/recordings", REC.meta_json, "topic_mismatch"),
        ("stetho/v1/home-a/exams", b'{"schema":"stetho.exam","exam_id":"a/b"}', "invalid_exam"),
        ("stetho/v1/home-a/exams", '{"schema":"stetho.exam"}'.encode("utf-16"), "invalid_exam"),
        ("stetho/v1/home-a/exams", exam_json(EXAM, site="home-b"), "topic_mismatch"),
        ("stetho/v1/home-a/pi-a/exams", exam_json(EXAM), "unexpected_topic"),
    ],
)
def test_bad_messages_are_refused_with_a_stable_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        wire.classify(topic, payload)
    assert caught.value.reason == reason


def test_audio_needs_one_uuid_recording_id_and_flac_bytes() -> None:
    topic = REC.audio_topic
    for props, reason in [
        ((("schema_version", "1"),), "missing_recording_id"),
        ((("recording_id", "nope"),), "missing_recording_id"),
        ((("recording_id", REC.recording_id),) * 2, "missing_recording_id"),
    ]:
        with pytest.raises(MalformedMessageError, match=reason):
            wire.classify(topic, REC.flac, props, "audio/flac")
    with pytest.raises(MalformedMessageError, match="not_flac"):
        wire.classify(topic, b"RIFF", REC.properties, "audio/flac")


def test_without_properties_audio_is_named_by_its_flac_comment() -> None:
    # MQTT 3.1.1 carries no user properties: the agent's Vorbis COMMENT=recording_id=<uuid>
    # names the recording instead (docs/mqtt.md, "MQTT 3.1.1 mode").
    audio = wire.classify(REC.audio_topic, REC.flac)
    assert isinstance(audio, wire.RecordingAudio)
    assert audio.recording_id == REC.recording_id
    untagged = set_vorbis_comments(REC.flac, {"TITLE": "no id"})
    with pytest.raises(MalformedMessageError, match="missing_recording_id"):
        wire.classify(REC.audio_topic, untagged)
    with pytest.raises(MalformedMessageError, match="missing_recording_id"):
        wire.classify(REC.audio_topic, b"fLaC\x84\x00\xff")  # metadata cut short


def test_refusal_details_never_carry_the_payload() -> None:
    note = b'{"schema":"stetho.ack","schema_version":1,"alert_id":"x","by":"d","note":"Mrs Smith"}'
    with pytest.raises(MalformedMessageError) as caught:
        wire.classify("stetho/v1/home-a/acks", note)
    assert "Smith" not in str(caught.value)


def test_shared_subscriptions_prefix_every_filter() -> None:
    shared = wire.subscription_filters("hubs")
    assert all(f.startswith("$share/hubs/stetho/v1/") for f in shared)
    assert len(shared) == len(wire.SUBSCRIPTIONS)
