"""Run every ``bench/*_bench.py`` module's ``run() -> dict`` and print one JSON object.

Each module measures its own baseline in the same run and reports ratios against it. Then come
the synthetic heart sweeps of ``bench.heart_sweeps`` (accuracy, not speed: ~40 s on two cores),
``bench.heart_faster`` (real CirCor recordings made faster: ~15 s) and ``bench.heart_rhythms``
(the same made slower and irregular: ~30 s); both skipped without data.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from bench import heart_faster, heart_rhythms, heart_sweeps


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
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
