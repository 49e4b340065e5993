"""Mains hum on the wire: `quality.mains_hum_hz`, from the agent's pipeline to the hub's parser.

A recording with hum carries the fundamentals the analysis took out; one without leaves the key
out, so its bytes stay what version-1 readers (which refuse unknown keys) accept, and a hub reads
recordings from agents that never send it. A number of no meaning is refused at the edge, with
where it was.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from edge_agent.pipeline.recordings import process_capture
from edge_agent.wire import messages, schemas, topics
from edge_agent.wire.recording import Capture, RecordingContext
from stetho_hub import wire
from stetho_hub.errors import MalformedMessageError
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize

CTX = RecordingContext("home-1", "pi", "steth-1", "res-7", "mitral", "heart")
TOPIC = topics.recording(CTX.site, CTX.device)


def _recording_json(scenario: str, ctx: RecordingContext = CTX) -> bytes:
    """The recording message the agent publishes for 8 s of `scenario`, as bytes."""
    samples = synthesize(scenario, 8.0, 4000, seed=2).samples
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, 4000, samples, (), False)
    done = process_capture(capture, ctx, TriageThresholds())
    (sent,) = [
        m.payload for m in done.outbound if m.topic == topics.recording(ctx.site, ctx.device)
    ]
    return sent


def _schema(older: bool = False, key: str = "mains_hum_hz") -> dict[str, Any]:
    """The committed recording schema; `older`: as a reader from before the quality had `key`."""
    schema: dict[str, Any] = json.loads((schemas.DEFAULT_DIR / "recording.schema.json").read_text())
    if older:
        del schema["$defs"]["Quality"]["properties"][key]
    return schema


def test_the_hum_travels_from_the_pipeline_to_the_hub() -> None:
    payload = _recording_json("mains-hum")
    quality = json.loads(payload)["analysis"]["quality"]
    assert quality["mains_hum_hz"] == [50.0]
    assert quality["acceptable"] is True and quality["problems"] == []
    jsonschema.validate(json.loads(payload), _schema())
    item = wire.classify(TOPIC, payload)
    assert isinstance(item, wire.RecordingMeta) and item.message.analysis is not None
    assert item.message.analysis.quality.mains_hum_hz == [50.0]
    again = messages.RecordingMessage.model_validate_json(messages.to_json(item.message))
    assert again == item.message


def test_without_hum_the_bytes_are_what_version_1_readers_accept() -> None:
    payload = _recording_json("normal")
    assert b"mains_hum_hz" not in payload
    jsonschema.validate(json.loads(payload), _schema(older=True))
    # A reader from before the key refuses one that carries it: hubs are upgraded first.
    with pytest.raises(jsonschema.ValidationError, match="mains_hum_hz"):
        jsonschema.validate(json.loads(_recording_json("mains-hum")), _schema(older=True))


def test_an_older_agents_recording_reads_as_no_hum() -> None:
    payload = _recording_json("normal")
    item = wire.classify(TOPIC, payload)
    assert isinstance(item, wire.RecordingMeta) and item.message.analysis is not None
    assert item.message.analysis.quality.mains_hum_hz == []
    assert messages.to_json(item.message) == payload  # byte for byte as it came


@pytest.mark.parametrize(
    ("hum", "why"),
    [
        ("[0]", "greater_than"),
        ("[-50.0]", "greater_than"),
        ("[1000.5]", "less_than_equal"),
        ("[NaN]", "finite_number"),
        ('["50"]', "float_type"),
        ("[true]", "float_type"),
        ("50.0", "list_type"),
        ("[50, 60, 16.7, 25, 400]", "too_long"),
    ],
)
def test_a_hum_of_no_meaning_is_refused_at_the_edge(hum: str, why: str) -> None:
    doc = json.loads(_recording_json("normal"))
    doc["analysis"]["quality"]["mains_hum_hz"] = "HUM"
    payload = json.dumps(doc).replace('"HUM"', hum).encode()
    with pytest.raises(ValidationError, match=why):
        messages.RecordingMessage.model_validate_json(payload)
    with pytest.raises(MalformedMessageError) as caught:
        wire.classify(TOPIC, payload)
    assert caught.value.reason == "invalid_recording"
    assert caught.value.detail.startswith("analysis.quality.mains_hum_hz")
    assert caught.value.detail.endswith(why)
