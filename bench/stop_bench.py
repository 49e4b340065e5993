"""Stops: `stetho demo --serve` stopped by SIGTERM at a random moment, again and again.

systemd stops the agent with SIGTERM and kills it when the stop takes too long; a stop that
hangs loses what the stop would have written (the final status, the analyses queued). The
serving demo runs the agent, the hub (its receipts come back all the time) and both pages,
so most of what a stop must end is busy. One run in ten hung before waits with a limit went
through ``stetho_common.waits`` (CHANGELOG); the goal is none.

`STETHO_STOP_RUNS` sets the number of runs (default 30, about 20 s each). Each run waits a
random 0-15 s after the demo is up (seeded: the same moments every bench), sends SIGTERM and
gives the stop 30 s. Reported: the runs, the hangs, the stops with a non-zero exit or a
traceback, and the stop times (median and max, seconds).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

RUNS_ENV = "STETHO_STOP_RUNS"
DEFAULT_RUNS = 30
MAX_DELAY_S = 15.0
STOP_LIMIT_S = 30.0
UP_LIMIT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


def _up(proc: subprocess.Popen[str], lines: list[str]) -> bool:
    deadline = time.monotonic() + UP_LIMIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if any("Ctrl-C stops" in line for line in lines):
            return True
        time.sleep(0.1)
    return False


def one_stop(delay_s: float) -> dict[str, Any]:
    """Start the serving demo, SIGTERM it ``delay_s`` after it is up; how the stop went."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    command = [sys.executable, "-m", "stetho_cli", "demo", "--serve"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env) as proc:  # fmt: skip
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
        reader.start()
        outcome = _stopped(proc, lines, delay_s)
        reader.join(5)
    if outcome.get("exit") == 0 and any("Traceback" in line for line in lines):
        outcome["outcome"] = "failed"
    if outcome["outcome"] != "clean":
        outcome["output"] = "".join(lines)[-2000:]
    return outcome


def _stopped(proc: subprocess.Popen[str], lines: list[str], delay_s: float) -> dict[str, Any]:
    if not _up(proc, lines):
        proc.kill()
        proc.wait()
        return {"outcome": "did_not_start"}
    time.sleep(delay_s)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_LIMIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return {"outcome": "hung", "delay_s": round(delay_s, 1)}
    return {"outcome": "clean" if proc.returncode == 0 else "failed", "delay_s": round(delay_s, 1),
            "stop_s": round(time.monotonic() - started, 2), "exit": proc.returncode}  # fmt: skip


def run() -> dict[str, Any]:
    runs = int(os.environ.get(RUNS_ENV, DEFAULT_RUNS))
    rng = random.Random(0)
    results = [one_stop(rng.uniform(0.0, MAX_DELAY_S)) for _ in range(runs)]
    times = [r["stop_s"] for r in results if "stop_s" in r]
    return {
        "runs": runs,
        "clean": sum(r["outcome"] == "clean" for r in results),
        "hung": sum(r["outcome"] == "hung" for r in results),
        "failed": [r for r in results if r["outcome"] in ("failed", "did_not_start")],
        "stop_s": {"median": round(statistics.median(times), 2), "max": max(times)}
        if times
        else None,
        "goal": "no stop hangs (30 s limit)",
    }


if __name__ == "__main__":
    import json

    json.dump(run(), sys.stdout, indent=2)
    sys.stdout.write("\n")
