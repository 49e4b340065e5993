"""Run every ``bench/*_bench.py`` module's ``run() -> dict`` and print one JSON object.

Each module measures its own baseline in the same run and reports ratios against it. Then come
the synthetic heart sweeps of ``bench.heart_sweeps`` (accuracy, not speed: ~40 s on two cores).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from bench import heart_sweeps


def main() -> int:
    results: dict[str, object] = {}
    for path in sorted(Path(__file__).parent.glob("*_bench.py")):
        name = path.stem
        module = importlib.import_module(f"bench.{name}")
        results[name] = module.run()
    results["heart_sweeps"] = heart_sweeps.run()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
