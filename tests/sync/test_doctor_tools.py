"""The doctor's commands against a real agent process and a real Mosquitto."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from edge_agent.local_broker import LocalBroker
from tests.sync.harness import SITE, AgentProcess, check_audio_matches, validate, write_config

pytestmark = pytest.mark.broker
STETHO = [sys.executable, "-m", "edge_agent"]


def stetho(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STETHO, *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )


def wait_until(predicate: object, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError("condition not met")


def test_alerts_save_ack_and_listen(broker: LocalBroker, tmp_path: Path) -> None:
    state = tmp_path / "state"
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, state), tmp_path / "a.log")
    agent.start()
    try:
        saved = tmp_path / "saved"
        followed = stetho(
            "alerts", "--broker", broker.url, "--site", SITE, "--json", "--count", "3",
            "--save", str(saved),
        )  # fmt: skip
        assert followed.returncode == 0, followed.stderr
        alerts = [validate("alert", line.encode()) for line in followed.stdout.splitlines()]
        assert len(alerts) == 3
        # The first alert may have raced the subscription; the later ones come with their audio.
        for alert in alerts[1:]:
            rid = alert["recording_id"]
            flac = saved / f"{rid}.flac"
            assert subprocess.run(["flac", "-t", "-s", str(flac)], check=False).returncode == 0
            metadata = validate("recording", (saved / f"{rid}.recording.json").read_bytes())
            check_audio_matches(metadata, flac.read_bytes())

        alert_id = str(alerts[-1]["alert_id"])
        acked = stetho(
            "ack", alert_id, "--site", SITE, "--broker", broker.url, "--by", "dr-test",
            "--note", "heard, will call",
        )  # fmt: skip
        assert acked.returncode == 0, acked.stderr
        wait_until(
            lambda: f"event=alert_acknowledged alert={alert_id} by=dr-test" in agent.output()
        )
        status_file = state / "status.json"

        def acknowledged() -> bool:
            if not status_file.exists():
                return False
            acks = json.loads(status_file.read_text())["acknowledgements"]
            return any(a["alert_id"] == alert_id and a["by"] == "dr-test" for a in acks)

        wait_until(acknowledged)

        wav = tmp_path / "live.wav"
        heard = stetho(
            "listen", "--device", "steth-a", "--site", SITE, "--broker", broker.url,
            "--out", str(wav), "--seconds", "2",
        )  # fmt: skip
        assert heard.returncode == 0, heard.stderr
        info = sf.info(str(wav))
        assert info.samplerate == 4000 and info.frames > 4000
        wait_until(lambda: "event=live_stopped device=steth-a" in agent.output())
        assert "event=live_started device=steth-a by=" in agent.output()
    finally:
        assert agent.stop() == 0, agent.output()[-3000:]


def test_ack_rejects_a_non_uuid_and_alerts_needs_a_broker(tmp_path: Path) -> None:
    bad = stetho("ack", "not-an-id", "--site", SITE, "--broker", "mqtt://127.0.0.1:1")
    assert bad.returncode == 2 and "not an alert id" in bad.stderr
    neither = stetho("alerts", "--json")
    assert neither.returncode == 1 and "exactly one of --broker" in neither.stderr
