"""Are the crackle detections locked to the heartbeat? The twenty-fifth round's rule HL.

Crackles are airways reopening: the breath times them, the heart does not. A transient that
keeps one place in the heart's cycle beat after beat is the heart's or the pulse's. On the
shipped analysis's detections (``evaluate_icbhi``'s ``crackle_times_s``, every gate applied)
and the heart analysis of the same recording (mains hum out, as ``analyze`` reads it): each
detection between two labelled S1s at most 1.5x the median S1 interval apart gets its phase
in that beat; Rayleigh's test over those phases says whether they gather at one phase. When
they do (n >= 5, p under the bound), the detections within 0.1 cycle of their mean phase do
not count and the rest are counted as shipped (>= 3: a flag). Pre-registered in
docs/accuracy.md (twenty-fifth round); nothing from here is shipped unless it says so there.

    python -m bench.crackle_heartbeat_probe --data DIR [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench import lung_conditions
from bench._eval_intervals import add_held_out_intervals
from bench._eval_lung import evaluate_icbhi, read_audio
from bench._eval_lung_round5 import _scores, family_scores
from stetho_signal._audio import prepare
from stetho_signal._heart_gate import CLEAR_HEARTBEAT
from stetho_signal.analysis import analyze, without_mains_hum
from stetho_signal.heart import analyze_heart

BOUNDS_P = (0.01, 0.001, 0.0001)  # 0.001 pre-registered (about 0.05 over 36 recordings)
SHIPPED_BOUND_P = 0.001
MIN_PHASED = 5  # fewer phases cannot reach p < 0.001 unless nearly all coincide
REACH_CYCLES = 0.1  # a heart sound's length at 75/min
GAP_FACTOR = 1.5  # an S1 interval wider than this times the median: a missed beat
FLAG_COUNT = 3  # TriageThresholds.crackles_min_count


def rayleigh_p(phases: NDArray[np.float64]) -> float:
    """Rayleigh's test of uniformity for phases in cycles (0-1): the p-value.

    Zar's approximation (Biostatistical Analysis, ch. 27):
    ``exp(sqrt(1 + 4n + 4(n^2 - R_n^2)) - (1 + 2n))`` with ``R_n`` the resultant's length.
    """
    n = phases.size
    if n == 0:
        return 1.0
    r_n = float(np.abs(np.exp(2j * np.pi * phases).sum()))
    return min(1.0, math.exp(math.sqrt(1 + 4 * n + 4 * (n * n - r_n * r_n)) - (1 + 2 * n)))


def cardiac_phases(times_s: NDArray[np.float64], s1_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each time's phase in its beat (S1 to next S1), NaN outside the labels or in a gap."""
    phases = np.full(times_s.size, np.nan)
    if s1_s.size < 3:
        return phases
    gaps = np.diff(s1_s)
    widest = GAP_FACTOR * float(np.median(gaps))
    beat = np.searchsorted(s1_s, times_s, side="right") - 1
    inside = (beat >= 0) & (beat < gaps.size)
    for i in np.flatnonzero(inside):
        if gaps[beat[i]] <= widest:
            phases[i] = (times_s[i] - s1_s[beat[i]]) / gaps[beat[i]]
    return phases


def locked_out(phases: NDArray[np.float64], bound_p: float) -> tuple[NDArray[np.bool_], float]:
    """Which detections HL takes out (near the mean phase of locked ones), and Rayleigh's p."""
    phased = np.isfinite(phases)
    p = rayleigh_p(phases[phased])
    out = np.zeros(phases.size, dtype=bool)
    if np.count_nonzero(phased) >= MIN_PHASED and p < bound_p:
        mean = float(np.angle(np.exp(2j * np.pi * phases[phased]).mean())) / (2 * np.pi)
        distance = np.abs((phases - mean + 0.5) % 1.0 - 0.5)
        out = phased & (distance <= REACH_CYCLES)
    return out, p


def _heart(data_dir: Path, record: dict[str, Any]) -> tuple[NDArray[np.float64], bool]:
    raw, fs = read_audio(data_dir / record["file"])
    return _heart_of(raw if raw.ndim == 1 else raw[:, 0], fs)


def _heart_of(y: NDArray[np.float64], fs: float) -> tuple[NDArray[np.float64], bool]:
    _, spectrum, _ = without_mains_hum(prepare(y, fs).samples)
    heart = analyze_heart(spectrum)
    clear = bool(heart.heartbeat_found and heart.periodicity >= CLEAR_HEARTBEAT)
    return np.asarray(heart.s1_s, dtype=np.float64), clear


