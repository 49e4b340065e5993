"""What the accuracy probes share: their command line, their JSON, and how a pre-registered
rule and its reach are scored over recordings and printed.

A probe (``python -m bench.<name>_probe --data DIR [--json FILE]``) measures one idea on the
shared recordings, scores the pre-registered rule beside the shipped one and, as the measure's
reach, other bounds; leave one patient out over each family (docs/accuracy.md, Method).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._eval_intervals import add_held_out_intervals, print_family
from bench._eval_lung_round5 import family_scores

__all__ = [
    "arguments",
    "flag_kind",
    "has_manifest",
    "per_patient",
    "print_per_patient",
    "print_rule_and_reach",
    "rule_and_reach",
    "save",
]


def arguments(doc: str | None, name: str, *, data_required: bool = True) -> argparse.ArgumentParser:
    """A probe's command line: ``--data`` (the shared data folder) and ``--json`` (by default
    ``bench/results/<name>.json``); add its own options before parsing."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--data", type=Path, required=data_required, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path(f"bench/results/{name}.json"))
    return parser


def has_manifest(data_dir: Path | None) -> bool:
    """Whether ``data_dir`` holds the shared data (its MANIFEST.csv); if not, says so on stderr
    (the probe then exits 2)."""
    if data_dir is not None and (data_dir / "MANIFEST.csv").exists():
        return True
    print(f"no MANIFEST.csv under {data_dir}", file=sys.stderr)
    return False


def save(path: Path, results: Any, indent: int = 2) -> None:
    """Write ``results`` as JSON to ``path`` (NumPy scalars as floats), its folder made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=indent, default=float))


def rule_and_reach(
    truth: list[bool],
    patients: list[str],
    shipped: list[bool],
    flags: Callable[[float], list[bool]],
    member: Callable[[float], str],
    rule: float,
    reach: Sequence[float],
) -> dict[str, Any]:
    """The shipped flags against the pre-registered rule (``flags(rule)``, named
    ``member(rule)``), and against every bound of ``reach``: two families scored per recording
    and held out per patient (``family_scores``), as ``{"rule": ..., "reach": ...}``."""
    return {
        "rule": family_scores(truth, patients, {"shipped": shipped, member(rule): flags(rule)}),
        "reach": family_scores(
            truth, patients, {"shipped": shipped} | {member(b): flags(b) for b in reach}
        ),
    }


def print_rule_and_reach(results: dict[str, Any], bounds: str, width: int) -> None:
    """Print the ``reach`` family (every one of ``bounds``, e.g. "bound") and the ``rule``
    family of :func:`rule_and_reach`, each with its held-out 95 % intervals (written into
    ``results`` first, so the JSON carries them too)."""
    add_held_out_intervals(results["rule"])
    add_held_out_intervals(results["reach"])
    print(f"reach (every {bounds}, fitted on all; not rules):")
    print_family(results["reach"], "reach family, held out", width=width)
    print("pre-registered rule:")
    print_family(results["rule"], "{shipped, rule}, held out", width=width)


def per_patient(truth: list[bool], patients: list[str], flags: list[bool]) -> dict[str, float]:
    """Se / Sp over patients: a patient is positive (flagged) when any recording is."""
    names = sorted(set(patients))
    t = [any(v for v, p in zip(truth, patients, strict=True) if p == n) for n in names]
    f = [any(v for v, p in zip(flags, patients, strict=True) if p == n) for n in names]
    tp = sum(a and b for a, b in zip(t, f, strict=True))
    tn = sum(not a and not b for a, b in zip(t, f, strict=True))
    return {
        "sensitivity": round(tp / max(sum(t), 1), 3),
        "specificity": round(tn / max(len(t) - sum(t), 1), 3),
    }


def print_per_patient(scores: dict[str, dict[str, float]], width: int) -> None:
    """One line per rule of :func:`per_patient` scores: its Se / Sp over patients."""
    for name, s in scores.items():
        print(f"per patient, {name:<{width}} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")


def flag_kind(truth: bool, flagged: bool) -> str:
    """A recording as a flag scores it: "true flag", "false flag" or "no flag"."""
    return ("true flag" if truth else "false flag") if flagged else "no flag"
