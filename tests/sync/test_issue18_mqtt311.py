"""Issue 18: `broker.protocol = "3.1.1"` through a real RabbitMQ 3.10 (MQTT plugin, no v5).

A real `stetho run` agent and a real hub, both in 3.1.1 mode: recordings arrive with no MQTT
properties (the hub names audio by its FLAC comment), receipts come back, and the agent's
outbox keeps nothing unreceipted. RabbitMQ drops a publish no queue is bound to and still
sends the PUBACK, so a recording published while no hub runs is lost at the broker: the
receipt timeout sends it again, and it arrives once the hub is up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import rabbitmq
from tests.stetho_hub.harness import archived, receipts_status
from tests.sync.harness import AgentProcess
from tests.sync.mqtt311 import agent_config, hub_process, wait

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not rabbitmq.installed(),
        reason="rabbitmq-server is not installed (scripts/bootstrap.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rabbitmq.RabbitBroker]:
    broker = rabbitmq.RabbitBroker(tmp_path_factory.mktemp("rabbitmq"))
    broker.start()  # one node for the module: it takes 10-20 s to boot
    try:
        yield broker
    finally:
        broker.stop()


def test_agent_and_hub_in_311_mode_deliver_and_receipt_through_rabbitmq(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path
) -> None:
    hub, target = hub_process(tmp_path, rabbit.port, "hub-311")
    state = tmp_path / "state"
    devices = ("steth-a", "steth-b", "steth-c")  # one recording each (interval 600 s)
    config = agent_config(tmp_path / "a.toml", rabbit.port, state, 120, devices=devices)
    agent = AgentProcess(config, tmp_path / "agent.log")
    hub.start()
    try:
        agent.start()
        stored = agent.wait_for_stored(3)

        def all_receipted() -> bool:
            return stored <= set(archived(target)) and receipts_status(state).get(
                "archived", 0
            ) >= len(stored)

        wait(
            "receipts",
            all_receipted,
            40,
            lambda: f"{receipts_status(state)} {hub.output()[-1500:]}",
        )
        assert agent.stop() == 0, agent.output()[-3000:]
        counts = receipts_status(state)  # written once more at shutdown: nothing left waiting
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"3.1.1 via RabbitMQ: stored {len(stored)}, receipts {json.dumps(counts)}")
    assert counts["awaiting"] == 0, counts
    assert counts["mismatched"] == 0
    assert "missing_recording_id" not in hub.output()


def test_a_recording_rabbitmq_dropped_is_sent_again_and_arrives(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    config = agent_config(tmp_path / "a.toml", rabbit.port, state, 2)
    agent = AgentProcess(config, tmp_path / "agent.log")
    hub, target = hub_process(tmp_path, rabbit.port, "hub-late")  # never connected: no queue yet
    agent.start()
    try:
        (rid,) = agent.wait_for_stored(1)
        # PUBACKed by RabbitMQ, routed nowhere; sent again after 2 s, still to nobody.
        wait("resend", lambda: receipts_status(state).get("sent_again", 0) >= 1, 20, agent.output)
        hub.start()
        wait(
            "archived after the hub came up",
            lambda: rid in set(archived(target)) and receipts_status(state).get("archived", 0) == 1,
            30,
            lambda: f"{receipts_status(state)} {hub.output()[-1500:]}",
        )
        counts = receipts_status(state)
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"3.1.1 dropped then re-sent: receipts {json.dumps(counts)}")
    assert counts["awaiting"] == 0
    assert f"event=recording_archived recording={rid}" in agent.output()
