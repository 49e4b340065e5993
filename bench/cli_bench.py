"""How fast the `stetho` command answers: `--version` and `--help` against `python -c pass`.

Each is the best of several runs of a fresh process, taking turns with its baseline in every
round (`bench._timing`), so a busy or slow machine moves both. Goals: at most 0.25 s, and at
most 10 times the bare interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench._timing import best_in_turn, timed

ROUNDS = 15


def _process(argv: list[str]) -> Callable[[], float]:
    return timed(lambda: subprocess.run(argv, capture_output=True, check=True))


def run() -> dict[str, Any]:
    python = sys.executable
    best = best_in_turn(
        {
            "python_c_pass": _process([python, "-c", "pass"]),
            "version": _process([python, "-m", "stetho_cli", "--version"]),
            "help": _process([python, "-m", "stetho_cli", "--help"]),
        },
        ROUNDS,
    )
    bare = best["python_c_pass"]
    result: dict[str, Any] = {"rounds": ROUNDS, "python_c_pass_s": round(bare, 4)}
    for name in ("version", "help"):
        result[f"{name}_s"] = round(best[name], 4)
        result[f"{name}_ratio"] = round(best[name] / bare, 2)
        result[f"{name}_meets_goal"] = best[name] <= 0.25 and best[name] / bare <= 10
    return result


if __name__ == "__main__":
    import json

    json.dump(run(), sys.stdout, indent=2)
    sys.stdout.write("\n")
