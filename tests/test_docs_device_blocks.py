"""The `[[devices]]` examples of the deployment and care-home guides: valid, current names."""

import re
import tomllib
from pathlib import Path

import pytest

from edge_agent.config import parse_config

DOCS = Path(__file__).resolve().parents[1] / "docs"


def device_blocks(doc: str) -> list[list[dict[str, object]]]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    return [tomllib.loads(b)["devices"] for b in blocks if "[[devices]]" in b]


@pytest.mark.parametrize("doc", ["deploy-raspberry-pi.md", "care-home.md"])
def test_device_examples_parse_and_use_the_monitoring_block(doc: str) -> None:
    # deploy-raspberry-pi.md showed `[devices.schedule]`, the old name config.example.toml and
    # care-home.md call `monitoring` ("older configs call this block schedule").
    blocks = device_blocks(doc)
    assert blocks
    for devices in blocks:
        assert all("schedule" not in device for device in devices)
        parse_config({"site": "h", "devices": devices}, doc)
