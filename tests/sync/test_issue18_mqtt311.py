"""Issue 18: `broker.protocol = "3.1.1"` through a real RabbitMQ 3.10 (MQTT plugin, no v5).

A real `stetho run` agent and a real hub, both in 3.1.1 mode: recordings arrive with no MQTT
properties (the hub names audio by its FLAC comment), receipts come back, and the agent's
outbox keeps nothing unreceipted. RabbitMQ drops a publish no queue is bound to and still
sends the PUBACK, so a recording published while no hub runs is lost at the broker: the
receipt timeout sends it again, and it arrives once the hub is up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import free_port
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.packet_size import publish_packet_size
from stetho_testkit import rabbitmq
from stetho_testkit.agent_harness import AgentProcess
from stetho_testkit.hub.harness import archived, receipts_status
from tests.sync.mqtt311 import (
    agent_config,
    audio_message,
    hub_process,
    receipt_logged,
    run_publisher,
    three_receipted,
    wait,
)

RABBIT_MAX_MESSAGE = 65536

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not rabbitmq.installed(),
        reason="rabbitmq-server is not installed (scripts/bootstrap.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rabbitmq.RabbitBroker]:
    # A small message size limit, for the broker.max_packet_bytes test; the others' recordings
    # (1.5 s, under 10 KB of FLAC) are well under it.
    broker = rabbitmq.RabbitBroker(tmp_path_factory.mktemp("rabbitmq"), RABBIT_MAX_MESSAGE)
    broker.start()  # one node for the module: it takes 10-20 s to boot
    try:
        yield broker
    finally:
        broker.stop()


def test_agent_and_hub_in_311_mode_deliver_and_receipt_through_rabbitmq(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path
) -> None:
    with three_receipted(tmp_path, rabbit.port, "hub-311") as (agent, hub, state, stored):
        assert agent.stop() == 0, agent.output()[-3000:]
        counts = receipts_status(state)  # written once more at shutdown: nothing left waiting
    print(f"3.1.1 via RabbitMQ: stored {len(stored)}, receipts {json.dumps(counts)}")
    assert counts["awaiting"] == 0, counts
    assert counts["mismatched"] == 0
    assert "missing_recording_id" not in hub.output()


def test_a_recording_rabbitmq_dropped_is_sent_again_and_arrives(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    # Re-sent 2 s after each send at most (receipt_resend_max_s), so once the hub is up the
    # next copy reaches it within 2 s rather than after a backoff of up to 16 s.
    config = agent_config(tmp_path / "a.toml", rabbit.port, state, 2, receipt_resend_max_s=2)
    agent = AgentProcess(config, tmp_path / "agent.log")
    hub, target = hub_process(tmp_path, rabbit.port, "hub-late")  # never connected: no queue yet
    agent.start()
    try:
        (rid,) = agent.wait_for_stored(1)
        # PUBACKed by RabbitMQ, routed nowhere; sent again after 2 s, still to nobody.
        wait("resend", lambda: "event=recordings_sent_again " in agent.output(), 20, agent.output)
        hub.start()
        wait(
            "archived after the hub came up",
            lambda: rid in set(archived(target)) and receipt_logged(agent, rid),
            30,
            lambda: f"{receipts_status(state)} {hub.output()[-1500:]}",
        )
        assert agent.stop() == 0, agent.output()[-3000:]
        counts = receipts_status(state)  # written once more at shutdown
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"3.1.1 dropped then re-sent: receipts {json.dumps(counts)}")
    assert counts["awaiting"] == 0 and counts["sent_again"] >= 1 and counts["archived"] == 1
    assert f"event=recording_archived recording={rid}" in agent.output()


def test_a_recording_over_max_packet_bytes_is_held_and_the_others_are_archived(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path
) -> None:
    # RabbitMQ 3.10 answers a publish over max_message_size with no PUBACK and keeps the link
    # open, PUBACKing nothing after it: the agent must never send it (docs/mqtt.md §11). With
    # the setting, a monitoring duration over it is a config error and a capture over it is
    # refused before it starts (tests/edge_agent/test_issue18_capture_limit.py); what is left
    # for this hold is a recording made before the setting was there, as here.
    hub, target = hub_process(tmp_path, rabbit.port, "hub-limit")
    state = tmp_path / "state"
    unset = agent_config(tmp_path / "before.toml", free_port(), state, 120, ("steth-a", "steth-b"))
    text = unset.read_text(encoding="utf-8")
    head, _, tail = text.rpartition("duration_s = 1.5")  # steth-b: 20 s, about 95 KB of FLAC
    unset.write_text(f"{head}duration_s = 20{tail}", encoding="utf-8")
    before = AgentProcess(unset, tmp_path / "before.log")
    before.start(wait_connected=False)  # no broker on that port: it records, and keeps them
    stored = before.wait_for_stored(2)
    assert before.stop() == 0
    limit = f"max_packet_bytes = {RABBIT_MAX_MESSAGE}\n"
    config = agent_config(
        tmp_path / "a.toml", rabbit.port, state, 120, ("steth-a", "steth-b"), broker_extra=limit
    )
    with config.open("a", encoding="utf-8") as more:  # the 15 s default would not fit: refused
        more.write("[exam]\nduration_s = 5\n")
    agent = AgentProcess(config, tmp_path / "agent.log")
    hub.start()
    try:
        agent.start()
        wait(
            "the short ones receipted, the long one held",
            lambda: agent.output().count("event=recording_archived ") == 3 and _held(agent),
            40,
            lambda: f"{receipts_status(state)} {agent.output()[-2000:]}",
        )
        assert agent.stop() == 0, agent.output()[-3000:]
        status = json.loads((state / "status.json").read_text(encoding="utf-8"))  # as it stopped
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.kill()
        hub.kill()
    print(f"3.1.1 via RabbitMQ, limit {RABBIT_MAX_MESSAGE}: broker {json.dumps(status['broker'])}")
    assert len(stored - set(archived(target))) == 1  # the 20 s one, held
    assert status["broker"]["connects"] == 1  # no stalled link, no reconnect
    assert status["broker"]["too_large"] == 1
    assert "exceeds broker.max_packet_bytes (65536 bytes)" in status["broker"]["packet_alarm"]
    assert status["receipts"]["awaiting"] == 1  # kept until the limit is raised
    assert "limit_from=broker.max_packet_bytes kept_in_outbox=1" in agent.output()


def _held(agent: AgentProcess) -> bool:
    """The agent logged that it keeps a recording the broker's limit cannot take."""
    return "limit_from=broker.max_packet_bytes kept_in_outbox=1" in agent.output()


def test_without_the_setting_rabbitmqs_silent_stall_ends_the_link_and_names_the_key(
    rabbit: rabbitmq.RabbitBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No PUBACK and no close: in 3.1.1 mode a PUBACK that does not come ends the link (2 s
    # here, 30 s in the daemon), and the same big message caught twice raises the alarm.
    caplog.set_level(logging.INFO)
    items = [audio_message(i, size) for i, size in enumerate((1000, 70000, 900))]
    settings = MqttSettings(rabbit.host, rabbit.port, "agent-stall", protocol="3.1.1")
    link = run_publisher(
        settings, tmp_path / "o.db", items, lambda p, _: bool(p.stats.packet_alarm), 2.0
    )
    alarm = link.stats.packet_alarm or ""
    print(f"RabbitMQ stall: losses {link.stats.losses}, alarm {alarm!r}")
    assert link.stats.losses >= 2
    assert "broker.max_packet_bytes" in alarm
    assert str(publish_packet_size(items[1], v5=False)) in alarm
    assert "event=link_lost_on_large_message seq=2" in caplog.text
