"""Shared fixtures: a real Mosquitto per test on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.local_broker import LocalBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A real Mosquitto with its own generated config, stopped after the test."""
    instance = LocalBroker(tmp_path / "mosquitto")
    instance.start()
    try:
        yield instance
    finally:
        instance.kill()
