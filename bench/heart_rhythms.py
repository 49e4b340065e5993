"""Slow and irregular hearts from real recordings: ``python -m bench.heart_rhythms [--data DIR]``.

Our users are care-home residents, mostly elderly: slow hearts (40-55/min: beta-blockers, heart
block) and atrial fibrillation are common, and no recording of ours has either. A slow heart
read at double rate (40/min read as 80, ``routine``) is as dangerous as the fast one read at
half rate that issue 17 was filed for; an AF heart read at the wrong rate, or whose
irregularity is missed, fails too. This check makes both out of every annotated CirCor
recording (``circor_bsp``, ``circor_tiny_test``; the same recordings, crops and plausibility
check as bench.heart_faster), runs the shipped analysis and scores it against the modified
annotation. Each beat is retimed as :mod:`bench._retime` does (systole ~ cycle^(1/2), diastole
the rest; cuts and inserts in the middle of systole and diastole only; a lengthened phase is
filled with pieces of the recording's own background of that phase, free of transients and
joined at no fixed rhythm, as a long silent diastole sounds):

- **Slower hearts**: every beat at ``SLOW_TARGETS_BPM`` (60, 50, 45, 40, 35/min), each only
  when at least ``MIN_DROP_BPM`` under the original.
- **Irregular, AF-like rhythm**: each beat's cycle drawn independently (no pattern) as the
  mean cycle times 1 + CV * z, z standard normal clipped to +-2 (AF's R-R intervals are
  irregularly irregular and bounded below by AV-node refractoriness), at CV 0.15 and 0.25
  (``AF_CVS``: AF is screened for by the variability of R-R intervals, e.g. their coefficient
  of variation, Tateno & Glass, Med Biol Eng Comput 2001;39:664; these two values are chosen,
  not measured: with independent draws the expected normalised RMSSD is sqrt(2) CV, 0.21 and
  0.35, two to three and a half times the triage's 0.1), at the original's rate and at
  ``AF_FAST_BPM`` (110/min, rapid AF; only for recordings at least ``MIN_DROP_BPM`` under it).
  The generator is seeded by the recording's name, the rate and the CV: the same every run.

Reference rate: ``bench.evaluate._reference_rate`` on the modified annotation, the median
S1-S1 interval over consecutive annotated beats (the analysis also reads a median); for an
irregular rhythm that is the median of the drawn cycles, not their mean. A second score
(thirty-first round) holds the same read against the annotated beats *counted* over the span
they cover, 60 / the mean of the same intervals (:func:`count_reference`): in atrial
fibrillation a clinician's rate is a count of beats over a time (the apical pulse counted over
a full minute; on an ECG strip the QRS complexes counted and scaled to a minute), and for
independent cycles it differs from the median's rate whenever their spread is skewed.

Reported per target: heart rate within 5 bpm, at half (0.4-0.6x), double (1.7-2.3x), other
or none, against each reference (``reads`` the median's, ``count_reads`` the count's), and the
read's error against each (``error_bpm``: signed median, absolute median and 90th percentile,
largest, over 10 bpm); S1/S2 F1 (+-60 ms, one to one); how often ``heart_irregular`` fires,
with the median normalised RMSSD, and how often on a record whose annotated S1-S1 intervals
vary by 0.1 or less (:func:`reference_nrmssd`): for AF the flag's sensitivity, on the
originals and slow hearts its false alarms (CirCor children's sinus arrhythmia is annotated
over 0.1); the triage levels with no age band (as ``make eval``) and with the adult band (the
same NEWS2 bands by design: a resident's age band is adult). JSON to
``bench/results/heart_rhythms.json``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench import heart_faster
from bench._data import located
from bench._retime import Samples, Segments, beat_count, retime, seeded
from bench.evaluate import TOLERANCE_S, reference_intervals
from stetho_signal import TriageThresholds, analyze
from stetho_signal._rules import triage
from stetho_signal.heart import normalised_rmssd

SLOW_TARGETS_BPM = (60.0, 50.0, 45.0, 40.0, 35.0)
MIN_DROP_BPM = 5.0
AF_CVS = (0.15, 0.25)
AF_FAST_BPM = 110.0
_AF_CLIP_SD = 2.0
_ADULT = TriageThresholds().for_age_band("adult")
_IRREGULAR = _ADULT.irregularity_nrmssd
DEFAULT_JSON = Path("bench/results/heart_rhythms.json")

__all__ = ["af_cycles", "count_reference", "run", "slower", "summary_lines", "versions"]


def slower(
    x: Samples, fs: float, seg: Segments, factor: float, rng: np.random.Generator
) -> tuple[Samples, Segments]:
    """Every beat of ``seg`` (from :func:`~bench._retime.annotated_beats`) lengthened by
    ``factor`` (>= 1), the extra time filled with the phase's own background."""
    return retime(x, fs, seg, np.full(beat_count(seg), factor), rng)