def probe(data_dir: Path) -> dict[str, Any]:
    """Per recording: phases, p, detections kept; per rule: Se / Sp, fitted and held out."""
    records = evaluate_icbhi(data_dir)["recordings_detail"]
    rows = []
    for record in records:
        times = np.asarray(record["crackle_times_s"], dtype=np.float64)
        s1, clear = _heart(data_dir, record)
        phases = cardiac_phases(times, s1)
        row: dict[str, Any] = {
            "file": Path(record["file"]).name,
            "patient": record["patient"],
            "crackles": record["crackle_cycles"] > 0,
            "detections": int(times.size),
            "clear_heartbeat": clear,
            "s1_labels": int(s1.size),
            "phased": int(np.count_nonzero(np.isfinite(phases))),
        }
        for bound in BOUNDS_P:
            out, p = locked_out(phases, bound)
            row["rayleigh_p"] = round(p, 6)
            row[f"left_{bound:g}"] = int(times.size - np.count_nonzero(out))
            row[f"left_clear_{bound:g}"] = int(times.size - np.count_nonzero(out & clear))
        rows.append(row)
    truth = [r["crackles"] for r in rows]
    patients = [r["patient"] for r in rows]

    def flags(key: str) -> list[bool]:
        return [r[key] >= FLAG_COUNT for r in rows]

    locked = [r["phased"] >= MIN_PHASED and r["rayleigh_p"] < SHIPPED_BOUND_P for r in rows]
    members = {"shipped": flags("detections")} | {
        f"HL p < {b:g}": flags(f"left_clear_{b:g}") for b in BOUNDS_P
    }
    reported = {
        "HL on any S1 labels, p < 0.001": flags("left_0.001"),
        "HL, whole flag dropped when locked (clear heartbeat)": [
            f and not (lk and r["clear_heartbeat"])
            for f, lk, r in zip(flags("detections"), locked, rows, strict=True)
        ],
    }
    family = family_scores(truth, patients, members)
    result = {
        "per_recording": rows,
        "family": family,
        "reported": family_scores(truth, patients, {"shipped": members["shipped"], **reported})[
            "members"
        ],
        "flagged": {
            name: [r["file"] for r, f in zip(rows, v, strict=True) if f]
            for name, v in {**members, **reported}.items()
        },
    }
    add_held_out_intervals(result)
    return result


def under_conditions(data_dir: Path) -> dict[str, Any]:
    """HL (p < 0.001; clear heartbeat, and on any S1 labels) replayed under the lung bench's
    conditions: Se / Sp against the shipped flags, and the recordings each moves."""
    beats = lung_conditions.hearts(data_dir)
    out: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {c: [] for c in lung_conditions.CONDITIONS}
    for k, item in enumerate(lung_conditions.recordings(data_dir)):
        x = item["x"] if item["x"].ndim == 1 else item["x"][:, 0]
        sounds = lung_conditions.heartbeat(beats[k % len(beats)][1], x.size, item["fs"])
        for condition in lung_conditions.CONDITIONS:
            y, rate = lung_conditions.heard(condition, x, item["fs"], item["name"], sounds)
            lung = analyze(y, rate, "lung").lung
            assert lung is not None
            times = np.asarray(lung.crackle_times_s, dtype=np.float64)
            s1, clear = _heart_of(y, rate)
            out_any, _ = locked_out(cardiac_phases(times, s1), SHIPPED_BOUND_P)
            rows[condition].append(
                {
                    "name": item["name"],
                    "crackles": bool(np.any(item["cycles"][:, 2] > 0)),
                    "shipped": times.size >= FLAG_COUNT,
                    "HL": times.size - np.count_nonzero(out_any & clear) >= FLAG_COUNT,
                    "HL any S1": times.size - np.count_nonzero(out_any) >= FLAG_COUNT,
                }
            )
    for condition, recs in rows.items():
        truth = [r["crackles"] for r in recs]
        out[condition] = {}
        for member in ("shipped", "HL", "HL any S1"):
            flagged = [r[member] for r in recs]
            out[condition][member] = {
                **_scores(truth, flagged),
                "lost": [
                    r["name"] for r in recs if r["crackles"] and r["shipped"] and not r[member]
                ],
                "cleared": [
                    r["name"] for r in recs if not r["crackles"] and r["shipped"] and not r[member]
                ],
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--conditions", action="store_true", help="replay HL under the lung bench's conditions"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    result = probe(args.data)
    if args.conditions:
        result["conditions"] = under_conditions(args.data)
    print(f"{'file':<34} {'truth':<6} {'det':>4} {'clear':>5} {'S1':>3} {'phased':>6} {'p':>9}")
    for r in result["per_recording"]:
        if r["detections"]:
            print(
                f"{r['file'][:34]:<34} {r['crackles']!s:<6} {r['detections']:>4} "
                f"{r['clear_heartbeat']!s:>5} {r['s1_labels']:>3} {r['phased']:>6} "
                f"{r['rayleigh_p']:>9.2g}  left {r['left_clear_0.001']} (any S1: {r['left_0.001']})"
            )
    for name, s in {**result["family"]["members"], **result["reported"]}.items():
        print(f"{name:<52} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    held = result["family"]["leave_one_patient_out"]
    print(
        f"{'family, leave-one-patient-out':<52} Se {held['sensitivity']:.3f} "
        f"{held['sensitivity_ci95']}  Sp {held['specificity']:.3f} {held['specificity_ci95']}"
    )
    for condition, members in result.get("conditions", {}).items():
        line = "; ".join(
            f"{m} {v['sensitivity']} / {v['specificity']}"
            + (f" (lost {v['lost']}, cleared {v['cleared']})" if v["lost"] or v["cleared"] else "")
            for m, v in members.items()
        )
        print(f"{condition:<14} {line}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
