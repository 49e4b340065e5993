"""Crackles in a handled or rubbed chest piece's burst? The twenty-seventh round's rule H.

A chest piece moved or rubbed on the skin makes a burst of transients close together while
the band's level jumps with it. Among the crackle detector's candidates (``crackles_in``:
6x over the local level and damped, before any gate), a run of at least three, each within
0.1 s of the previous (the detector's own background window), is a handling episode when
its level (the median of its 10 ms RMS blocks, 50 ms either side included) stands 6 dB or
more over both the 0.25 s before and the 0.25 s after it. A shipped detection (every gate
applied) inside an episode does not count; the rest are counted as shipped (>= 3: a flag).
Pre-registered in docs/accuracy.md (twenty-seventh round), measured there and not shipped.
Also scored: every run taken out whatever its level (how far the mechanism could reach).

    python -m bench.crackle_handling_probe --data DIR [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_intervals import add_held_out_intervals, print_family
from bench._eval_lung import crackle_recordings
from bench._eval_lung_round5 import family_scores
from stetho_signal.crackles import crackles_in

MIN_CANDIDATES = 3  # the crackle flag's own count
GAP_S = 0.1  # crackles._CRACKLE_BACKGROUND_S: closer, each stands in the others' background
# Breath sound power grows about as the square of airflow (Gavriely & Cugell, J Appl Physiol
# 1996): 6 dB is the flow doubling within a quarter second and halving again in the next.
JUMP_DB = 6.0
BLOCK_S = 0.01  # the detector's own level step
MARGIN_S = 0.05  # the episode's level is read from this far before its first candidate
SIDE_S = 0.25  # each neighbour the episode's level is compared with
_FLAG_COUNT = 3  # TriageThresholds.crackles_min_count


def runs(times_s: list[float], gap_s: float = GAP_S) -> list[list[float]]:
    """``times_s`` (in order) split where two successive times are more than ``gap_s`` apart."""
    out: list[list[float]] = []
    for t in times_s:
        if out and t - out[-1][-1] <= gap_s:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def level(fine: NDArray[np.floating], fs_hz: float, start_s: float, end_s: float) -> float | None:
    """Median RMS of the 10 ms blocks from ``start_s`` to ``end_s``; None when the recording
    does not hold the whole stretch or it is shorter than a block."""
    block = max(1, round(BLOCK_S * fs_hz))
    a, b = round(start_s * fs_hz), round(end_s * fs_hz)
    count = (b - a) // block
    if a < 0 or b > fine.size or count < 1:
        return None
    blocks = np.asarray(fine[a : a + count * block], dtype=np.float64).reshape(count, block)
    return float(np.median(np.sqrt(np.mean(np.square(blocks), axis=1))))


def episode_jumps(
    candidates_s: list[float], fine: NDArray[np.floating], fs_hz: float
) -> list[dict[str, Any]]:
    """Every run of at least three candidates: its span and its level over each neighbour, dB
    (None where the recording cuts a neighbour)."""
    rows = []
    for run in runs(candidates_s):
        if len(run) < MIN_CANDIDATES:
            continue
        first, last = run[0] - MARGIN_S, run[-1] + MARGIN_S
        inside = level(fine, fs_hz, first, last)
        sides = (level(fine, fs_hz, first - SIDE_S, first), level(fine, fs_hz, last, last + SIDE_S))
        jumps = [
            None if inside is None or side is None else 20.0 * np.log10(inside / max(side, 1e-30))
            for side in sides
        ]
        rows.append({"span_s": (run[0], run[-1]), "candidates": len(run), "jump_db": jumps})
    return rows


def is_handling(row: dict[str, Any], jump_db: float = JUMP_DB) -> bool:
    """Rule H: the level stands ``jump_db`` or more over both neighbours (none may be cut)."""
    return all(j is not None and j >= jump_db for j in row["jump_db"])


def left(times_s: list[float], spans: list[tuple[float, float]]) -> list[float]:
    """The times outside every span (ends included)."""
    return [t for t in times_s if not any(a <= t <= b for a, b in spans)]


def probe(data_dir: Path) -> dict[str, Any]:
    """Each recording's runs, the detections rule H leaves, and the rules' scores."""
    recordings = []
    for record, prepared, fine, fine_hz in crackle_recordings(data_dir):
        candidates = list(crackles_in(fine, fine_hz, prepared.signal_span_s))
        rows = episode_jumps(candidates, fine, fine_hz)
        shipped = list(record["crackle_times_s"])
        recordings.append(
            {
                "file": Path(record["file"]).name,
                "patient": record["patient"],
                "crackles": record["crackle_cycles"] > 0,
                "episodes": rows,
                "shipped": len(shipped),
                "rule_h": len(left(shipped, [r["span_s"] for r in rows if is_handling(r)])),
                "every_run": len(left(shipped, [r["span_s"] for r in rows])),
            }
        )
    truth = [r["crackles"] for r in recordings]
    rules = {
        name: [r[name] >= _FLAG_COUNT for r in recordings]
        for name in ("shipped", "rule_h", "every_run")
    }
    return {
        "recordings": recordings,
        "rules": family_scores(truth, [r["patient"] for r in recordings], rules),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results/crackle_handling_probe.json")
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    results = probe(args.data)
    for r in results["recordings"]:
        for row in r["episodes"]:
            a, b = row["span_s"]
            jumps = " / ".join("cut" if j is None else f"{j:+.1f}" for j in row["jump_db"])
            print(
                f"{r['file'][:30]:<30} {'crackles' if r['crackles'] else 'clean':<8} "
                f"{a:6.2f}-{b:6.2f} s  {row['candidates']} candidates  jump {jumps} dB  "
                f"detections {r['shipped']} -> {r['rule_h']} (every run out: {r['every_run']})"
            )
    add_held_out_intervals(results["rules"])
    print_family(results["rules"], "family, leave-one-patient-out")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
