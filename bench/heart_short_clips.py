"""Slow hearts in short clips, from real recordings: ``python -m bench.heart_short_clips``.

A 30/min heart in a 3.5 s clip once read 64.5/min with no flag (docs/accuracy.md,
twenty-seventh round): an urgent bradycardia triaged routine. This sweep makes every annotated
CirCor recording (as bench.heart_rhythms: the same crops, plausibility check and retiming, each
beat at the target rate) beat at ``RATES_BPM``, cuts clips of ``LENGTHS_S`` from it, starting
at the first S1 and half a cycle later (a clip that opens in a beat's middle holds one S1
fewer), and runs the shipped analysis (no age band, as ``make eval``) and the adult triage.

Reported per rate and length: reads within 5 bpm, wrong (any other rate), none; wrong reads
that carry no flag doubting the rate (``heart_short_clip``, ``heart_possible_half_rate``),
listed; the triage levels. A clip's reference rate is its own annotated beats' (see
:func:`clips`); the whole made recording is read too, as a control (``whole_wrong``: its wrong
reads, against bench.evaluate's median S1-S1). JSON to ``bench/results/heart_short_clips.json``;
9,806 analyses, about 2 min on one core.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench import heart_faster
from bench._data import located
from bench._retime import Samples, Segments, beat_count, retime, seeded
from bench.evaluate import _reference_rate
from stetho_signal import TriageThresholds, analyze
from stetho_signal._rules import triage

RATES_BPM = (30.0, 35.0, 40.0, 45.0, 60.0, 80.0, 120.0)
LENGTHS_S = (3.0, 3.25, 3.5, 3.6, 3.75, 4.0, 4.25, 4.5, 5.0, 5.5, 6.0)
DOUBTING = frozenset({"heart_short_clip", "heart_possible_half_rate"})
_ADULT = TriageThresholds().for_age_band("adult")
DEFAULT_JSON = Path("bench/results/heart_short_clips.json")

__all__ = ["clips", "made", "run", "score", "summary_lines"]


def made(item: dict[str, Any], rate_bpm: float) -> tuple[Samples, Segments, float]:
    """One recording with every beat at ``rate_bpm``: samples, annotation, reference rate."""
    x, seg0, original = heart_faster.cropped(item)
    factors = np.full(beat_count(seg0), original / rate_bpm)
    y, seg = retime(x, item["fs"], seg0, factors, seeded(item["name"], rate_bpm))
    reference = _reference_rate(seg)
    assert reference is not None
    return y, seg, reference


def clips(
    y: Samples, fs: float, seg: Segments, rate_bpm: float, length_s: float
) -> list[tuple[float, Samples, int, float]]:
    """Clips of ``length_s`` from the first S1's start and half a cycle later, each with its
    start (s), the annotated S1s wholly inside it and its own reference rate (per min: the
    median interval of the S1s from the one before it to the one after, as a retimed child's
    beats keep their own spread); those the recording cannot hold are left out."""
    out = []
    s1 = seg[seg[:, 2] == 1]
    centres = (s1[:, 0] + s1[:, 1]) / 2.0
    for start in (0.0, 30.0 / rate_bpm):
        lo, hi = round(start * fs), round((start + length_s) * fs)
        if hi > y.size:
            continue
        inside = int(np.count_nonzero((s1[:, 0] >= start) & (s1[:, 1] <= start + length_s)))
        first = max(int(np.searchsorted(centres, start)) - 1, 0)
        last = int(np.searchsorted(centres, start + length_s)) + 1
        local = 60.0 / float(np.median(np.diff(centres[first : last + 1])))
        out.append((start, y[lo:hi], inside, local))
    return out


def score(x: Samples, fs: float, reference: float) -> dict[str, Any]:
    """The shipped analysis of one clip: rate read, its kind, flags, triage (no band, adult)."""
    result = analyze(x, fs, "heart")
    assert result.heart is not None
    adult = triage(result.quality, result.heart, None, _ADULT, "adult")
    flags = sorted({f.code for f in result.triage.flags})
    return {
        "hr_reference_bpm": round(reference, 1),
        "hr_estimate_bpm": result.heart.rate_bpm,
        "read": heart_faster.read_kind(result.heart.rate_bpm, reference),
        "doubted": bool(DOUBTING.intersection(flags)),
        "flags": flags,
        "triage": result.triage.level,
        "triage_adult": adult.level,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per rate, per length: reads by kind, wrong reads no flag doubts, triage levels."""
    table: dict[str, Any] = {}
    for rate in RATES_BPM:
        for length in LENGTHS_S:
            cell = [r for r in rows if r["rate"] == rate and r["length_s"] == length]
            if not cell:
                continue
            wrong = [r for r in cell if r["read"] not in ("within", "none")]
            silent = [r for r in wrong if not r["doubted"]]
            table[f"{rate:g}/min {length:g} s"] = {
                "clips": len(cell),
                "within": sum(r["read"] == "within" for r in cell),
                "none": sum(r["read"] == "none" for r in cell),
                "wrong": len(wrong),
                "wrong_unflagged": [
                    f"{r['name']}@{r['start_s']:g}: {r['hr_estimate_bpm']} "
                    f"(true {r['hr_reference_bpm']}, {r['triage']})"
                    for r in silent
                ],
                "triage": dict(Counter(r["triage"] for r in cell)),
                "triage_adult": dict(Counter(r["triage_adult"] for r in cell)),
            }
    return table


def run(data_dir: Path | None = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "heart_short_clips")
    if skipped is not None:
        return {"skipped": skipped}
    rows: list[dict[str, Any]] = []
    whole: list[dict[str, Any]] = []
    for item in heart_faster.recordings(where):
        if "x" not in item:
            continue
        for rate in RATES_BPM:
            y, seg, reference = made(item, rate)
            whole.append({"name": item["name"], "rate": rate, **score(y, item["fs"], reference)})
            for length in LENGTHS_S:
                for start, x, s1_inside, local in clips(y, item["fs"], seg, rate, length):
                    rows.append(
                        {
                            "name": item["name"],
                            "rate": rate,
                            "length_s": length,
                            "start_s": round(start, 3),
                            "s1_inside": s1_inside,
                            **score(x, item["fs"], local),
                        }
                    )
    return {
        "data": str(where),
        "by_clip": summarise(rows),
        "whole_wrong": {
            f"{rate:g}/min": [
                f"{r['name']}: {r['hr_estimate_bpm']} (true {r['hr_reference_bpm']})"
                for r in whole
                if r["rate"] == rate and r["read"] not in ("within", "none")
            ]
            for rate in RATES_BPM
        },
        "per_clip": rows,
        "per_whole": whole,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per rate and length."""
    return [
        f"short clips {key:>14}: {m['within']} of {m['clips']} within 5 bpm, none {m['none']}, "
        f"wrong {m['wrong']} ({len(m['wrong_unflagged'])} unflagged), triage {m['triage']}"
        for key, m in results.get("by_clip", {}).items()
    ]


def _unflagged(row: dict[str, Any]) -> list[str]:
    return list(row["wrong_unflagged"])


def main(argv: list[str] | None = None) -> int:
    return heart_faster.cli(
        argv, __doc__, run, summary_lines, DEFAULT_JSON, "by_clip", ("unflagged", _unflagged)
    )


if __name__ == "__main__":
    raise SystemExit(main())
