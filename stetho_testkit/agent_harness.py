"""Real `stetho run` processes for the sync tests: config, start, SIGTERM, SIGKILL, log parsing."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import jsonschema

from edge_agent.wire import schemas
from firmware_bridge.flac import decode_flac, pcm_sha256
from stetho_testkit.poll import wait_until

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
"""
SCHEDULE = """[devices.schedule]
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
    min_free_mb: float = 32,
    site: str = SITE,
    agent_id: str = AGENT,
    receipt_timeout_s: float = 0.0,
    receipt_resend_max_s: float | None = None,
    first_seed: int = 0,
    monitoring: bool = True,
    subscribe_timeout_s: float | None = None,
    status_interval_s: float | None = None,
) -> Path:
    """An agent's config; `monitoring=False` leaves the stethoscopes connected but idle (no
    schedule: they would record only on demand)."""
    text = f'site = "{site}"\nagent_id = "{agent_id}"\nlog_level = "info"\n'
    if status_interval_s is not None:
        text += f"status_interval_s = {status_interval_s}\n"
    text += f'[broker]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = 5\n'
    if subscribe_timeout_s is not None:
        text += f"subscribe_timeout_s = {subscribe_timeout_s}\n"
    text += (
        f'[storage]\nstate_dir = "{state_dir}"\nquota_mb = {quota_mb}\n'
        f"min_free_disk_mb = {min_free_mb}\n"
    )
    if receipt_timeout_s:
        text += f"receipt_timeout_s = {receipt_timeout_s}\n"
    if receipt_resend_max_s is not None:
        text += f"receipt_resend_max_s = {receipt_resend_max_s}\n"
    for seed, device in enumerate(devices, start=first_seed):
        text += DEVICE.format(id=device, scenario=scenario, seed=seed, speed=speed)
        if monitoring:
            text += SCHEDULE.format(interval=interval_s, duration=duration_s)
    path.write_text(text, encoding="utf-8")
    return path


_CHILDREN: list[subprocess.Popen[bytes]] = []


def _spawn(args: list[str], stdout: IO[bytes], stderr: int) -> subprocess.Popen[bytes]:
    """Start a child process that `reap_children` will kill if a failing test leaves it."""
    process = subprocess.Popen(args, stdout=stdout, stderr=stderr)
    _CHILDREN.append(process)
    return process


def reap_children() -> None:
    """SIGKILL every child a test left running: a failed assertion skips its `stop()`, and a
    leftover agent would go on recording and load the machine for the tests after it."""
    while _CHILDREN:
        process = _CHILDREN.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class AgentProcess:
    """One `stetho run` process, its output appended to a log file across restarts."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_connected: bool = True) -> None:
        """Start; by default return once it is connected (its SIGTERM handler is then set)."""
        connected = self.output().count("event=broker_connected") if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = _spawn(
            [sys.executable, "-m", "stetho_cli", "run", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if wait_connected:
            wait_until(
                lambda: self.output().count("event=broker_connected") > connected,
                60,
                what="the agent to connect",
                describe=lambda: self.output()[-3000:],
                alive=self.alive,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

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
        return wait_until(
            lambda: ids if len(ids := self.stored_ids()) >= n else None,
            timeout_s,
            what=f"{n} recordings to be stored",
            describe=lambda: (
                f"agent stored {len(self.stored_ids())} of {n} recordings\n{self.output()[-3000:]}"
            ),
            alive=self.alive,
        )

    def wait_for_status(
        self, state: Path, holds: Callable[[dict[str, Any]], bool], timeout_s: float = 15
    ) -> dict[str, Any]:
        """The agent's status.json (refreshed every `status_interval_s`, 5 s by default) once
        ``holds`` is true of it."""
        path = state / "status.json"
        return wait_until(
            lambda: status if holds(status := _status(path)) else None,
            timeout_s,
            every_s=0.1,
            what="status.json to hold what was waited for",
            describe=lambda: f"{_status(path)}\n{self.output()[-3000:]}",
            alive=self.alive,
        )


def _status(path: Path) -> dict[str, Any]:
    try:
        status: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):  # not yet, or mid-replace
        return {}
    return status


@functools.cache
def _validator(kind: str) -> Any:
    """The JSON Schema validator of one message kind, its schema checked once per process.

    `jsonschema.validate` checks the schema itself on every call (about 90 ms for the
    recording's): a subscriber's 400 recordings took 37 s to validate, every time it looked.
    """
    schema = json.loads((schemas.DEFAULT_DIR / f"{kind}.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(kind: str, payload: bytes) -> dict[str, object]:
    """`payload` parsed, once it is valid against docs/schemas/`kind`.schema.json; raises
    jsonschema's ValidationError otherwise (the best match, as `jsonschema.validate` does)."""
    document: dict[str, object] = json.loads(payload)
    error = jsonschema.exceptions.best_match(_validator(kind).iter_errors(document))
    if error is not None:
        raise error
    return document


def check_audio_matches(metadata: dict[str, object], flac: bytes) -> None:
    pcm, rate = decode_flac(flac)
    audio = metadata["audio"]
    assert isinstance(audio, dict)
    assert rate == metadata["sample_rate_hz"] and len(pcm) == metadata["n_samples"]
    assert pcm_sha256(pcm) == audio["pcm_sha256"]


RECORDING_TOPICS = ("stetho/v1/+/+/recordings", "stetho/v1/+/+/recordings/audio")


@dataclass
class Delivery:
    """What a subscriber got, grouped by recording id (duplicates kept, to be counted)."""

    metadata: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audio: dict[str, list[bytes]] = field(default_factory=dict)

    def complete_ids(self) -> set[str]:
        return set(self.metadata) & set(self.audio)

    def duplicates(self) -> int:
        counts = [len(c) for c in self.metadata.values()] + [len(c) for c in self.audio.values()]
        return sum(n - 1 for n in counts)


class MosquittoSub:
    """The plain `mosquitto_sub` a doctor would run: persistent session, QoS 1, MQTT v5.

    `-F '%t|%P|%x'` prints topic, user properties and the payload in hex, one line per
    message, so binary FLAC survives the text pipe.
    """

    def __init__(
        self, port: int, client_id: str, out: Path, topics: tuple[str, ...] = RECORDING_TOPICS
    ) -> None:
        self.port, self.client_id, self.out, self.topics = port, client_id, out, topics
        self.process: subprocess.Popen[bytes] | None = None
        self._delivery = Delivery()
        self._parsed_bytes = 0  # of `out`, whose lines are in `_delivery`

    def start(self) -> None:
        # Line-buffered: a message must reach the file as soon as it arrives, not when a
        # stdio buffer fills, or the last small metadata lines would look lost.
        args = ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port)]
        args += ["-V", "mqttv5"]
        args += ["-c", "-i", self.client_id, "-x", "3600", "-q", "1", "-F", "%t|%P|%x"]
        for topic in (*self.topics, "stetho/v1/probe/+/recordings"):
            args += ["-t", topic]
        with self.out.open("ab") as sink:
            self.process = _spawn(args, stdout=sink, stderr=subprocess.DEVNULL)
        self._wait_subscribed()

    def _wait_subscribed(self, timeout_s: float = 10) -> None:
        probe = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1"]
        topic = f"stetho/v1/probe/{self.client_id}/recordings"

        def probe_arrived() -> bool:
            subprocess.run([*probe, "-t", topic, "-m", "probe"], check=False, timeout=10)
            time.sleep(0.2)  # for mosquitto_sub to write it
            return self.out.exists() and topic.encode() in self.out.read_bytes()

        wait_until(probe_arrived, timeout_s, every_s=0, what="mosquitto_sub to subscribe")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def delivery(self) -> Delivery:
        """Everything received so far. Each call parses only the lines written since the last
        one (a fault test's subscriber gets hundreds of recordings and is looked at every
        0.2 s); the last line is left for later while it may still be being written."""
        with self.out.open("rb") as out:
            out.seek(self._parsed_bytes)
            new = out.read()
        complete = new[: new.rfind(b"\n") + 1]
        self._parsed_bytes += len(complete)
        result = self._delivery
        for line in complete.decode("ascii", errors="replace").splitlines():
            if "/probe/" in line:
                continue
            topic, props, payload_hex = line.split("|")
            payload = bytes.fromhex(payload_hex)
            if topic.endswith("/recordings/audio"):
                rid = dict(p.split(":", 1) for p in props.split())["recording_id"]
                result.audio.setdefault(rid, []).append(payload)
            else:
                document = validate("recording", payload)
                result.metadata.setdefault(str(document["recording_id"]), []).append(document)
        return result

    def wait_for(self, ids: set[str], timeout_s: float = 60) -> Delivery:
        """What arrived once `ids` have, or when `timeout_s` has passed (the caller counts
        what is missing)."""
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: ids <= self.delivery().complete_ids(), timeout_s, every_s=0.2)
        return self.delivery()


def check_delivery(label: str, stored: set[str], delivery: Delivery) -> dict[str, int]:
    """Every accepted recording arrived, its audio decodes to the hashed samples; print counts."""
    missing = stored - delivery.complete_ids()
    counts = {
        "accepted": len(stored),
        "delivered": len(stored & delivery.complete_ids()),
        "missing": len(missing),
        "duplicates": delivery.duplicates(),
    }
    print(f"{label}: {json.dumps(counts)}")
    assert not missing, f"{label}: accepted but never delivered: {sorted(missing)[:5]}"
    for rid in stored:
        # Duplicates are removable by recording id: every copy is the same recording.
        for flac in delivery.audio[rid]:
            check_audio_matches(delivery.metadata[rid][0], flac)
    return counts
