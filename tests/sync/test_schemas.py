"""docs/schemas/ is generated from the wire models and must not drift from them."""

import json
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from edge_agent.wire import messages, schemas


@pytest.mark.parametrize("filename", sorted(schemas.expected_files()))
def test_committed_schema_matches_the_model(filename: str) -> None:
    committed = (schemas.DEFAULT_DIR / filename).read_text(encoding="utf-8")
    assert committed == schemas.expected_files()[filename], (
        f"docs/schemas/{filename} is stale: run `python -m edge_agent.wire.schemas`"
    )


def test_no_stray_schema_files() -> None:
    on_disk = {p.name for p in schemas.DEFAULT_DIR.glob("*.json")}
    assert on_disk == set(schemas.expected_files())


def test_a_serialised_ack_validates_and_a_bad_one_does_not() -> None:
    ack = messages.AckMessage(
        alert_id=uuid.uuid4(), by="dr-lee", note="seen", at=datetime.now(tz=UTC)
    )
    schema = json.loads((schemas.DEFAULT_DIR / "ack.schema.json").read_text())
    jsonschema.validate(json.loads(messages.to_json(ack)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": "stetho.ack", "alert_id": "x", "by": ""}, schema)
