"""Real `stetho run` processes for the sync tests: config, start, SIGTERM, SIGKILL, log parsing."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from edge_agent import schemas
from edge_agent.audio import decode_flac, pcm_sha256

SITE = "home-sync"
AGENT = "pi-sync"

DEVICE = """
[[devices]]
id = "{id}"
kind = "simulated"
scenario = "{scenario}"
seed = {seed}
speed = {speed}
resident = "res-{seed}"
auscultation_site = "mitral"
[devices.schedule]
interval_s = {interval}
duration_s = {duration}
"""


def write_config(
    path: Path,
    port: int,
    state_dir: Path,
    devices: tuple[str, ...] = ("steth-a",),
    scenario: str = "tachycardia",
    speed: float = 20.0,
    interval_s: float = 2.0,
    duration_s: float = 1.5,
    quota_mb: float = 512,
) -> Path:
    text = (
        f'site = "{SITE}"\nagent_id = "{AGENT}"\nlog_level = "info"\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = 5\n'
        f'[storage]\nstate_dir = "{state_dir}"\nquota_mb = {quota_mb}\n'
    )
    for seed, device in enumerate(devices):
        text += DEVICE.format(
            id=device,
            scenario=scenario,
            seed=seed,
            speed=speed,
            interval=interval_s,
            duration=duration_s,
        )
    path.write_text(text, encoding="utf-8")
    return path


class AgentProcess:
    """One `stetho run` process, its output appended to a log file across restarts."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "run", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stored_ids(self) -> set[str]:
        """Every recording the agent accepted: its outbox transaction committed, then it logged."""
        return set(re.findall(r"event=recording_stored device=\S+ recording=(\S+)", self.output()))

    def wait_for_stored(self, n: int, timeout_s: float = 60) -> set[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ids = self.stored_ids()
            if len(ids) >= n:
                return ids
            assert self.process is not None and self.process.poll() is None, self.output()[-3000:]
            time.sleep(0.05)
        raise TimeoutError(f"agent stored {len(self.stored_ids())} of {n} recordings")


def validate(kind: str, payload: bytes) -> dict[str, object]:
    document: dict[str, object] = json.loads(payload)
    schema = json.loads((schemas.DEFAULT_DIR / f"{kind}.schema.json").read_text())
    jsonschema.validate(document, schema)
    return document


def check_audio_matches(metadata: dict[str, object], flac: bytes) -> None:
    pcm, rate = decode_flac(flac)
    audio = metadata["audio"]
    assert isinstance(audio, dict)
    assert rate == metadata["sample_rate_hz"] and len(pcm) == metadata["n_samples"]
    assert pcm_sha256(pcm) == audio["pcm_sha256"]
