"""A recording's identity is one value: every message that carries it carries all of it."""

import dataclasses

import pytest

from edge_agent.wire import messages
from edge_agent.wire.recording import RecordingContext

CTX = RecordingContext("home-1", "pi-1", "steth-1", "res-9", "mitral", "heart")


def test_messages_carry_every_identity_field() -> None:
    identity = {f.name for f in dataclasses.fields(RecordingContext)}
    assert identity == set(CTX.fields())
    assert identity <= set(messages.RecordingMessage.model_fields)
    assert identity <= set(messages.AlertMessage.model_fields)
    assert set(CTX.where()) == identity - {"agent"}
    assert set(CTX.where()) <= set(messages.TriageMessage.model_fields)
    assert "agent" not in messages.TriageMessage.model_fields


def test_identity_round_trips_through_its_fields() -> None:
    assert RecordingContext.from_fields(dict(CTX.fields())) == CTX


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "knee"}, "kind 'knee'"),
        ({"resident": ""}, "resident"),
        ({"device": 7}, "device"),
    ],
)
def test_a_damaged_identity_is_refused_by_name(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RecordingContext.from_fields({**CTX.fields(), **change})
