"""Soak: a real `stetho run` with three simulated stethoscopes in real time, for an hour.

Issue 18's goal: after the first ten minutes (imports, caches, SQLite's page cache and the
first recordings settle), resident memory grows less than 5 % to the end, and the number of
open file descriptors stays flat. The baseline is the same process at the ten-minute mark.

`STETHO_SOAK_S` sets the duration (default 3600 s; `make bench` runs every module, so set it
low for a quick run); the warm-up mark is ten minutes or a third of the run, whichever is
shorter. The agent publishes to a real Mosquitto on loopback, as in a care home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._smaps import rss_by_kind, threads
from edge_agent.runtime.daemon import WORKER_THREADS
from edge_agent.runtime.local_broker import LocalBroker

DURATION_ENV = "STETHO_SOAK_S"
TRACE_ENV = "STETHO_SOAK_TRACE"  # a file: each sample appended as it is taken, for long runs
DEFAULT_S = 3600.0
WARMUP_S = 600.0
RSS_TARGET_PCT = 5.0
FD_SLACK = 2  # a journal or a FLAC memfd may be open at the instant we look
# The agent's default pool starts a worker only when the others are busy: on a loaded machine its
# last ones may start after warm-up. One has always run by then (the status file's writes).
THREAD_SLACK = WORKER_THREADS - 1
SCENARIOS = ("normal", "murmur", "tachycardia")


@dataclass
class Samples:
    """(seconds since start, RSS KiB, open fds) of one process, taken at intervals, with its
    thread count and its RSS by kind of mapping (bench/_smaps.py) at the same instants."""

    points: list[tuple[float, int, int]] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    kinds: list[dict[str, int]] = field(default_factory=list)

    def take(self, pid: int, at_s: float) -> None:
        point = (round(at_s, 1), rss_kib(pid), open_fds(pid))
        self.points.append(point)
        self.threads.append(threads(pid))
        self.kinds.append(rss_by_kind(pid))
        trace = os.environ.get(TRACE_ENV)
        if trace:
            kinds = " ".join(f"{k}={v}" for k, v in sorted(self.kinds[-1].items()))
            with open(trace, "a", encoding="utf-8") as out:
                out.write(
                    f"{point[0]} rss_kib={point[1]} fds={point[2]} threads={self.threads[-1]}"
                    f" {kinds}\n"
                )

    def at(self, seconds: float) -> tuple[float, int, int]:
        """The first sample at or after `seconds` (the last one if none is)."""
        return self.points[self.index_at(seconds)]

    def index_at(self, seconds: float) -> int:
        found = (i for i, p in enumerate(self.points) if p[0] >= seconds)
        return next(found, len(self.points) - 1)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def agent_config(
    workdir: Path, port: int, interval_s: float, recording_s: float, speed: float
) -> Path:
    text = f'site = "soak"\nagent_id = "pi-soak"\n[broker]\nhost = "127.0.0.1"\nport = {port}\n'
    text += f'[storage]\nstate_dir = "{workdir / "state"}"\n'
    for i, scenario in enumerate(SCENARIOS):
        text += (
            f'[[devices]]\nid = "steth-{i}"\nkind = "simulated"\nscenario = "{scenario}"\n'
            f'seed = {i}\nspeed = {speed}\nresident = "res-{i}"\n'
            f"[devices.monitoring]\ninterval_s = {interval_s}\nduration_s = {recording_s}\n"
        )
    path = workdir / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def soak(
    duration_s: float,
    *,
    interval_s: float = 60.0,
    recording_s: float = 20.0,
    speed: float = 1.0,
    sample_s: float | None = None,
    warmup_s: float | None = None,
) -> dict[str, Any]:
    """Run the agent for `duration_s`; sample RSS and fds; return the figures. The warm-up
    mark is `warmup_s`, by default ten minutes or a third of the run."""
    every = sample_s if sample_s is not None else max(1.0, min(30.0, duration_s / 60))
    warmup = warmup_s if warmup_s is not None else min(WARMUP_S, duration_s / 3)
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        work = Path(tmp)
        config = agent_config(work, broker.port, interval_s, recording_s, speed)
        log_path = work / "agent.log"
        samples = Samples()
        with log_path.open("wb") as log:
            agent = subprocess.Popen(
                [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < duration_s:
                if agent.poll() is not None:
                    raise RuntimeError(f"the agent exited: {log_path.read_text()[-2000:]}")
                samples.take(agent.pid, elapsed)
                time.sleep(min(every, max(0.0, duration_s - elapsed)))
            samples.take(agent.pid, time.monotonic() - started)
        finally:
            agent.terminate()
            exit_code = agent.wait(60)
        output = log_path.read_text(encoding="utf-8", errors="replace")
    return summarise(samples, warmup, duration_s, output, exit_code)


def summarise(
    samples: Samples, warmup_s: float, duration_s: float, output: str, exit_code: int
) -> dict[str, Any]:
    _, rss_warm, fd_warm = samples.at(warmup_s)
    _, rss_end, fd_end = samples.points[-1]
    early = [p[2] for p in samples.points if p[0] <= warmup_s]
    late = [p[2] for p in samples.points if p[0] >= warmup_s]
    growth = 100.0 * (rss_end - rss_warm) / rss_warm
    mark = samples.index_at(warmup_s)
    threads_early, threads_late = samples.threads[: mark + 1], samples.threads[mark:]
    kinds_warm, kinds_end = samples.kinds[mark], samples.kinds[-1]
    stride = max(1, len(samples.points) // 12)  # a dozen points over time, for the report
    return {
        "devices": len(SCENARIOS),
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "recordings_stored": len(re.findall(r"event=recording_stored ", output)),
        "errors_logged": len(re.findall(r"^level=(?:ERROR|CRITICAL) ", output, re.MULTILINE)),
        "exit_code": exit_code,
        "rss_at_warmup_mib": round(rss_warm / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
        "rss_max_mib": round(max(p[1] for p in samples.points) / 1024, 1),
        "rss_growth_after_warmup_pct": round(growth, 2),
        "rss_target_pct": RSS_TARGET_PCT,
        "fds_at_warmup": fd_warm,
        "fds_end": fd_end,
        "fds_max_before_warmup": max(early),
        "fds_max_after_warmup": max(late),
        "fds_flat": max(late) <= max(early) + FD_SLACK,
        "fds_over_time": [(p[0], p[2]) for p in samples.points[::stride]],
        "threads_at_warmup": samples.threads[mark],
        "threads_max_after_warmup": max(threads_late),
        "threads_max_before_warmup": max(threads_early),
        "threads_flat": max(threads_late) <= max(threads_early) + THREAD_SLACK,
        "rss_kib_by_kind_at_warmup": kinds_warm,
        "rss_kib_growth_by_kind": {
            k: kinds_end.get(k, 0) - kinds_warm.get(k, 0) for k in sorted(kinds_warm | kinds_end)
        },
        "rss_mib_over_time": [(p[0], round(p[1] / 1024, 1)) for p in samples.points[::stride]],
    }


def run() -> dict[str, Any]:
    duration = float(os.environ.get(DURATION_ENV, DEFAULT_S))
    result = soak(duration)
    result["rss_ok"] = result["rss_growth_after_warmup_pct"] < RSS_TARGET_PCT
    return result
