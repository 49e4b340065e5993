"""Leave one patient out for the murmur hint's per-beat ratio (fifth round, issue 17).

The hint compares systole with diastole. The per-beat ratio (``_murmur._paired_ratio``: each
systole's middle share over that of the diastole after it, floored, median over beats) was added
after trying a few windows and floors on the CirCor recordings. Here the detector without it
(the fourth round's) and every tried point are run in the same pass; each CirCor patient is then
scored with the point that does best (balanced accuracy) on every other patient, ties going to
the earlier point (the detector without the ratio first, then the kept point). Yaseen counts are
given for every point: its N clips and its mitral stenosis clips are the guards.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench._eval_lung import manifest, read_audio
from stetho_signal import _murmur as murmur_module
from stetho_signal import analyze

_WINDOWS = {"thirds": (1.0 / 3.0, 2.0 / 3.0), "quarters": (0.25, 0.75), "fifths": (0.2, 0.8)}
_FLOORS = (0.01, 0.005, 0.02, 0.03, 0.05)
_QUANTILES = (0.25, 0.5)
WITHOUT = "without"  # the detector without the per-beat ratio
# The kept point first after the detector without the ratio, then the rest of the grid.
GRID: tuple[str, ...] = (
    WITHOUT,
    *(f"{w}/{f}/{q}" for w, f, q in itertools.product(_WINDOWS, _FLOORS, _QUANTILES)),
)
_POSITIVE = {"murmur", "Present"}
_NEGATIVE = {"normal", "Absent"}


@contextmanager
def _point(name: str) -> Iterator[None]:
    """The heart module set to one grid point, restored after."""
    names = ("_PAIRED_WINDOW", "_PAIRED_FLOOR", "_PAIRED_QUANTILE", "_paired_ratio")
    kept = tuple(getattr(murmur_module, n) for n in names)
    try:
        if name == WITHOUT:
            murmur_module._paired_ratio = lambda *_: None
        else:
            window, floor, q = name.split("/")
            murmur_module._PAIRED_WINDOW = _WINDOWS[window]
            murmur_module._PAIRED_FLOOR = float(floor)
            murmur_module._PAIRED_QUANTILE = float(q)
        yield
    finally:
        for n, value in zip(names, kept, strict=True):
            setattr(murmur_module, n, value)


def murmur_paired_lopo(data_dir: Path) -> dict[str, Any]:
    """Per grid point: CirCor and Yaseen hints; leave-one-patient-out over the CirCor grid."""
    rows = [r for r in manifest(data_dir) if r["dataset"] in ("circor", "yaseen")]
    audio = [read_audio(data_dir / r["relpath"]) for r in rows]
    hints: dict[str, list[tuple[bool | None, float | None]]] = {}
    for name in GRID:
        with _point(name):
            hints[name] = [_hint(x, fs) for x, fs in audio]
    circor = [i for i, r in enumerate(rows) if r["murmur"] in _POSITIVE | _NEGATIVE]
    yaseen = [i for i, r in enumerate(rows) if r["dataset"] == "yaseen"]
    labels = {i: rows[i]["murmur"] in _POSITIVE for i in circor}
    patients = {i: rows[i]["patient"] for i in circor}
    held: dict[int, bool | None] = {}
    chosen: dict[str, int] = {}
    for patient in sorted(set(patients.values())):
        train = [i for i in circor if patients[i] != patient]
        best = max(GRID, key=lambda p: (_balanced(hints[p], train, labels)[0], -GRID.index(p)))
        chosen[best] = chosen.get(best, 0) + 1
        held.update({i: hints[best][i][0] for i in circor if patients[i] == patient})
    held_out = _balanced([(held.get(i), None) for i in range(len(rows))], circor, labels)
    return {
        "grid": list(GRID),
        "kept": GRID[1],
        "circor_by_point": {p: _summary(hints[p], circor, labels) for p in GRID},
        "yaseen_by_point": {p: _yaseen(hints[p], yaseen, rows) for p in GRID},
        "leave_one_patient_out": {
            "balanced_accuracy": held_out[0],
            "sensitivity": held_out[1],
            "specificity": held_out[2],
        },
        "chosen_by_fold": chosen,
        # For the intervals of the held-out figures (bench._eval_intervals).
        "held_out_by_recording": {
            Path(rows[i]["relpath"]).stem: {
                "patient": rows[i]["patient"],
                "murmur_label": rows[i]["murmur"],
                "murmur_suspected": held[i],
            }
            for i in circor
        },
        "contrast_by_recording": {
            Path(rows[i]["relpath"]).stem: {
                "label": rows[i]["murmur"],
                WITHOUT: hints[WITHOUT][i][1],
                "kept": hints[GRID[1]][i][1],
            }
            for i in circor
        },
    }


def _hint(x: np.ndarray, fs: float) -> tuple[bool | None, float | None]:
    result = analyze(x, fs, "heart")
    contrast = None if result.heart is None else result.heart.murmur_contrast
    return result.findings.murmur_suspected, contrast


def _balanced(
    hints: list[tuple[bool | None, float | None]], picked: list[int], labels: dict[int, bool]
) -> tuple[float, float, float]:
    """Balanced accuracy, sensitivity and specificity (no measure counts as a miss either way)."""
    positives = [i for i in picked if labels[i]]
    negatives = [i for i in picked if not labels[i]]
    sens = sum(hints[i][0] is True for i in positives) / max(len(positives), 1)
    spec = sum(hints[i][0] is False for i in negatives) / max(len(negatives), 1)
    return round((sens + spec) / 2, 3), round(sens, 3), round(spec, 3)


def _summary(
    hints: list[tuple[bool | None, float | None]], picked: list[int], labels: dict[int, bool]
) -> dict[str, float]:
    ba, sens, spec = _balanced(hints, picked, labels)
    return {"balanced_accuracy": ba, "sensitivity": sens, "specificity": spec}


def _yaseen(
    hints: list[tuple[bool | None, float | None]], picked: list[int], rows: list[dict[str, str]]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i in picked:
        cls = rows[i]["yaseen_class"]
        counts[cls] = counts.get(cls, 0) + (hints[i][0] is True)
    return dict(sorted(counts.items()))


def summary_lines(probe: dict[str, Any]) -> list[str]:
    """The probe's lines for the printed table."""
    held = probe["leave_one_patient_out"]
    lines = [
        f"murmur, per-beat ratio, leave-one-patient-out BA {held['balanced_accuracy']} "
        f"(Se {held['sensitivity']}, Sp {held['specificity']}; chosen {probe['chosen_by_fold']})"
    ]
    for point in probe["grid"]:
        c, y = probe["circor_by_point"][point], probe["yaseen_by_point"][point]
        lines.append(
            f"  {point:<15} CirCor BA {c['balanced_accuracy']} (Se {c['sensitivity']}, "
            f"Sp {c['specificity']}); Yaseen hinted {y}"
        )
    return lines
