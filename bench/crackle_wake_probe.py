"""Crackles in the wake of a loud sound? The twenty-seventh round's second crackle probe.

A lead from 104_1b1_Pl: its detections sit in quiet gaps just after loud tonal or voice-like
sounds end. A loud sound ends where the band's level drops by a large step (the median of
its 10 ms RMS blocks over the 0.1 s before a block edge against the 0.1 s after, dB; in
each run of such edges, the middle of those within 3 dB of its largest). Is a shipped
detection (every gate applied) within a short time after such an end more often on the
false flags than on the true ones, or than chance (the share of the recording's block
edges lying in such a wake)? Scored too, as the mechanism's reach, not as a rule:
detections in the wake taken out, at bounds from the detector's own constants (the band
filter's response, +-12 ms to -60 dB; half and all of its 0.1 s background window) and at
drops of 10 dB, 6x (the detector's own ratio, 15.6 dB) and 20 dB. Reported in
docs/accuracy.md (twenty-seventh round); no rule was warranted, none ships.

    python -m bench.crackle_wake_probe --data DIR [--json FILE]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench import _probe
from bench._eval_intervals import add_held_out_intervals, print_family
from bench._eval_lung import crackle_recordings
from bench._eval_lung_round5 import family_scores

BLOCK_S = 0.01  # the detector's own level step
SIDE_BLOCKS = 10  # 0.1 s each side: the detector's background window
# After a drop: the band filter's response (+-12 ms to -60 dB, zero phase), half the
# background window (from there on the window no longer reaches the loud sound), all of it.
AFTER_S = (0.012, 0.05, 0.1)
DROPS_DB = (10.0, 20.0 * float(np.log10(6.0)), 20.0)  # 6x: the detector's own ratio
_FLAG_COUNT = 3  # TriageThresholds.crackles_min_count


def drops_db(fine: NDArray[np.floating], fs_hz: float) -> NDArray[np.float64]:
    """The level's drop at each 10 ms block edge: median block dB over the 0.1 s before
    minus over the 0.1 s after. Edge ``i`` is at ``i * BLOCK_S``; NaN where a side is cut."""
    block = max(1, round(BLOCK_S * fs_hz))
    count = fine.size // block
    blocks = np.asarray(fine[: count * block], dtype=np.float64).reshape(count, block)
    db = 10.0 * np.log10(np.maximum(np.mean(np.square(blocks), axis=1), 1e-30))
    out = np.full(count + 1, np.nan)
    if count >= 2 * SIDE_BLOCKS:
        medians = np.median(np.lib.stride_tricks.sliding_window_view(db, SIDE_BLOCKS), axis=1)
        # medians[j] covers blocks j .. j+9: before edge i is medians[i-10], after it medians[i].
        out[SIDE_BLOCKS : count - SIDE_BLOCKS + 1] = medians[:-SIDE_BLOCKS] - medians[SIDE_BLOCKS:]
    return out


def offsets(drops: NDArray[np.float64], drop_db: float) -> NDArray[np.intp]:
    """The block edges where a loud sound ends: in each run of edges whose drop is at least
    ``drop_db``, the middle of those within 3 dB of its largest. A step's drop is flat for
    up to 50 ms either side of it (each 0.1 s median holds mostly one side), so its largest
    value falls anywhere on that plateau; the plateau's middle is the step."""
    loud = np.flatnonzero(np.where(np.isfinite(drops), drops, -np.inf) >= drop_db)
    edges = []
    for run in np.split(loud, np.flatnonzero(np.diff(loud) > 1) + 1) if loud.size else []:
        top = run[drops[run] >= drops[run].max() - 3.0]
        edges.append((top[0] + top[-1] + 1) // 2)
    return np.array(edges, dtype=np.intp)


def since_offset_s(edges: NDArray[np.intp], time_s: float) -> float:
    """Time from the last offset edge at or before ``time_s`` to it (inf if none)."""
    gone = time_s - edges * BLOCK_S
    gone = gone[gone >= -1e-9]
    return float(max(gone.min(), 0.0)) if gone.size else float("inf")


def wake_share(drops: NDArray[np.float64], edges: NDArray[np.intp], after_s: float) -> float:
    """The share of measured block edges within ``after_s`` after an offset edge: how often a
    time drawn at random would be "in the wake"."""
    measured = np.isfinite(drops)
    if not measured.any():
        return 0.0
    wake = np.zeros(drops.size, dtype=bool)
    for i in edges:
        wake[i : i + round(after_s / BLOCK_S) + 1] = True
    return float(wake[measured].mean())


def member(after_s: float, drop_db: float) -> str:
    return f"wake {after_s * 1000:.0f} ms, {drop_db:.1f} dB"


def probe(data_dir: Path) -> dict[str, Any]:
    """Each recording's detections in the wake, their chance share, and the reach's scores."""
    recordings = []
    for record, _, fine, fine_hz in crackle_recordings(data_dir):
        drops = drops_db(fine, fine_hz)
        shipped = list(record["crackle_times_s"])
        row: dict[str, Any] = {
            "file": Path(record["file"]).name,
            "patient": record["patient"],
            "crackles": record["crackle_cycles"] > 0,
            "shipped": len(shipped),
            "since_10db_s": [round(since_offset_s(offsets(drops, 10.0), t), 2) for t in shipped],
            "members": {},
        }
        for drop_db in DROPS_DB:
            edges = offsets(drops, drop_db)
            since = [since_offset_s(edges, t) for t in shipped]
            for after_s in AFTER_S:
                inside = sum(s <= after_s + 1e-9 for s in since)
                row["members"][member(after_s, drop_db)] = {
                    "in_wake": inside,
                    "chance": round(wake_share(drops, edges, after_s) * len(shipped), 2),
                    "left": len(shipped) - inside,
                }
        recordings.append(row)
    truth = [r["crackles"] for r in recordings]
    rules = {"shipped": [r["shipped"] >= _FLAG_COUNT for r in recordings]}
    for name in recordings[0]["members"]:
        rules[name] = [r["members"][name]["left"] >= _FLAG_COUNT for r in recordings]
    return {
        "recordings": recordings,
        "rules": family_scores(truth, [r["patient"] for r in recordings], rules),
    }


def _kind(r: dict[str, Any]) -> str:
    return _probe.flag_kind(r["crackles"], r["shipped"] >= _FLAG_COUNT)


def main(argv: list[str] | None = None) -> int:
    args = _probe.arguments(__doc__, "crackle_wake_probe").parse_args(argv)
    if not _probe.has_manifest(args.data):
        return 2
    results = probe(args.data)
    names = list(results["recordings"][0]["members"])
    print("detections in the wake / all (expected by chance), by kind of recording:")
    for name in names:
        parts = []
        for kind in ("false flag", "true flag", "no flag"):
            rows = [r for r in results["recordings"] if _kind(r) == kind]
            inside = sum(r["members"][name]["in_wake"] for r in rows)
            chance = sum(r["members"][name]["chance"] for r in rows)
            parts.append(f"{kind} {inside}/{sum(r['shipped'] for r in rows)} ({chance:.1f})")
        print(f"  {name:<22} " + ", ".join(parts))
    for r in results["recordings"]:
        if r["shipped"] >= _FLAG_COUNT:
            since = [s for s in r["since_10db_s"] if s <= 0.5]
            print(
                f"{r['file'][:30]:<30} {_kind(r):<10} {r['shipped']:3d} detections; "
                f"s since a 10 dB offset, those under 0.5 s: {since}"
            )
    add_held_out_intervals(results["rules"])
    print_family(results["rules"], "family, held out", width=22)
    _probe.save(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
