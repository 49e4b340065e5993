"""Leave one patient out for the constants placed by looking at the shared recordings.

``_chain_judge._CLOSE_PHASES`` (when systole and diastole are too close to orient S1/S2 by
their durations, and pitch decides) was set at its physiological bound after trying a small
grid on the CirCor recordings; ``_chain_judge._STEADY_Z`` (how clear the cycle-following cue
must be to orient a chain) was set at 3 standard errors and 2 was tried. Here each patient's
recordings are scored with the grid point that does best on every other patient, as if it
had been fitted without them (ties go to the kept point, the first).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stetho_signal import _chain_judge

PARAMETERS = ("_CLOSE_PHASES", "_STEADY_Z")
# The values tried; the first of each is the one kept.
GRID = tuple(itertools.product((0.8, 0.85, 0.88, 0.92), (3.0, 2.0)))
Counts = list[int]  # [reference, detected, hits], S1 and S2 together


def close_phases_lopo(
    data_dir: Path, evaluate_circor: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """S1/S2 F1 per grid point and leave-one-patient-out over the grid."""
    kept = tuple(getattr(_chain_judge, name) for name in PARAMETERS)
    per_value: dict[tuple[float, ...], dict[str, tuple[str, Counts]]] = {}
    try:
        for point in GRID:
            for name, value in zip(PARAMETERS, point, strict=True):
                setattr(_chain_judge, name, value)
            per_value[point] = {
                r["file"]: (r["patient"], _counts(r))
                for r in evaluate_circor(data_dir)["per_recording"]
            }
    finally:
        for name, value in zip(PARAMETERS, kept, strict=True):
            setattr(_chain_judge, name, value)
    files = list(per_value[GRID[0]])
    patients = sorted({per_value[GRID[0]][f][0] for f in files})
    held_out: list[Counts] = []
    by_patient: dict[str, Counts] = {}  # for the interval of the held-out F1 (_eval_intervals)
    chosen: dict[str, int] = {}
    for patient in patients:
        train = [f for f in files if per_value[GRID[0]][f][0] != patient]
        best = max(GRID, key=lambda v: (_f1([per_value[v][f][1] for f in train]), -GRID.index(v)))
        chosen[_key(best)] = chosen.get(_key(best), 0) + 1
        own = [per_value[best][f][1] for f in files if per_value[GRID[0]][f][0] == patient]
        held_out += own
        by_patient[patient] = [sum(c[i] for c in own) for i in range(3)]
    return {
        "parameters": [f"_chain_judge.{name}" for name in PARAMETERS],
        "kept": _key(kept),
        "f1_by_value": {_key(v): _f1([c for _, c in per_value[v].values()]) for v in GRID},
        "leave_one_patient_out_f1": _f1(held_out),
        "chosen_by_fold": chosen,
        "held_out_by_patient": by_patient,  # [reference, detected, hits], S1 and S2 together
    }


def _key(point: tuple[float, ...]) -> str:
    return "/".join(str(v) for v in point)


def _counts(record: dict[str, Any]) -> Counts:
    return [int(record["S1"][k]) + int(record["S2"][k]) for k in ("reference", "detected", "hits")]


def _f1(rows: list[Counts]) -> float:
    reference = sum(r[0] for r in rows)
    detected = sum(r[1] for r in rows)
    hits = sum(r[2] for r in rows)
    return round(2 * hits / (reference + detected), 3) if reference + detected else 0.0
