"""SIGKILL the hub while recordings arrive: each is archived exactly once, its SHA-256 intact.

The short form of bench/hub_bench.py (300 recordings, 3 kills); `python -m stetho_hub run` processes
against a real Mosquitto and a real SQLite file or PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget
from tests.stetho_hub.harness import run_kill_scenario

pytestmark = pytest.mark.broker


def test_hub_sigkilled_while_recordings_arrive_archives_each_once(
    broker: LocalBroker, db_target: DatabaseTarget, tmp_path: Path
) -> None:
    run_kill_scenario(broker, db_target, tmp_path, n=40, kills=2, seed=7)
