"""Fault injection with real processes: broker kills, a network partition, agent SIGKILLs.

"Accepted" means the recording's outbox transaction committed (the agent then logs
`event=recording_stored`); a recording still being captured when the agent dies was
never accepted. Each test asserts every accepted recording reaches a persistent
subscriber with audio that decodes to the hashed samples, and prints the counts.
"""

import random
import sqlite3
import time
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config
from stetho_testkit.poll import wait_until
from tests.sync.proxy import PartitionProxy

pytestmark = pytest.mark.broker


def unsent_ids(state: Path) -> set[str]:
    with sqlite3.connect(state / "outbox.sqlite3") as db:
        rows = db.execute("SELECT DISTINCT recording_id FROM messages WHERE sent_at IS NULL")
        return {str(r[0]) for r in rows}


def wait_all_sent(state: Path, stored: set[str], timeout_s: float = 60) -> None:
    """Until every recording in `stored` has each of its messages acknowledged (PUBACK)."""
    wait_until(
        lambda: not unsent_ids(state) & stored,
        timeout_s,
        every_s=0.2,
        what="a PUBACK for every stored recording",
        describe=lambda: f"still unsent: {unsent_ids(state) & stored}",
    )


def never_sent_ids(state: Path) -> set[str]:
    """Recordings none of whose messages has been acknowledged yet."""
    with sqlite3.connect(state / "outbox.sqlite3") as db:
        rows = db.execute(
            "SELECT recording_id FROM messages WHERE recording_id IS NOT NULL"
            " GROUP BY recording_id HAVING COUNT(sent_at) = 0"
        )
        return {str(r[0]) for r in rows}


def test_agent_sigkilled_at_random_points_loses_nothing(
    broker: LocalBroker, tmp_path: Path
) -> None:
    rng = random.Random(5)
    doctor = MosquittoSub(broker.port, "doctor-kill", tmp_path / "doctor.txt")
    doctor.start()
    agent = AgentProcess(
        write_config(tmp_path / "a.toml", broker.port, tmp_path / "state"), tmp_path / "a.log"
    )
    agent.start()
    for _ in range(4):
        agent.wait_for_stored(len(agent.stored_ids()) + 1)
        time.sleep(rng.uniform(0.0, 1.5))  # anywhere: capturing, analysing, storing, publishing
        agent.kill()
        agent.start()
    agent.wait_for_stored(len(agent.stored_ids()) + 3)
    assert agent.stop() == 0
    agent.start()  # drain whatever SIGTERM left in the outbox
    stored = agent.stored_ids()
    delivery = doctor.wait_for(stored)
    assert agent.stop() == 0
    doctor.stop()
    counts = check_delivery("agent-sigkill", agent.stored_ids() & stored, delivery)
    assert counts["accepted"] >= 8


def test_partition_that_stalls_then_drops(broker: LocalBroker, tmp_path: Path) -> None:
    doctor = MosquittoSub(broker.port, "doctor-partition", tmp_path / "doctor.txt")
    doctor.start()
    with PartitionProxy(broker.port) as proxy:
        config = write_config(tmp_path / "a.toml", proxy.port, tmp_path / "state")
        agent = AgentProcess(config, tmp_path / "a.log")
        agent.start()
        agent.wait_for_stored(3)
        proxy.stall()
        time.sleep(4)  # bytes vanish but the socket stays up: PUBACKs never come
        proxy.drop()
        time.sleep(2)  # connections reset, reconnects refused
        during = len(agent.stored_ids())
        proxy.heal()
        agent.wait_for_stored(during + 5)
        stored = agent.stored_ids()
        delivery = doctor.wait_for(stored, timeout_s=90)
        assert agent.stop() == 0
    doctor.stop()
    assert "event=broker_disconnected" in agent.output()
    check_delivery("partition", stored, delivery)


def test_broker_killed_repeatedly_is_reported(broker: LocalBroker, tmp_path: Path) -> None:
    """SIGKILLed, Mosquitto can lose what it had PUBACKed but not yet saved: we report it.

    The agent's side is strict: everything accepted was acknowledged by a broker (nothing
    left unsent). Of what the subscriber got, only the recordings that reached the broker
    that stays up are asserted, since the persistence of a killed Mosquitto is outside the
    agent's control (docs/mqtt.md); the losses of the killed ones are printed.
    """
    doctor = MosquittoSub(broker.port, "doctor-broker-kill", tmp_path / "doctor.txt")
    doctor.start()
    doctor.stop()
    state = tmp_path / "state"
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, state), tmp_path / "a.log")
    agent.start()
    for round_ in range(3):
        agent.wait_for_stored(4 * (round_ + 1))
        broker.kill()
        time.sleep(1.0)  # recordings pile up in the outbox meanwhile
        if round_ == 2:
            # No broker is up, so nothing can be acknowledged now: every recording not yet
            # stored, or stored but with no message sent, goes to the broker that stays up.
            stored_before_last_start = agent.stored_ids()
            never_sent = never_sent_ids(state)
        broker.start()
    stored = agent.wait_for_stored(len(agent.stored_ids()) + 3)
    wait_all_sent(state, stored)
    doctor.start()
    delivery = doctor.wait_for(stored, timeout_s=10)
    assert agent.stop() == 0
    doctor.stop()
    got = stored & delivery.complete_ids()
    print(
        f"broker-sigkill: accepted={len(stored)} delivered={len(got)} "
        f"lost_by_killed_broker={len(stored - got)} duplicates={delivery.duplicates()}"
    )
    must_arrive = (never_sent & stored_before_last_start) | (stored - stored_before_last_start)
    assert len(must_arrive) >= 3
    assert must_arrive <= got, f"lost by the broker that stayed up: {must_arrive - got}"
