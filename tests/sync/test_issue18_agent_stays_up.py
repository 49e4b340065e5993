"""Issue 18: `stetho run` outlives a misbehaving broker, keeps recording, then delivers it all.

Before: each of these ended the daemon with an unhandled exception group (exit 1).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config
from stetho_testkit.poll import wait_until
from tests.fakes.mqtt5_broker import Behaviour, FakeBroker

pytestmark = pytest.mark.broker


def recording_ids(broker: FakeBroker) -> set[str]:
    ids = set()
    for message in list(broker.received):
        if message.topic.endswith("/recordings"):
            ids.add(str(json.loads(message.payload)["recording_id"]))
    return ids


def test_agent_survives_close_after_connack_and_a_stalled_subscribe(tmp_path: Path) -> None:
    script = [Behaviour(close_after_connack=True)] * 2 + [Behaviour(stall_subscribe=True)]
    broker = FakeBroker([*script, Behaviour()]).start()
    # The SUBACK wait set to 2 s (10 s by default): the same path, 8 s sooner.
    config = write_config(
        tmp_path / "a.toml", broker.port, tmp_path / "state", speed=5, subscribe_timeout_s=2.0
    )
    agent = AgentProcess(config, tmp_path / "a.log")
    try:
        agent.start(wait_connected=False)
        stored = agent.wait_for_stored(3, timeout_s=30)  # recording goes on meanwhile
        wait_until(
            lambda: stored <= recording_ids(broker),
            40,
            every_s=0.1,
            what="the stored recordings delivered",
            describe=agent.output,
            alive=agent.alive,
        )
        assert agent.stop() == 0
    finally:
        broker.stop()
    log = agent.output()
    assert broker.connections >= 4
    assert log.count("event=broker_connect_failed") >= 3
    assert "no SUBACK within 2 s" in log
    assert "Traceback" not in log


def test_agent_survives_a_frozen_mosquitto_and_delivers_after_thaw(
    broker: LocalBroker, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "a.toml", broker.port, tmp_path / "state", speed=5)
    doctor = MosquittoSub(broker.port, "doctor-18", tmp_path / "doctor.txt")
    doctor.start()
    agent = AgentProcess(config, tmp_path / "a.log")
    agent.start()
    agent.wait_for_stored(2)
    assert broker._process is not None
    pid = broker._process.pid
    os.kill(pid, signal.SIGSTOP)  # the broker still accepts TCP (kernel backlog), answers nothing
    try:
        before = len(agent.stored_ids())
        # Past the keep-alive (5 s x 1.5: the agent gives the link up) and into a CONNACK wait
        # (its next connect, which the frozen broker's kernel accepts, 1 s after it begins).
        lost = wait_until(
            lambda: re.search(r"event=broker_disconnected .* retry_in_s=(\S+)", agent.output()),
            20,
            every_s=0.1,
            what="the keep-alive to end the link",
        )
        assert "Keep alive timeout" in lost.group(0)
        time.sleep(float(lost.group(1)) + 1.0)
        assert agent.process is not None and agent.process.poll() is None
        assert len(agent.stored_ids()) > before + 5  # recording went on while frozen
    finally:
        os.kill(pid, signal.SIGCONT)
    stored = agent.stored_ids()
    delivery = doctor.wait_for(stored, timeout_s=90)
    assert agent.stop() == 0
    doctor.stop()
    check_delivery("frozen-broker", stored, delivery)
    assert "Traceback" not in agent.output()


def _taken_over_alarm(status: dict[str, Any]) -> bool:
    alarm = status.get("broker", {}).get("alarm")
    return isinstance(alarm, str) and alarm.startswith("client id taken over by another connection")


def test_two_agents_with_one_client_id_raise_the_alarm_and_stay_up(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # A cloned SD card: same site, same agent id, so the same client id, on two machines.
    agents = []
    for name in ("a", "b"):
        state = tmp_path / name
        config = write_config(tmp_path / f"{name}.toml", broker.port, state, speed=5)
        agents.append(AgentProcess(config, tmp_path / f"{name}.log"))
    agents[0].start()
    agents[1].start()
    wait_until(
        lambda: any("event=client_id_taken_over" in a.output() for a in agents),
        20,
        every_s=0.1,
        what="a takeover alarm",
    )
    kicked = next(a for a in agents if "event=client_id_taken_over" in a.output())
    for agent in agents:
        assert agent.process is not None and agent.process.poll() is None
        # The issue saw 15 takeovers in 2 s; every loss now waits, longer each time.
        assert agent.output().count("event=broker_disconnected") <= 8
        assert agent.stop() == 0
    # The operator sees it in status.json: here the one the agent wrote as it stopped (its
    # 5 s refresh is not waited for); the kicked agent waits the longest (60 s) before trying
    # again, so the alarm still stands.
    status = json.loads((kicked.config.with_suffix("") / "status.json").read_text("utf-8"))
    assert _taken_over_alarm(status), status.get("broker")
