"""A recording salvaged from a damaged outbox is delivered only if its parts are whole."""

import json

import numpy as np
import pytest

from edge_agent.pipeline.salvage_check import check_salvaged_recording
from edge_agent.storage.outbox import OutboundMessage
from firmware_bridge.flac import encode_flac, pcm_sha256

RATE = 4000
JSON = "application/json"
META_TOPIC = "stetho/v1/h/s/recordings"
AUDIO_TOPIC = "stetho/v1/h/s/recordings/audio"
TRIAGE_TOPIC = "stetho/v1/h/s/triage"
PCM = (np.sin(np.arange(RATE) / 7.0) * 8000).astype(np.int16)
FLAC = encode_flac(PCM, RATE, {})


def meta(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "sample_rate_hz": RATE,
        "n_samples": len(PCM),
        "audio": {"pcm_sha256": pcm_sha256(PCM)},
    }
    document.update(changes)
    return document


def json_part(topic: str, document: object) -> OutboundMessage:
    return OutboundMessage(
        topic, json.dumps(document).encode(), content_type=JSON, recording_id="r"
    )


def audio_part(payload: bytes = FLAC) -> OutboundMessage:
    return OutboundMessage(AUDIO_TOPIC, payload, content_type="audio/flac", recording_id="r")


def test_a_whole_recording_with_its_triage_passes() -> None:
    parts = [json_part(META_TOPIC, meta()), audio_part(), json_part(TRIAGE_TOPIC, {"x": 1})]
    assert check_salvaged_recording(parts) is None


def test_a_damaged_json_part_is_named_by_its_topic() -> None:
    bad = OutboundMessage(TRIAGE_TOPIC, b'{"level": "ur\xff', content_type=JSON, recording_id="r")
    assert check_salvaged_recording([json_part(META_TOPIC, meta()), audio_part(), bad]) == (
        f"unreadable JSON on {TRIAGE_TOPIC}"
    )


@pytest.mark.parametrize(
    "parts",
    [
        [audio_part()],  # no metadata
        [json_part(META_TOPIC, meta())],  # no audio
        [json_part(META_TOPIC, [meta()]), audio_part()],  # metadata that is not an object
        [json_part(TRIAGE_TOPIC, meta()), audio_part()],  # an object, but not the metadata
    ],
)
def test_a_recording_without_its_metadata_or_audio_is_held_back(
    parts: list[OutboundMessage],
) -> None:
    assert check_salvaged_recording(parts) == "metadata or audio missing"


def test_only_the_metadata_topic_is_read_as_metadata() -> None:
    # A triage object after the metadata must not take its place.
    parts = [json_part(META_TOPIC, meta()), audio_part(), json_part(TRIAGE_TOPIC, {"n": 1})]
    assert check_salvaged_recording(parts) is None


def test_audio_that_does_not_decode_is_held_back() -> None:
    problem = check_salvaged_recording(
        [json_part(META_TOPIC, meta()), audio_part(b"fLaC" + bytes(64))]
    )
    assert problem is not None and problem.startswith("audio does not decode: ")
    assert len(problem) > len("audio does not decode: ")


@pytest.mark.parametrize(
    "changes", [{"sample_rate_hz": RATE + 1}, {"n_samples": len(PCM) - 1}, {"sample_rate_hz": None}]
)
def test_audio_of_another_length_or_rate_is_held_back(changes: dict[str, object]) -> None:
    parts = [json_part(META_TOPIC, meta(**changes)), audio_part()]
    assert check_salvaged_recording(parts) == "audio length or rate differs from its metadata"


@pytest.mark.parametrize("audio", [{"pcm_sha256": "0" * 64}, {}, "not an object", None])
def test_audio_that_is_not_the_described_audio_is_held_back(audio: object) -> None:
    parts = [json_part(META_TOPIC, meta(audio=audio)), audio_part()]
    assert check_salvaged_recording(parts) == "audio differs from its metadata's pcm_sha256"
