"""Faster hearts made from real recordings: ``python -m bench.heart_faster [--data DIR]``.

Issue 17's worst failure was a child's fast heart (~130/min) with a soft systolic murmur read
at half rate, and only 13 of our CirCor recordings are over 120/min. This check makes faster
hearts out of every annotated CirCor recording (``circor_bsp``, ``circor_tiny_test``) the way
physiology does, then runs the shipped analysis (``stetho_signal.analyze``, as bench.evaluate)
and scores it against the modified annotation.

How a recording is made faster (the retiming is :mod:`bench._retime`'s, shared with
bench.heart_rhythms, which makes them slower and irregular):
- Only the annotated span is used: the longest run of annotated states (no 0), from its first
  S1 to its last, so every beat has its S1, systole, S2 and diastole.
- Each beat's cycle is scaled by ``original rate / target`` and its systole (S1 to S2 centres)
  by that factor to the power ``SYSTOLE_EXPONENT`` (1/2): as the rate rises, diastole shortens
  far more than systole. The exponent is Bazett's (QT proportional to the square root of the
  R-R interval); the QT interval parallels total electromechanical systole QS2 (QT = 529 - 2.1
  HR ms, QS2 = 541 - 2.2 HR ms in men, Chest 1981;80:613), and near rest Weissler's linear
  QS2 (546 - 2.1 HR ms, Circulation 1968;37:149) shortens at the same relative rate (elasticity
  0.5 at 80/min). Children's systolic intervals depend on heart rate alone, like adults'
  (Wanderman et al., Circulation 1981;63:204). Our own CirCor annotations, across children at
  63-160/min, give systole ~ cycle^0.67 (S1-S2 from 0.34 s to 0.18-0.19 s): exponent 1/2
  shortens systole a little less than they do, which keeps S1 and S2 further apart.
- The samples are cut from the middle of each annotated systole (state 2) and diastole (state
  4) with a 10 ms equal-power crossfade; S1 and S2 (states 1 and 3) keep every sample, and a
  murmur keeps its onset and end (only its middle is shortened). A phase keeps at least
  ``MIN_PHASE_S``: where it cannot give more, the beat stays slower, and the reference rate
  (median S1-S1 of the modified annotation, as bench.evaluate) says how fast it came out.
- Targets: the original (cropped, not modified), then 110, 130, 150, 170 and 190/min (children
  reach 160-180/min), each skipped unless it is at least ``MIN_RISE_BPM`` over the original.
  An annotation whose systole is at least half its cycle at a rate under 100/min is left
  out (bench.evaluate's plausibility check, applied where physiology rules it out: Weissler's
  S1-S2 stays under half the cycle below 100/min, and so do all CirCor annotations but
  9983_PV's, which skips a sound every beat, see bench.evaluate). Made faster it would be wrong
  at every rate. Above 100/min a systole as long as diastole is a fast child's (CirCor at
  129-160/min: up to 0.51 of the cycle), and those recordings are kept.
Reported per target: heart rate within 5 bpm, at half (0.4-0.6x) or double (1.7-2.3x) or off
otherwise; S1/S2 F1 (+-60 ms, one to one); the triage levels with no age band (as ``make
eval``) and with the 5-12 year band (most CirCor patients are children); the murmur hint on the
course's murmur recordings. JSON to ``bench/results/heart_faster.json``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from bench._data import located
from bench._eval_lung import manifest, read_audio
from bench._faster_lopo import Scorer, Versions, middle_share_lopo, with_share
from bench._retime import (
    SYSTOLE_EXPONENT,
    Samples,
    Segments,
    annotated_beats,
    beat_count,
    retime,
)
from bench.evaluate import TOLERANCE_S, _annotation_plausible, _match, _prf, _reference_rate
from stetho_signal import AgeBand, Analysis, analyze

TARGETS_BPM = (110.0, 130.0, 150.0, 170.0, 190.0)
MIN_RISE_BPM = 5.0
_PLAUSIBLE_ABOVE_BPM = 100.0  # systole as long as diastole: a fast heart's, not a slow one's
CHILD_BAND: AgeBand = "5_to_12"
DEFAULT_JSON = Path("bench/results/heart_faster.json")
_STATES = {"S1": 1, "S2": 3}


def quicken(x: Samples, fs: float, seg: Segments, factor: float) -> tuple[Samples, Segments]:
    """The beats of ``seg`` (from :func:`annotated_beats`) with every cycle scaled by
    ``factor`` (<= 1), systole by ``factor ** SYSTOLE_EXPONENT``; the samples and their new
    annotation, times from the first S1's start (:func:`bench._retime.retime`)."""
    return retime(x, fs, seg, np.full(beat_count(seg), factor))


