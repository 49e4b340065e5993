"""Leave one patient out for the one constant placed by looking at the shared recordings.

``segmentation._CLOSE_PHASES`` (when systole and diastole are too close to orient S1/S2 by
their durations, and pitch decides) was set at its physiological bound after trying a small
grid on the CirCor recordings. Here each patient's recordings are scored with the grid value
that does best on every other patient, as if it had been fitted without them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stetho_signal import segmentation

GRID = (0.8, 0.85, 0.88, 0.92)  # the values tried; the first is the one kept
Counts = list[int]  # [reference, detected, hits], S1 and S2 together


def close_phases_lopo(
    data_dir: Path, evaluate_circor: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """S1/S2 F1 per grid value and leave-one-patient-out over the grid."""
    kept = segmentation._CLOSE_PHASES
    per_value: dict[float, dict[str, tuple[str, Counts]]] = {}
    try:
        for value in GRID:
            segmentation._CLOSE_PHASES = value
            per_value[value] = {
                r["file"]: (r["patient"], _counts(r))
                for r in evaluate_circor(data_dir)["per_recording"]
            }
    finally:
        segmentation._CLOSE_PHASES = kept
    files = list(per_value[GRID[0]])
    patients = sorted({per_value[GRID[0]][f][0] for f in files})
    held_out: list[Counts] = []
    chosen: dict[str, int] = {}
    for patient in patients:
        train = [f for f in files if per_value[GRID[0]][f][0] != patient]
        best = max(GRID, key=lambda v: (_f1([per_value[v][f][1] for f in train]), -GRID.index(v)))
        chosen[str(best)] = chosen.get(str(best), 0) + 1
        held_out += [per_value[best][f][1] for f in files if per_value[GRID[0]][f][0] == patient]
    return {
        "parameter": "segmentation._CLOSE_PHASES",
        "kept": kept,
        "f1_by_value": {str(v): _f1([c for _, c in per_value[v].values()]) for v in GRID},
        "leave_one_patient_out_f1": _f1(held_out),
        "chosen_by_fold": chosen,
    }


def _counts(record: dict[str, Any]) -> Counts:
    return [int(record["S1"][k]) + int(record["S2"][k]) for k in ("reference", "detected", "hits")]


def _f1(rows: list[Counts]) -> float:
    reference = sum(r[0] for r in rows)
    detected = sum(r[1] for r in rows)
    hits = sum(r[2] for r in rows)
    return round(2 * hits / (reference + detected), 3) if reference + detected else 0.0
