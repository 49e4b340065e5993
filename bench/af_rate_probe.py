"""AF-like rhythms' rate, recording by recording: ``python -m bench.af_rate_probe [--cv CV]``.

Thirtieth round (docs/accuracy.md, branch s49-fastheart). For each CirCor recording made
AF-like as bench.heart_rhythms makes it (the original rate, CV 0.25 unless told), the
shipped analysis's read against the bench's reference (the median of the annotated S1-S1
intervals), with what else could have been read: the drawn rhythm's mean rate (the count a
nurse makes over the clip; bench.heart_rhythms scales the draws to the original rate), the
annotated beats counted over their span, the chain's own beats counted over their span and
the mean of its intervals; how the read was made (the chain's intervals or the
autocorrelation alone); the annotated S1s the chain labels S1, S2 or misses; the triage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import _probe, heart_faster, heart_rhythms
from bench._data import located
from bench._retime import seeded
from bench.evaluate import TOLERANCE_S, _match, _reference_rate
from stetho_signal import analyze


def _count_rate(times: np.ndarray) -> float | None:
    """Beats over their span, per minute (None under three)."""
    if times.size < 3 or times[-1] <= times[0]:
        return None
    return round(60.0 * (times.size - 1) / float(times[-1] - times[0]), 1)


def probe_one(item: dict[str, Any], cv: float) -> dict[str, Any]:
    x0, seg0, original = heart_faster.cropped(item)
    x, seg = heart_rhythms.irregular(
        x0, item["fs"], seg0, original, cv, seeded(item["name"], "AF", cv)
    )
    result = analyze(x, item["fs"], "heart")
    heart = result.heart
    assert heart is not None
    reference = _reference_rate(seg)
    assert reference is not None
    s1 = seg[seg[:, 2] == 1]
    s1_centres = (s1[:, 0] + s1[:, 1]) / 2.0
    ours_s1 = np.asarray(heart.s1_s, dtype=np.float64)
    ours_s2 = np.asarray(heart.s2_s, dtype=np.float64)
    chain = np.diff(ours_s1)
    return {
        "name": item["name"],
        "reference": round(reference, 1),
        "drawn_mean": round(original, 1),
        "annotated_count": _count_rate(s1_centres),
        "read": heart.rate_bpm,
        "kind": heart_faster.read_kind(heart.rate_bpm, reference),
        "from": "chain" if heart.beat_intervals else "autocorrelation",
        "beat_intervals": heart.beat_intervals,
        "chain_count": _count_rate(ours_s1),
        "chain_mean": round(60.0 / float(np.mean(chain)), 1) if chain.size else None,
        "annotated_s1": int(s1_centres.size),
        "s1_as_s1": _match(s1_centres, ours_s1),
        "s1_as_s2": _match(s1_centres, ours_s2),
        "chain_s1": int(ours_s1.size),
        "nrmssd": heart.rr_nrmssd,
        "level_ratio": heart.s1_s2_level_ratio,
        "triage": result.triage.level,
        "flags": sorted(f.code for f in result.triage.flags),
    }


def main(argv: list[str] | None = None) -> int:
    parser = _probe.arguments(__doc__, "af_rate_probe", data_required=False)
    parser.add_argument("--cv", type=float, default=0.25)
    args = parser.parse_args(argv)
    where, skipped = located(args.data, "af_rate_probe")
    if skipped is not None:
        return 0
    rows = [probe_one(i, args.cv) for i in heart_faster.recordings(where) if "x" in i]
    for r in rows:
        if r["kind"] != "within" or r["triage"] == "urgent":
            print(
                f"{r['name']:<12} ref {r['reference']:6.1f} drawn {r['drawn_mean']:6.1f} "
                f"count {r['annotated_count']} read {r['read']} ({r['kind']}, {r['from']} "
                f"{r['beat_intervals']}) chain count {r['chain_count']} mean {r['chain_mean']} "
                f"S1 {r['s1_as_s1']}/{r['annotated_s1']} as S2 {r['s1_as_s2']} "
                f"chain S1 {r['chain_s1']} nRMSSD {r['nrmssd']} {r['triage']}"
            )
    within = sum(r["kind"] == "within" for r in rows)
    print(f"within 5 bpm {within} of {len(rows)} (tolerance {TOLERANCE_S} s for the S1 match)")
    _probe.save(args.json, rows, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
