"""Issue 5's acceptance: 30 recordings, 3 broker restarts, 2 agent SIGKILLs, nothing lost.

A plain `mosquitto_sub` with a persistent session, offline during the faults, receives
every recording the agent accepted; the audio passes `flac -t` and decodes to the hashed
samples; every JSON payload validates against docs/schemas/.
"""

import subprocess
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config

pytestmark = pytest.mark.broker


def test_thirty_recordings_survive_three_broker_restarts_and_two_agent_kills(
    broker: LocalBroker, tmp_path: Path
) -> None:
    doctor = MosquittoSub(broker.port, "doctor-done-when", tmp_path / "doctor.txt")
    doctor.start()
    doctor.stop()  # the session lives on at the broker, queueing while the doctor is away
    config = write_config(tmp_path / "agent.toml", broker.port, tmp_path / "state")
    agent = AgentProcess(config, tmp_path / "agent.log")
    agent.start()
    # (recordings accepted so far, fault): faults land while the outbox is being drained.
    plan = [(5, "restart"), (9, "kill"), (14, "restart"), (19, "kill"), (24, "restart")]
    for threshold, fault in plan:
        agent.wait_for_stored(threshold)
        if fault == "restart":
            broker.restart()  # graceful: Mosquitto saves the doctor's queue first
        else:
            agent.kill()
            agent.start()  # same state directory: the outbox is recovered
    stored = agent.wait_for_stored(30)

    assert agent.stop() == 0
    stored = agent.stored_ids()  # including a partial recording closed by SIGTERM
    agent.start()  # a SIGTERM does not wait for the outbox to drain: the next run sends it
    doctor.start()
    delivery = doctor.wait_for(stored, timeout_s=90)
    assert agent.stop() == 0
    doctor.stop()

    counts = check_delivery("done-when", stored, delivery)
    assert counts["accepted"] >= 30
    for rid in sorted(stored)[:30]:
        flac = tmp_path / f"{rid}.flac"
        flac.write_bytes(delivery.audio[rid][0])
        assert subprocess.run(["flac", "-t", "-s", str(flac)], check=False).returncode == 0
