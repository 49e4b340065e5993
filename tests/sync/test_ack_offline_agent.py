"""`stetho ack` in a care home with one agent online and one offline: it stops waiting once the
online agent has answered (its status again, without the alert), and says the offline one
cannot answer. Against a real agent process and a real Mosquitto."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.agent_harness import AGENT, SITE, AgentProcess, write_config

OFFLINE = "pi-away"


def _retain_offline_agent(broker: LocalBroker) -> None:
    status = {"schema": "stetho.status", "schema_version": 1, "state": "offline", "site": SITE,
              "agent": OFFLINE, "device": None, "detail": {}}  # fmt: skip
    topic = f"stetho/v1/{SITE}/{OFFLINE}/status"
    args = ["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-r", "-q", "1", "-s"]
    subprocess.run(args, input=json.dumps(status).encode(), check=True, timeout=10)


@pytest.mark.broker
def test_ack_stops_once_every_online_agent_answered(broker: LocalBroker, tmp_path: Path) -> None:
    # Before: 10 s of waiting, then "sent the ack of ID; not confirmed yet: agent pi-away is
    # offline ..." (exit 0), though the online agent had refused the ack at once, unseen.
    _retain_offline_agent(broker)
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, tmp_path / "state"),
                         tmp_path / "a.log")  # fmt: skip
    agent.start()
    try:
        never = str(uuid.uuid4())
        started = time.monotonic()
        acked = subprocess.run(
            [sys.executable, "-m", "stetho_cli", "ack", never, "--site", SITE,
             "--broker", broker.url],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        took_s = time.monotonic() - started
    finally:
        assert agent.stop() == 0, agent.output()[-3000:]
    said = " ".join(acked.stderr.split())
    assert acked.returncode == 0, said
    assert said == (
        f"warning: sent the ack of {never}; not confirmed yet: {AGENT} raised no such alert; "
        f"agent {OFFLINE} is offline and reads it when it reconnects (an offline agent cannot "
        "answer)"
    )
    assert took_s < 8, took_s  # the whole command, Python's start included; the wait is 10 s