def af_cycles(beats: int, mean_s: float, cv: float, rng: np.random.Generator) -> Samples:
    """``beats`` independent cycles, seconds: ``mean_s`` times 1 + ``cv`` z, z standard normal
    clipped to +-2, scaled so their mean is ``mean_s``."""
    spread = 1.0 + cv * np.clip(rng.standard_normal(beats), -_AF_CLIP_SD, _AF_CLIP_SD)
    cycles: Samples = mean_s * spread / float(np.mean(spread))
    return cycles


def irregular(
    x: Samples, fs: float, seg: Segments, rate_bpm: float, cv: float, rng: np.random.Generator
) -> tuple[Samples, Segments]:
    """The beats of ``seg`` at cycles drawn by :func:`af_cycles` around ``rate_bpm``."""
    s1 = seg[seg[:, 2] == 1]
    annotated = np.diff((s1[:, 0] + s1[:, 1]) / 2.0)  # as bench._retime measures a cycle
    cycles = af_cycles(annotated.size, 60.0 / rate_bpm, cv, rng)
    return retime(x, fs, seg, cycles / annotated, rng)


def versions(item: dict[str, Any]) -> tuple[float, list[tuple[str, Samples, Segments]]]:
    """The original rate of one recording, and its original (cropped), slower and irregular
    versions: (target label, samples, annotation) each."""
    fs, name = item["fs"], item["name"]
    x, seg0, original = heart_faster.cropped(item)
    out: list[tuple[str, Samples, Segments]] = [("original", x, seg0)]
    for target in SLOW_TARGETS_BPM:
        if target <= original - MIN_DROP_BPM:
            rng = seeded(name, target)
            out.append((f"{target:g}", *slower(x, fs, seg0, original / target, rng)))
    for cv in AF_CVS:
        rates = [("AF", original)]
        if original <= AF_FAST_BPM - MIN_DROP_BPM:
            rates.append((f"AF {AF_FAST_BPM:g}", AF_FAST_BPM))
        for label, rate in rates:
            made = irregular(x, fs, seg0, rate, cv, seeded(name, label, cv))
            out.append((f"{label} cv {cv:g}", *made))
    return original, out


def score(x: Samples, fs: float, seg: Segments) -> dict[str, Any]:
    """The shipped analysis against the annotation, triaged with no age band and as an adult
    (the same measurements triaged again); whether the rhythm was called irregular, on what
    normalised RMSSD, and the annotation's own (:func:`reference_nrmssd`)."""
    result = analyze(x, fs, "heart")
    assert result.heart is not None
    adult = triage(result.quality, result.heart, None, _ADULT, "adult")
    count = count_reference(seg)
    assert count is not None
    extra = {
        "hr_count_bpm": round(count, 1),
        "read_count": heart_faster.read_kind(result.heart.rate_bpm, count),
        "triage_adult": adult.level,
        "irregular": result.findings.irregular,
        "irregular_flagged": any(f.code == "heart_irregular" for f in result.triage.flags),
        "rr_nrmssd": result.heart.rr_nrmssd,
        "rr_nrmssd_reference": reference_nrmssd(seg),
        "flags": sorted(f.code for f in result.triage.flags),
    }
    return heart_faster.graded(result, x, fs, seg, extra)


def count_reference(seg: Segments) -> float | None:
    """The annotated beats counted over the span they cover, per minute: 60 over the mean of
    the S1-S1 intervals the median reference reads (``bench.evaluate.reference_intervals``)."""
    intervals = reference_intervals(seg)
    return 60.0 / float(np.mean(intervals)) if intervals else None


