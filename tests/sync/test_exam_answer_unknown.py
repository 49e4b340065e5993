"""`stetho answer` for an exam no care home holds, against a real agent and a real Mosquitto.

No message comes back for an answer (docs/mqtt.md §6), so the command says it sent it, and the
agent refuses the answer: counted in its status and logged with the exam's id only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.wire import topics
from stetho_testkit.agent_harness import SITE, AgentProcess, write_config
from stetho_testkit.poll import wait_until


@pytest.mark.broker
def test_an_answer_for_an_unknown_exam_is_sent_and_refused_by_the_agent(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # Before: "answered <id> on ..." for an exam no one holds, and the agent counted it with
    # the acks and logged the doctor's id.
    state = tmp_path / "state"
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, state, monitoring=False),
                         tmp_path / "a.log")  # fmt: skip
    agent.start()
    exam = uuid.uuid4()
    try:
        sent = subprocess.run(
            [sys.executable, "-m", "stetho_cli", "answer", str(exam), "--site", SITE,
             "--disposition", "no-action", "--by", "dr-b", "--note", "Mrs Dupont",
             "--broker", broker.url],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        wait_until(
            lambda: "event=inbound_rejected" in agent.output(),
            15,
            what="the answer rejected",
            describe=lambda: agent.output()[-3000:],
        )
    finally:
        assert agent.stop() == 0, agent.output()[-3000:]
    # status.json as the agent wrote it when it stopped (its 5 s refresh is not waited for).
    status = json.loads((state / "status.json").read_text(encoding="utf-8"))
    assert status["inbound"]["rejected"] == 1
    assert sent.returncode == 0, sent.stderr
    assert " ".join(sent.stderr.split()) == (
        f"sent the answer to exam {exam} on {topics.exam_answers(SITE)}; the nurses' page shows "
        f"it if care home {SITE} holds the exam"
    )
    assert status["inbound"]["acks"] == 0
    said = [line for line in agent.output().splitlines() if str(exam) in line]
    assert len(said) == 1, said
    assert re.search(
        rf"event=inbound_rejected topic={re.escape(topics.exam_answers(SITE))} "
        rf'reason="answer for an exam this agent does not hold: {exam}" rejected_total=1$',
        said[0],
    ), said
    assert "dr-b" not in agent.output() and "Dupont" not in agent.output()
