"""Would breath timing tell true crackles apart? A probe on the annotated ICBHI cycles.

Crackles are mostly inspiratory and recur at a similar phase breath after breath (fine: late
inspiratory, coarse: early; ATS nomenclature, PMC7152492 Table 16-2; Al Jarad, Respir Med
1994). Before building a breath-phase estimate from the recording's own envelope, this asks
whether the crackle detector's output would pass such a rule if the phase were known exactly:
each detection's phase is taken within its *annotated* cycle, the best any estimate from
the envelope could do (the cycles are read as starting at inspiration; the database's page
does not say so, and only ``first_half_share`` depends on it).

Per recording: the detections' phase concentration (mean resultant length R, 0 = spread
evenly, 1 = all at one phase), the share in the first half of the cycle (inspiration, as
I:E is about 1:2 at rest and longer expiration in COPD) and the share of cycles holding a
detection. For each statistic, the best single cut on these very recordings (an oracle: it
is fitted to them) and its sensitivity and specificity per recording. A statistic whose
oracle misses the targets cannot help on recordings we do not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from bench._eval_intervals import held_out_folds
from bench._eval_lung import annotated_cycles

_STATISTICS = ("detections", "cycle_share", "phase_R", "first_half_share")


def crackle_phase_probe(data_dir: Path, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Phase statistics of each recording's crackle detections and each one's oracle cut.

    ``records`` are ``evaluate_icbhi``'s ``recordings_detail`` for recordings under
    ``data_dir``.
    """
    rows = []
    for record in records:
        spans = annotated_cycles(data_dir / record["file"])
        stats = _statistics(np.asarray(record["crackle_times_s"], dtype=float), spans)
        truth = bool((spans[:, 2] > 0).any())
        rows.append(
            {"file": record["file"], "patient": record["patient"], "crackles": truth, **stats}
        )
    return {
        "per_recording": rows,
        "oracle_cut": {name: _oracle(rows, name) for name in _STATISTICS},
        "leave_one_patient_out": {name: _held_out(rows, name) for name in _STATISTICS},
        "held_out_by_patient": {name: held_out_flags(rows, name) for name in _STATISTICS},
    }


def _statistics(times: np.ndarray, spans: np.ndarray) -> dict[str, float]:
    starts, ends = spans[:, 0], spans[:, 1]
    index = np.searchsorted(starts, times, side="right") - 1
    inside = (index >= 0) & (times <= ends[np.maximum(index, 0)])
    k = index[inside]
    phase = (times[inside] - starts[k]) / (ends[k] - starts[k])
    concentration = float(np.abs(np.exp(2j * np.pi * phase).mean())) if phase.size else 0.0
    return {
        "detections": float(times.size),
        "cycle_share": round(np.unique(k).size / max(len(spans), 1), 3),
        "phase_R": round(concentration, 3),
        "first_half_share": round(float(np.mean(phase < 0.5)), 3) if phase.size else 0.0,
    }


def _oracle(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The cut (flag at >= cut, or at <= cut) with the best mean of Se and Sp."""
    best: dict[str, Any] = {"balanced": -1.0}
    for cut in sorted({r[name] for r in rows}):
        for above in (True, False):
            se, sp = _scores(rows, [(r[name] >= cut) == above or r[name] == cut for r in rows])
            if (se + sp) / 2 > best["balanced"]:
                best = {
                    "balanced": round((se + sp) / 2, 3),
                    "cut": cut,
                    "flag_when": ">=" if above else "<=",
                    "sensitivity": round(se, 3),
                    "specificity": round(sp, 3),
                }
    return best


def _held_out(rows: list[dict[str, Any]], name: str) -> dict[str, float]:
    """Se and Sp when each patient is flagged by the oracle cut of all the other patients."""
    se, sp = _scores(rows, _held_out_flags(rows, name))
    return {"sensitivity": round(se, 3), "specificity": round(sp, 3)}


def held_out_flags(rows: list[dict[str, Any]], name: str) -> dict[str, list[int]]:
    """``_held_out``'s result for each held-out patient (``held_out_folds``)."""
    flagged = _held_out_flags(rows, name)
    return held_out_folds([r["patient"] for r in rows], [r["crackles"] for r in rows], flagged)


def _held_out_flags(rows: list[dict[str, Any]], name: str) -> list[bool]:
    flagged = []
    for row in rows:
        cut = _oracle([r for r in rows if r["patient"] != row["patient"]], name)
        above = cut["flag_when"] == ">="
        flagged.append((row[name] >= cut["cut"]) == above or row[name] == cut["cut"])
    return flagged


def _scores(rows: list[dict[str, Any]], flagged: list[bool]) -> tuple[float, float]:
    pos = sum(r["crackles"] for r in rows)
    tp = sum(f and r["crackles"] for f, r in zip(flagged, rows, strict=True))
    tn = sum(not f and not r["crackles"] for f, r in zip(flagged, rows, strict=True))
    return tp / max(pos, 1), tn / max(len(rows) - pos, 1)