def errors_bpm(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The reads' error, bpm, against ``key`` (a reference): signed median, absolute median
    and 90th percentile, largest, and how many are off by over 10 bpm (reads only)."""
    signed = np.array(
        [r["hr_estimate_bpm"] - r[key] for r in rows if r["hr_estimate_bpm"] is not None]
    )
    if signed.size == 0:
        return {"reads": 0}
    size = np.abs(signed)
    return {
        "reads": int(signed.size),
        "median": round(float(np.median(signed)), 1),
        "abs_median": round(float(np.median(size)), 1),
        "abs_p90": round(float(np.percentile(size, 90)), 1),
        "abs_max": round(float(size.max()), 1),
        "over_10": int(np.count_nonzero(size > 10.0)),
    }


def reference_nrmssd(seg: Segments) -> float:
    """Normalised RMSSD of the annotated S1-S1 intervals (``seg`` from one annotated run, as
    :func:`~bench._retime.annotated_beats`): the analysis's measure on the true beats."""
    return normalised_rmssd(np.diff(seg[seg[:, 2] == 1, 0]))


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target: reads by kind, S1/S2 F1, irregular flags, triage levels, misreads."""
    table: dict[str, Any] = {}
    for target in dict.fromkeys(r["target"] for r in records):
        rows = [r for r in records if r["target"] == target]
        nrmssd = [r["rr_nrmssd"] for r in rows if r["rr_nrmssd"] is not None]
        counted = Counter(r["read_count"] for r in rows)
        table[target] = {
            **heart_faster.reads_summary(rows),
            "count_reads": {
                k: counted.get(k, 0) for k in ("within", "half", "double", "other", "none")
            },
            "error_bpm": {
                "median_reference": errors_bpm(rows, "hr_reference_bpm"),
                "count_reference": errors_bpm(rows, "hr_count_bpm"),
            },
            "irregular": {
                "flagged": sum(r["irregular_flagged"] for r in rows),
                "flagged_annotated_regular": sum(
                    r["irregular_flagged"] and r["rr_nrmssd_reference"] <= _IRREGULAR for r in rows
                ),
                "annotated_irregular": sum(r["rr_nrmssd_reference"] > _IRREGULAR for r in rows),
                "unmeasured": sum(r["irregular"] is None for r in rows),
                "of": len(rows),
                "rr_nrmssd_median": round(float(np.median(nrmssd)), 3) if nrmssd else None,
            },
            "triage": dict(Counter(r["triage"] for r in rows)),
            "triage_adult": dict(Counter(r["triage_adult"] for r in rows)),
            "misreads": heart_faster.misreads(rows, "triage"),
        }
    return table


def run(data_dir: Path | None = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "heart_rhythms")
    if skipped is not None:
        return {"skipped": skipped}
    found = heart_faster.recordings(where)
    records = [r for i in found if "x" in i for r in heart_faster.run_one(i, score, versions)]
    return {
        "data": str(where),
        "af_cvs": list(AF_CVS),
        "tolerance_s": TOLERANCE_S,
        "left_out": {i["name"]: i["left_out"] for i in found if "left_out" in i},
        "by_target": summarise(records),
        "per_recording": records,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per target (``make eval``, this module)."""
    lines = []
    for target, m in results.get("by_target", {}).items():
        irregular, counted = m["irregular"], m["count_reads"]
        lines.append(
            f"slow/irregular hearts {target:>14}: {m['reads']['within']} of {m['recordings']} "
            f"within 5 bpm, half {m['reads']['half']}, double {m['reads']['double']} (against "
            f"the beat count: {counted['within']}, half {counted['half']}, double "
            f"{counted['double']}), "
            f"S1/S2 F1 {m['S1_S2']['f1']}, irregular flagged {irregular['flagged']} "
            f"({irregular['flagged_annotated_regular']} annotated regular; nRMSSD "
            f"{irregular['rr_nrmssd_median']}), triage {m['triage']}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    return heart_faster.cli(argv, __doc__, run, summary_lines, DEFAULT_JSON)


if __name__ == "__main__":
    raise SystemExit(main())
