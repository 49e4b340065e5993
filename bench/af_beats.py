"""AF-like rhythms' chains beat by beat: ``python -m bench.af_beats [--data DIR]``.

Thirty-third round (docs/accuracy.md, branch s52-afbeats). A rate read from an irregular
chain is only as right as the chain's beats: the thirty-second round found the AF reads that
miss losing beats at runs of short cycles (label swaps, a short pair merged into one interval,
a beat placed where a regular rhythm would place it). This scores each chain against the
annotation before any rate statistic: for every CirCor recording made AF-like as
bench.heart_rhythms makes it (original rate, CV 0.15 and 0.25), the annotated S1s the chain
spans, those it labels S1 within 60 ms (one to one), those it misses, among them those it
labels S2 (swapped), its S1s on no annotated S1 (spurious) and the beats it loses net over
the span; with the read against both of the bench's references.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import _probe, heart_faster, heart_rhythms
from bench._data import located
from bench._retime import Segments, seeded
from bench.evaluate import TOLERANCE_S, _reference_rate, matched
from stetho_signal import analyze

__all__ = ["beat_score", "matched", "summarise"]

CVS = (0.15, 0.25)


def beat_score(
    s1_ref: np.ndarray, s2_ref: np.ndarray, s1: np.ndarray, s2: np.ndarray
) -> dict[str, int]:
    """One chain (its S1 and S2 times, s) against the annotated S1 and S2 centres, over the
    annotated S1s it spans (from its first S1 to its last, within the tolerance): how many,
    matched as S1, missed, swapped (missed and labelled S2), the chain's S1s in that span,
    spurious (on no annotated S1) and net lost (spanned less the chain's S1s)."""
    if s1.size == 0:
        return dict.fromkeys(("spanned", "matched", "missed", "swapped", "chain", "spurious",
                              "lost"), 0)  # fmt: skip
    inside = (s1_ref >= s1[0] - TOLERANCE_S) & (s1_ref <= s1[-1] + TOLERANCE_S)
    ref = s1_ref[inside]
    as_s1 = matched(ref, s1)
    as_s2 = matched(ref[~as_s1], s2)
    chain_hit = matched(s1, ref)
    return {
        "spanned": int(ref.size),
        "matched": int(as_s1.sum()),
        "missed": int((~as_s1).sum()),
        "swapped": int(as_s2.sum()),
        "chain": int(s1.size),
        "spurious": int((~chain_hit).sum()),
        "lost": int(ref.size - s1.size),
    }


def score_one(item: dict[str, Any], cv: float) -> dict[str, Any]:
    """One recording made AF-like at ``cv`` (original rate): its chain's beat score and reads."""
    x0, seg0, original = heart_faster.cropped(item)
    fs = item["fs"]
    x, seg = heart_rhythms.irregular(x0, fs, seg0, original, cv, seeded(item["name"], "AF", cv))
    heart = analyze(x, fs, "heart").heart
    assert heart is not None
    median_ref, count_ref = _reference_rate(seg), heart_rhythms.count_reference(seg)
    assert median_ref is not None and count_ref is not None
    s1_ref, s2_ref = _centres(seg, 1), _centres(seg, 3)
    read = heart.rate_bpm
    return {
        "name": item["name"],
        "cv": cv,
        "read": read,
        "median_ref": round(median_ref, 1),
        "count_ref": round(count_ref, 1),
        "within_median": heart_faster.read_kind(read, median_ref) == "within",
        "within_count": heart_faster.read_kind(read, count_ref) == "within",
        **beat_score(s1_ref, s2_ref, np.asarray(heart.s1_s), np.asarray(heart.s2_s)),
    }


def _centres(seg: Segments, state: int) -> np.ndarray:
    rows = seg[seg[:, 2] == state]
    centres: np.ndarray = (rows[:, 0] + rows[:, 1]) / 2.0
    return centres


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per CV: the beat counts summed, chains losing beats net, reads within 5 bpm of each."""
    out: dict[str, Any] = {}
    for cv in dict.fromkeys(r["cv"] for r in rows):
        mine = [r for r in rows if r["cv"] == cv]
        keys = ("spanned", "matched", "missed", "swapped", "spurious", "lost")
        out[str(cv)] = {
            "recordings": len(mine),
            **{k: sum(r[k] for r in mine) for k in keys},
            "chains_losing": sum(r["lost"] > 0 for r in mine),
            "chains_gaining": sum(r["lost"] < 0 for r in mine),
            "within_median": sum(r["within_median"] for r in mine),
            "within_count": sum(r["within_count"] for r in mine),
        }
    return out


def run(data_dir: Any = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "af_beats")
    if skipped is not None:
        return {"skipped": skipped}
    items = [i for i in heart_faster.recordings(where) if "x" in i]
    rows = [score_one(i, cv) for cv in CVS for i in items]
    return {"by_cv": summarise(rows), "per_recording": rows}


def main(argv: list[str] | None = None) -> int:
    args = _probe.arguments(__doc__, "af_beats", data_required=False).parse_args(argv)
    results = run(args.data)
    for cv, m in results.get("by_cv", {}).items():
        print(f"AF CV {cv}: {m}")
    _probe.save(args.json, results, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
