"""A real `stetho run` agent and a real hub: every recording archived, receipted, matched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.agent_harness import AgentProcess, write_config
from stetho_testkit.hub.harness import (
    HubProcess,
    archived,
    outbox_receipts,
    receipts_status,
    write_hub_config,
)
from stetho_testkit.poll import wait_until

pytestmark = pytest.mark.broker


def test_the_agent_forgets_a_recording_only_once_the_hub_archived_it(
    broker: LocalBroker, tmp_path: Path
) -> None:
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    hub = HubProcess(
        write_hub_config(tmp_path / "hub.toml", broker.port, target, tmp_path / "audio"),
        tmp_path / "hub.log",
    )
    state = tmp_path / "state"
    config = write_config(
        tmp_path / "a.toml",
        broker.port,
        state,
        devices=("steth-a", "steth-b"),
        receipt_timeout_s=120,
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    hub.start()
    try:
        agent.start()
        stored = agent.wait_for_stored(6)
        # The agent logs each receipt as it applies it; status.json would say so only at its
        # next refresh, up to 5 s later.
        wait_until(
            lambda: (
                stored <= set(archived(target))
                and all(
                    f"event=recording_archived recording={rid}" in agent.output() for rid in stored
                )
            ),
            60,
            every_s=0.2,
            what="every recording archived and its receipt applied",
            describe=lambda: (receipts_status(state), hub.output()[-2000:]),
        )
        counts = outbox_receipts(state)  # what status.json would show: the outbox's own rows
    finally:  # the agent's own shutdown is tested elsewhere; here only what it did counts
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"agent -> hub: stored {len(stored)}, receipts {json.dumps(counts)}")
    assert counts["sent_again"] == 0 and "event=receipt_mismatch" not in agent.output()
    for rid in stored:
        assert f"event=recording_archived recording={rid}" in agent.output()
