"""A faint sound on the wire: `quality.faint_level_dbfs`, from the agent's pipeline to the hub.

A recording from a stethoscope at low gain whose sound is still clear is analysed and carries
its band's level; any other leaves the key out, so its bytes stay what version-1 readers
(which refuse unknown keys) accept. A level of no meaning is refused at the edge, with where it
was.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from edge_agent.wire import messages, topics
from edge_agent.wire.recording import RecordingContext
from stetho_hub import wire
from stetho_hub.errors import MalformedMessageError
from stetho_signal.quality import FAINT_BELOW_DBFS
from tests.edge_agent import test_hum_wire as hum_wire

CTX = RecordingContext("home-1", "pi", "steth-1", "res-7", "left-base", "lung")
TOPIC = topics.recording(CTX.site, CTX.device)


def _recording_json(scenario: str) -> bytes:
    return hum_wire._recording_json(scenario, CTX)


def _schema(older: bool = False) -> dict[str, Any]:
    return hum_wire._schema(older, "faint_level_dbfs")


def test_a_faint_level_travels_from_the_pipeline_to_the_hub() -> None:
    payload = _recording_json("low-gain")
    quality = json.loads(payload)["analysis"]["quality"]
    assert -80.0 < quality["faint_level_dbfs"] < FAINT_BELOW_DBFS
    assert quality["acceptable"] is True and quality["problems"] == []
    jsonschema.validate(json.loads(payload), _schema())
    item = wire.classify(TOPIC, payload)
    assert isinstance(item, wire.RecordingMeta) and item.message.analysis is not None
    assert item.message.analysis.quality.faint_level_dbfs == quality["faint_level_dbfs"]
    again = messages.RecordingMessage.model_validate_json(messages.to_json(item.message))
    assert again == item.message


def test_at_the_usual_level_the_bytes_are_what_version_1_readers_accept() -> None:
    payload = _recording_json("lung-normal")
    assert b"faint_level_dbfs" not in payload
    jsonschema.validate(json.loads(payload), _schema(older=True))
    item = wire.classify(TOPIC, payload)
    assert isinstance(item, wire.RecordingMeta) and item.message.analysis is not None
    assert item.message.analysis.quality.faint_level_dbfs is None
    assert messages.to_json(item.message) == payload  # byte for byte as it came
    # A reader from before the key refuses one that carries it: hubs are upgraded first.
    with pytest.raises(jsonschema.ValidationError, match="faint_level_dbfs"):
        jsonschema.validate(json.loads(_recording_json("low-gain")), _schema(older=True))


@pytest.mark.parametrize(
    ("level", "why"),
    [
        ("0", "less_than"),
        ("3.5", "less_than"),
        ("-200", "greater_than"),
        ("-1e300", "greater_than"),
        ("NaN", "finite_number"),
        ('"-74"', "float_type"),
        ("true", "float_type"),
        ("[-74.0]", "float_type"),
    ],
)
def test_a_level_of_no_meaning_is_refused_at_the_edge(level: str, why: str) -> None:
    doc = json.loads(_recording_json("lung-normal"))
    doc["analysis"]["quality"]["faint_level_dbfs"] = "LEVEL"
    payload = json.dumps(doc).replace('"LEVEL"', level).encode()
    with pytest.raises(ValidationError, match=why):
        messages.RecordingMessage.model_validate_json(payload)
    with pytest.raises(MalformedMessageError) as caught:
        wire.classify(TOPIC, payload)
    assert caught.value.reason == "invalid_recording"
    assert caught.value.detail.startswith("analysis.quality.faint_level_dbfs")
    assert caught.value.detail.endswith(why)
