"""Issue 18, with a real `stetho run` and a real Mosquitto whose `max_packet_size` is small.

The agent starts while the broker is down, so a long monitoring recording is captured before
any limit is known; when the broker comes up with `max_packet_size`, that recording is held in
the outbox (`broker.packet_alarm`), the next long captures are refused before they start
(`broker.capture_alarms`), and the short ones are delivered. The broker then comes back without
a limit: the held recording is delivered, and both alarms clear, each saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import DEVICE, SCHEDULE, AgentProcess, write_config
from stetho_testkit.mqtt_client import MqttTestClient, Received
from stetho_testkit.poll import wait_until

LIMIT = 40000  # a 20 s recording at 4 kHz is about 100 KB of FLAC; at most 4 s surely fit
AUDIO = "stetho/v1/+/+/recordings/audio"


def _until(what: str, done: Callable[[], bool], agent: AgentProcess, timeout_s: float = 45) -> None:
    wait_until(
        done, timeout_s, what=what, describe=lambda: agent.output()[-3000:], alive=agent.alive
    )


def _logged(agent: AgentProcess, *events: str) -> Callable[[], bool]:
    return lambda: all(event in agent.output() for event in events)


def _doctor(broker: LocalBroker) -> MqttTestClient:
    """The doctor's subscriber, on a persistent session that outlives a broker restart."""
    return MqttTestClient(broker.host, broker.port, [AUDIO], "doctor-18",
                          clean_start=False, session_expiry_s=3600)  # fmt: skip


def _from(device: str) -> Callable[[list[Received]], bool]:
    return lambda got: any(f"/{device}/" in m.topic for m in got)


@pytest.mark.broker
def test_a_too_long_capture_is_refused_with_an_alarm_and_both_alarms_clear(tmp_path: Path) -> None:
    first = LocalBroker(tmp_path / "mosquitto", extra_config=f"max_packet_size {LIMIT}")
    state = tmp_path / "state"
    config = write_config(tmp_path / "agent.toml", first.port, state, ("steth-short",),
                          speed=10.0, interval_s=4.0, duration_s=1.0)  # fmt: skip
    with config.open("a", encoding="utf-8") as extra:
        extra.write(DEVICE.format(id="steth-long", scenario="normal", seed=7, speed=10.0))
        extra.write(SCHEDULE.format(interval=21, duration=20))
    agent = AgentProcess(config, tmp_path / "agent.log")
    agent.start(wait_connected=False)  # no broker yet: no limit known
    _until("a long recording stored", _logged(agent, "device=steth-long recording="), agent)
    with first:
        with _doctor(first) as doctor:
            stalled = _logged(agent, "event=message_too_large", "capture_refused device=steth-long")
            _until("the held message and the refused capture", stalled, agent)
            doctor.wait_for(_from("steth-short"))  # the short ones go on
            assert not _from("steth-long")(doctor.messages)
        log = agent.output()
        assert f"broker_max={LIMIT} limit_from=connack" in log
        assert "event=capture_alarm device=steth-long" in log and "at most 4 s fit" in log
        assert "event=capture_refused device=steth-short" not in log
    second = LocalBroker(tmp_path / "mosquitto", port=first.port)  # no max_packet_size
    with second, _doctor(second) as doctor:
        cleared = _logged(agent, "packet_alarm_cleared", "capture_alarm_cleared device=steth-long")
        _until("both alarms cleared", cleared, agent)
        long = doctor.wait_for(_from("steth-long"))
        assert max(len(m.payload) for m in long if "/steth-long/" in m.topic) > LIMIT
        assert agent.stop() == 0
    log = agent.output()
    held = len(set(re.findall(r"event=message_too_large seq=(\d+)", log)))
    said = f"limit now (it states no limit); {held} message(s) held back earlier were delivered"
    assert held >= 1 and said in log
    assert 'device=steth-long reason="the broker states no limit now"' in log
    final = json.loads((state / "status.json").read_text(encoding="utf-8"))
    assert final["broker"]["packet_alarm"] is None and final["broker"]["capture_alarms"] == {}
    assert final["devices"]["steth-long"]["refused"] >= 1
