"""Leave one patient out for the half-rate guard's share (``_half_rate._MIDDLE_SHARE``).

The share of a chain's systoles and diastoles that must hold a clear sound in their middle
half before an evenly spaced chain is read at twice its rate was placed at 0.5 by looking at
the CirCor recordings and their faster versions (bench.heart_faster). Here each patient's
records (the original and every faster version of their recordings) are scored with the
grid point that reads the most rates within 5 bpm on every other patient (then the fewest
half-rate reads; ties go to the kept point, the first), as if it had been placed without
them. 1.01 never fires: the guard without the test (the detector before it).

Only records whose chain was evenly spaced and not already caught by the long-systole test
measure a share; they are the only ones a grid point can change, so each is analysed once
more with the guard forced the other way, not the whole set once per point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stetho_signal import _half_rate
from stetho_signal.segmentation import HeartSounds

GRID = (0.5, 0.3, 0.4, 0.6, 0.7, 1.01)  # the kept point first
Scorer = Callable[[NDArray[np.float64], float, NDArray[np.float64]], dict[str, Any]]
Versions = Callable[[dict[str, Any]], tuple[float, list[tuple[Any, Any, Any]]]]


def with_share(score: Scorer) -> Scorer:
    """``score`` that also keeps the share the guard measured (``middle_share``, None when
    the guard did not measure one)."""

    def scored(x: NDArray[np.float64], fs: float, seg: NDArray[np.float64]) -> dict[str, Any]:
        seen: list[float] = []
        measure = _half_rate._sounds_between

        def spy(
            env: NDArray[np.float64], fs_hz: float, sounds: HeartSounds, over_median: float
        ) -> float:
            seen.append(measure(env, fs_hz, sounds, over_median))
            return seen[-1]

        _half_rate._sounds_between = spy
        try:
            record = score(x, fs, seg)
        finally:
            _half_rate._sounds_between = measure
        record["middle_share"] = max(seen) if seen else None
        return record

    return scored


def middle_share_lopo(
    items: list[dict[str, Any]], records: list[dict[str, Any]], versions: Versions, score: Scorer
) -> dict[str, Any]:
    """Reads per grid point and leave-one-patient-out over the grid."""
    flipped = _flipped_reads(items, records, versions, score)
    kept = _half_rate._MIDDLE_SHARE

    def read(record: dict[str, Any], point: float) -> str:
        share = record["middle_share"]
        if share is None or (share >= point) == (share >= kept):
            return str(record["read"])
        return flipped[(record["name"], record["target"])]

    reads = {p: [(r["name"].split("_")[0], read(r, p)) for r in records] for p in GRID}
    patients = sorted({patient for patient, _ in reads[GRID[0]]})
    held_out: list[str] = []
    chosen: Counter[str] = Counter()
    for patient in patients:
        best = max(
            GRID, key=lambda p: (*_merit([k for q, k in reads[p] if q != patient]), -GRID.index(p))
        )
        chosen[str(best)] += 1
        held_out += [k for q, k in reads[best] if q == patient]
    return {
        "parameter": "_half_rate._MIDDLE_SHARE",
        "kept": kept,
        "records": len(records),
        "measured": sum(r["middle_share"] is not None for r in records),
        "reads_by_value": {str(p): dict(Counter(k for _, k in reads[p])) for p in GRID},
        "leave_one_patient_out": dict(Counter(held_out)),
        "chosen_by_fold": dict(chosen),
    }


def _merit(reads: list[str]) -> tuple[int, int]:
    return sum(k == "within" for k in reads), -sum(k == "half" for k in reads)


def _flipped_reads(
    items: list[dict[str, Any]], records: list[dict[str, Any]], versions: Versions, score: Scorer
) -> dict[tuple[str, Any], str]:
    """The read of every measured record with the guard's test forced the other way."""
    kept = _half_rate._MIDDLE_SHARE
    measured = {(r["name"], r["target"]): r["middle_share"] for r in records}
    out: dict[tuple[str, Any], str] = {}
    try:
        for item in items:
            for target, x, seg in versions(item)[1]:
                share = measured.get((item["name"], target))
                if share is None:
                    continue
                _half_rate._MIDDLE_SHARE = 2.0 if share >= kept else 0.0
                out[(item["name"], target)] = str(score(x, item["fs"], seg)["read"])
    finally:
        _half_rate._MIDDLE_SHARE = kept
    return out
