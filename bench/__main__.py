"""Run every ``bench/*_bench.py`` module's ``run() -> dict`` and print one JSON object.

Each module measures its own baseline in the same run and reports ratios against it. Then come
the synthetic heart sweeps of ``bench.heart_sweeps`` (accuracy, not speed: ~40 s on two cores),
``bench.heart_faster`` (real CirCor recordings made faster: ~15 s) and ``bench.heart_rhythms``
(the same made slower and irregular: ~30 s), ``bench.heart_conditions`` (the same heard
through room noise, mains hum, breathing and other chest pieces: ~40 s) and
``bench.lung_conditions`` (the ICBHI lung recordings heard the same ways, a real heart under
them: ~45 s); all skipped without data. Last, the tests marked
``slow`` (the full synthetic sweeps whose short forms `make test` runs, and the hub's three
SIGKILLs and a PostgreSQL restart under real agents: ~2 min); a failure there makes the bench
exit 1.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import heart_conditions, heart_faster, heart_rhythms, heart_sweeps, lung_conditions


def slow_tests() -> dict[str, Any]:
    """The tests marked ``slow``, in a pytest of their own; its summary line and exit code."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "slow", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:])
    return {
        "exit_code": done.returncode,
        "summary": lines[-1] if lines else done.stderr.strip()[-300:],
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    results: dict[str, object] = {}
    for path in sorted(Path(__file__).parent.glob("*_bench.py")):
        name = path.stem
        module = importlib.import_module(f"bench.{name}")
        results[name] = module.run()
    results["heart_sweeps"] = heart_sweeps.run()
    faster = heart_faster.run()
    heart_faster.save(faster)  # every recording's reads, beside the summary printed here
    results["heart_faster"] = {k: v for k, v in faster.items() if k != "per_recording"}
    rhythms = heart_rhythms.run()
    heart_faster.save(rhythms, heart_rhythms.DEFAULT_JSON)
    results["heart_rhythms"] = {k: v for k, v in rhythms.items() if k != "per_recording"}
    heard = heart_conditions.run()
    heart_faster.save(heard, heart_conditions.DEFAULT_JSON)
    results["heart_conditions"] = {k: v for k, v in heard.items() if k != "per_recording"}
    lungs = lung_conditions.run()
    heart_faster.save(lungs, lung_conditions.DEFAULT_JSON)
    results["lung_conditions"] = {k: v for k, v in lungs.items() if k != "per_recording"}
    slow = slow_tests()
    results["slow_tests"] = slow
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if slow["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
