"""docs/mqtt.md's example of a doctor's file holds only keys the tools read."""

import tomllib
from pathlib import Path

from edge_agent.config import BrokerConfig

MQTT_DOC = Path(__file__).resolve().parents[1] / "docs" / "mqtt.md"


def test_the_doctor_file_example_is_a_broker_table() -> None:
    text = MQTT_DOC.read_text(encoding="utf-8")
    after = text.split("stetho/doctor.toml`", 1)[1]
    example = after.split("```toml\n", 1)[1].split("```", 1)[0]
    data = tomllib.loads(example)
    assert set(data) == {"broker"}
    assert set(data["broker"]) <= set(BrokerConfig.model_fields)
    assert data["broker"]["tls"] is True  # the TLS files need it (a config error otherwise)
