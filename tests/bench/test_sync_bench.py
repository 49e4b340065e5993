"""The sync bench's memory figure, short form: the agent with 3 stethoscopes fits the budget."""

from pathlib import Path

import pytest

from bench import sync_bench
from edge_agent.runtime.local_broker import LocalBroker


@pytest.mark.broker
def test_agent_with_three_simulated_stethoscopes_stays_within_128_mib(
    broker: LocalBroker, tmp_path: Path
) -> None:
    memory = sync_bench.daemon_rss(broker, tmp_path, seconds=12.0)
    assert memory["rss_peak_mib"] <= sync_bench.RSS_GOAL_MIB, memory
    assert memory["rss_end_mib"] <= sync_bench.RSS_GOAL_MIB, memory
