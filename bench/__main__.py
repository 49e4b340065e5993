"""Run every ``bench/*_bench.py`` module's ``run() -> dict`` and print one JSON object.

Each module measures its own baseline in the same run and reports ratios against it.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path


def main() -> int:
    results: dict[str, object] = {}
    for path in sorted(Path(__file__).parent.glob("*_bench.py")):
        name = path.stem
        module = importlib.import_module(f"bench.{name}")
        results[name] = module.run()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