def read_kind(estimate: float | None, reference: float) -> str:
    """``within`` 5 bpm, ``half`` (0.4-0.6x), ``double`` (1.7-2.3x), ``none`` or ``other``."""
    if estimate is None:
        return "none"
    if abs(estimate - reference) <= 5.0:
        return "within"
    ratio = estimate / reference
    if 0.4 <= ratio <= 0.6:
        return "half"
    return "double" if 1.7 <= ratio <= 2.3 else "other"


def score(x: Samples, fs: float, seg: Segments) -> dict[str, Any]:
    """The shipped analysis of one (modified) recording against its annotation, triaged with
    no age band and with the 5-12 year band."""
    child = analyze(x, fs, "heart", age_band=CHILD_BAND)
    return graded(analyze(x, fs, "heart"), x, fs, seg, {"triage_child": child.triage.level})


def graded(
    result: Analysis, x: Samples, fs: float, seg: Segments, extra: dict[str, Any]
) -> dict[str, Any]:
    """One analysis against the annotation: rate read, triage (``extra`` after it), murmur
    hint, and per sound (S1, S2) the annotated, found and matched counts."""
    assert result.heart is not None
    reference = _reference_rate(seg)
    assert reference is not None
    record: dict[str, Any] = {
        "hr_reference_bpm": round(reference, 1),
        "hr_estimate_bpm": result.heart.rate_bpm,
        "read": read_kind(result.heart.rate_bpm, reference),
        "triage": result.triage.level,
        **extra,
        "murmur_suspected": result.findings.murmur_suspected,
        "duration_s": round(x.size / fs, 2),
    }
    for name, times in (("S1", result.heart.s1_s), ("S2", result.heart.s2_s)):
        rows = seg[seg[:, 2] == _STATES[name]]
        reference_times = (rows[:, 0] + rows[:, 1]) / 2.0
        hits = _match(reference_times, np.asarray(times, dtype=np.float64))
        record[name] = [int(reference_times.size), len(times), hits]
    return record


