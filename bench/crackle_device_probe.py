"""Crackle candidates a device makes, at the corner of a clipped plateau or too fine for a
crackle: ``python -m bench.crackle_device_probe --data DIR``. A probe (twenty-second round,
docs/accuracy.md), not part of ``make eval`` (about a minute).

For every crackle the shipped analysis reports on the ICBHI recordings, it measures:

- ``clip_ms``: how far its largest deflection (on the detector's 8 kHz band) lies from the
  nearest clipped plateau, read at the file's own rate (3 samples or more at the file's peak,
  as ``stetho_signal._audio`` counts clipping); None when the file holds no plateau;
- ``two_cycle_ms``: its two-cycle duration (``bench._eval_crackle_features.two_cycle_ms``).

and scores, per recording and per patient, the flag (3 detections left) with the detections
of each rule left out: R1 "not within r ms of a clipped plateau" and R2 "not a 2CD under c
ms", each as a family with the shipped rule as a member, fitted (best member on all 36) and
leave-one-patient-out (the member chosen on the other patients, ties to the shipped rule).
The pre-registered members are r = 1 ms and c = 2.5 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from bench._eval_crackle_features import two_cycle_ms
from bench._eval_lung import evaluate_icbhi, read_audio
from bench._eval_lung_round5 import _scores, family_scores
from bench.crackle_forensics import clipped_plateaus, flags_kept
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band
from stetho_signal.lung import lung_band

_PEAK_SEARCH_S = 0.001  # the reported time is the peak at 8 kHz, rounded to 0.1 ms
CLIP_REACHES_MS = (0.5, 1.0, 2.0, 3.0, 5.0)
PLATEAU_BOUNDS_MS = (1.0, 2.0, 3.0, 5.0)  # R1b, within 1 ms of a plateau this long or longer
TWO_CYCLE_BOUNDS_MS = (2.0, 2.5, 3.0, 3.5)
PRE_REGISTERED = {"clip": 1.0, "two_cycle": 2.5, "plateau": 2.0}


def probe(data_dir: Path) -> dict[str, Any]:
    """Every detection's distance to a clip and 2CD, and the rule families' scores."""
    icbhi = evaluate_icbhi(data_dir)
    recordings, detections = [], []
    for record in icbhi["recordings_detail"]:
        name = Path(record["file"]).name
        recordings.append(
            {
                "file": name,
                "patient": record["patient"],
                "crackles": record["crackle_cycles"] > 0,
                "flagged": record["crackles_flagged"],
            }
        )
        detections.extend({"file": name, **row} for row in _measures(data_dir, record))
    return {
        "detections": detections,
        "rules": _rules(recordings, detections),
        "recordings": recordings,
    }


def _measures(data_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    raw, fs = read_audio(data_dir / record["file"])
    raw = raw if raw.ndim == 1 else raw[:, 0]
    spectrum = Spectrum(prepare(raw, fs).samples, ANALYSIS_RATE_HZ)
    fine, fine_hz = crackle_band(lung_band(spectrum), ANALYSIS_RATE_HZ)
    plateau = clipped_plateaus(raw)
    plateau_s = np.flatnonzero(plateau) / fs
    labels, _ = ndimage.label(plateau)
    lengths_ms = np.bincount(labels.ravel()) / fs * 1e3
    reach = round(_PEAK_SEARCH_S * fine_hz)
    rows = []
    for t in record["crackle_times_s"]:
        i = round(t * fine_hz)
        low = max(i - reach, 0)
        peak = low + int(np.argmax(np.abs(fine[low : i + reach + 1])))
        gaps = np.abs(plateau_s - peak / fine_hz)
        nearest = int(np.argmin(gaps)) if plateau_s.size else None
        rows.append(
            {
                "t_s": t,
                "clip_ms": None if nearest is None else round(float(gaps[nearest]) * 1e3, 3),
                "plateau_ms": None
                if nearest is None
                else round(float(lengths_ms[labels[round(plateau_s[nearest] * fs)]]), 3),
                "two_cycle_ms": round(two_cycle_ms(fine, peak, fine_hz), 3),
            }
        )
    return rows


def _rules(recordings: list[dict[str, Any]], detections: list[dict[str, Any]]) -> dict[str, Any]:
    truth = [r["crackles"] for r in recordings]
    patients = [r["patient"] for r in recordings]

    def flags(keep: Any) -> list[bool]:
        return flags_kept(recordings, detections, keep)

    def off_clip(d: dict[str, Any], reach_ms: float) -> bool:
        return d["clip_ms"] is None or d["clip_ms"] > reach_ms

    def off_long_clip(d: dict[str, Any], length_ms: float) -> bool:
        return off_clip(d, PRE_REGISTERED["clip"]) or d["plateau_ms"] < length_ms

    def not_fine(d: dict[str, Any], bound_ms: float) -> bool:
        return not d["two_cycle_ms"] < bound_ms  # NaN (cut by an end) is kept

    shipped = flags(lambda d: True)
    clip = {f"clip {r:g} ms": flags(lambda d, r=r: off_clip(d, r)) for r in CLIP_REACHES_MS}
    long_clip = {
        f"clip of {L:g} ms": flags(lambda d, L=L: off_long_clip(d, L)) for L in PLATEAU_BOUNDS_MS
    }
    fine = {f"2CD < {c:g} ms": flags(lambda d, c=c: not_fine(d, c)) for c in TWO_CYCLE_BOUNDS_MS}
    both = flags(
        lambda d: off_clip(d, PRE_REGISTERED["clip"]) and not_fine(d, PRE_REGISTERED["two_cycle"])
    )
    families = {
        "clip": family_scores(truth, patients, {"shipped": shipped, **clip}),
        "long_clip": family_scores(truth, patients, {"shipped": shipped, **long_clip}),
        "two_cycle": family_scores(truth, patients, {"shipped": shipped, **fine}),
    }
    r1b_r2 = flags(
        lambda d: (
            off_long_clip(d, PRE_REGISTERED["plateau"]) and not_fine(d, PRE_REGISTERED["two_cycle"])
        )
    )
    every = {
        "shipped": shipped,
        **clip,
        **long_clip,
        **fine,
        "both pre-registered": both,
        "R1b and R2": r1b_r2,
    }
    return {
        **families,
        "both_pre_registered": _scores(truth, both),
        "r1b_and_r2": _scores(truth, r1b_r2),
        "per_patient": {name: _per_patient(recordings, f) for name, f in every.items()},
        "flagged": {
            name: [r["file"] for r, f in zip(recordings, v, strict=True) if f]
            for name, v in every.items()
        },
    }


def _per_patient(recordings: list[dict[str, Any]], flags: list[bool]) -> dict[str, float]:
    """A patient has crackles (is flagged) when any of their recordings has (is)."""
    truth: dict[str, bool] = {}
    flagged: dict[str, bool] = {}
    for r, f in zip(recordings, flags, strict=True):
        truth[r["patient"]] = truth.get(r["patient"], False) or r["crackles"]
        flagged[r["patient"]] = flagged.get(r["patient"], False) or f
    names = sorted(truth)
    return _scores([truth[n] for n in names], [flagged[n] for n in names])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results/crackle_device_probe.json")
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    results = probe(args.data)
    rules = results["rules"]
    for family in ("clip", "long_clip", "two_cycle"):
        for name, s in rules[family]["members"].items():
            print(f"{name:<24} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
        held = rules[family]["leave_one_patient_out"]
        se, sp = held["sensitivity"], held["specificity"]
        print(f"{family + ', held out':<24} Se {se:.3f}  Sp {sp:.3f}")
    s = rules["both_pre_registered"]
    print(f"{'both pre-registered':<24} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    s = rules["r1b_and_r2"]
    print(f"{'R1b and R2':<24} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    for name, s in rules["per_patient"].items():
        print(f"per patient, {name:<24} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