def recordings(data_dir: Path, names: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every annotated CirCor recording (those of ``names`` only, unless None): its name,
    murmur label, samples and beats."""
    out: list[dict[str, Any]] = []
    for row in manifest(data_dir):
        name = Path(row["relpath"]).stem
        if row["dataset"] != "circor" or not row["annotation_file"]:
            continue
        if names is not None and name not in names:
            continue
        tsv = data_dir / row["annotation_file"]
        seg = np.loadtxt(tsv, ndmin=2)
        beats = annotated_beats(seg)
        if beats is None or not _plausible(beats):
            out.append({"name": name, "left_out": "implausible" if beats is not None else "short"})
            continue
        x, fs = read_audio(data_dir / row["relpath"])
        out.append({"name": name, "murmur": row["murmur"], "x": x, "fs": fs, "seg": beats})
    return out


def _plausible(beats: Segments) -> bool:
    rate = _reference_rate(beats)
    return rate is not None and (rate >= _PLAUSIBLE_ABOVE_BPM or _annotation_plausible(beats))


def versions(item: dict[str, Any]) -> tuple[float, list[tuple[Any, Samples, Segments]]]:
    """The original rate of one recording, and its original (cropped) and faster versions:
    (target, samples, annotation) each."""
    fs = item["fs"]
    x, seg0, original = cropped(item)
    out: list[tuple[Any, Samples, Segments]] = [("original", x, seg0)]
    for target in TARGETS_BPM:
        if target >= original + MIN_RISE_BPM:
            out.append((target, *quicken(x, fs, seg0, original / target)))
    return original, out


def cropped(item: dict[str, Any]) -> tuple[Samples, Segments, float]:
    """One recording's annotated beats: samples, annotation (times from the first S1's
    start) and rate (bench.evaluate's reference)."""
    seg, fs = item["seg"], item["fs"]
    lo, hi = round(seg[0, 0] * fs), round(seg[-1, 1] * fs)
    seg0 = seg - np.array([seg[0, 0], seg[0, 0], 0.0])
    original = _reference_rate(seg0)
    assert original is not None
    return item["x"][lo:hi], seg0, original


def run_one(
    item: dict[str, Any], scorer: Scorer | None = None, made_by: Versions | None = None
) -> list[dict[str, Any]]:
    """The original (cropped) and each version of one recording (``made_by``, default
    :func:`versions`: faster ones), scored (``scorer``, default :func:`score`)."""
    original, made = (made_by or versions)(item)
    out = [{"target": t, **(scorer or score)(x, item["fs"], seg)} for t, x, seg in made]
    for record in out:
        record.update(name=item["name"], murmur=item["murmur"], original_bpm=round(original, 1))
    return out


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target: reads by kind, S1/S2 F1, triage levels, murmur hints kept."""
    table: dict[str, Any] = {}
    for target in ["original", *TARGETS_BPM]:
        rows = [r for r in records if r["target"] == target]
        if not rows:
            continue
        murmur = [r for r in rows if r["murmur"] == "murmur"]
        table[str(target)] = {
            **reads_summary(rows),
            "triage": dict(Counter(r["triage"] for r in rows)),
            "triage_child": dict(Counter(r["triage_child"] for r in rows)),
            "murmur_hinted": {
                "suspected": sum(r["murmur_suspected"] is True for r in murmur),
                "of": len(murmur),
            },
            "misreads": misreads(rows),
        }
    return table


def reads_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Records of one target: how many, their median reference rate, reads by kind, S1/S2."""
    counts = np.sum([r["S1"] for r in rows] + [r["S2"] for r in rows], axis=0)
    reads = Counter(r["read"] for r in rows)
    return {
        "recordings": len(rows),
        "hr_reference_bpm_median": round(
            float(np.median([r["hr_reference_bpm"] for r in rows])), 1
        ),
        "reads": {k: reads.get(k, 0) for k in ("within", "half", "double", "other", "none")},
        "within_5_bpm": round(reads["within"] / len(rows), 3),
        "S1_S2": _prf(*(int(v) for v in counts)),
    }


def misreads(rows: list[dict[str, Any]], *keys: str) -> list[str]:
    """Each read not within 5 bpm: name, reference -> estimate (kind, and ``keys``' values)."""
    return [
        f"{r['name']} {r['hr_reference_bpm']} -> {r['hr_estimate_bpm']} "
        f"({', '.join(str(r[k]) for k in ('read', *keys))})"
        for r in rows
        if r["read"] != "within"
    ]


def run(data_dir: Path | None = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "heart_faster")
    if skipped is not None:
        return {"skipped": skipped}
    found = recordings(where)
    items = [i for i in found if "x" in i]
    scorer = with_share(score)
    records = [r for item in items for r in run_one(item, scorer)]
    return {
        "data": str(where),
        "systole_exponent": SYSTOLE_EXPONENT,
        "tolerance_s": TOLERANCE_S,
        "left_out": {i["name"]: i["left_out"] for i in found if "left_out" in i},
        "by_target": summarise(records),
        "middle_share_lopo": middle_share_lopo(items, records, versions, score),
        "per_recording": records,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per target and the leave-one-patient-out line (``make eval``, this module)."""
    lines = []
    for target, m in results.get("by_target", {}).items():
        lines.append(
            f"faster hearts {target:>8}: {m['reads']['within']} of {m['recordings']} within 5 bpm, "
            f"half {m['reads']['half']}, double {m['reads']['double']}, "
            f"S1/S2 F1 {m['S1_S2']['f1']}, triage {m['triage']}, murmur kept {m['murmur_hinted']}"
        )
    lopo = results.get("middle_share_lopo")
    if lopo:
        lines.append(
            f"faster hearts, {lopo['parameter']} {lopo['kept']}: "
            f"{lopo['reads_by_value']}; leave-one-patient-out {lopo['leave_one_patient_out']}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    return cli(argv, __doc__, run, summary_lines, DEFAULT_JSON)


def _misreads(row: dict[str, Any]) -> list[str]:
    return list(row["misreads"])


def cli(
    argv: list[str] | None,
    doc: str | None,
    run_check: Callable[[Path | None], dict[str, Any]],
    lines: Callable[[dict[str, Any]], list[str]],
    default_json: Path,
    table: str = "by_target",
    listed: tuple[str, Callable[[dict[str, Any]], list[str]]] = ("misread", _misreads),
) -> int:
    """``python -m`` for a check of made recordings: its summary, what ``listed`` names per row
    of ``results[table]`` (the misreads unless told), its JSON."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=default_json)
    args = parser.parse_args(argv)
    results = run_check(args.data)
    print("\n".join(lines(results)))
    by_target = results.get(table, {})
    width = max((len(str(t)) for t in by_target), default=0)
    word, of = listed
    for target, m in by_target.items():
        print(f"{target:>{width}} {word}: {'; '.join(of(m)) or 'none'}")
    save(results, args.json)
    return 0


def save(results: dict[str, Any], path: Path = DEFAULT_JSON) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    raise SystemExit(main())
