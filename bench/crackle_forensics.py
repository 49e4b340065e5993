"""What the crackle detections are, on ICBHI: ``python -m bench.crackle_forensics --data DIR``.

A probe, not part of ``make eval`` (about a minute). Each crackle the shipped analysis reports
(heart gates applied) is given the first cause, in this order, that its surroundings show:

- ``signal_onset``: within 0.1 s of the recording's first non-zero sample. The AKG C417L files
  open with 4096 samples (92.9 ms at 44.1 kHz) of digital zeros; the step into the signal is a
  transient the detector's 0.05 s edge skip, counted from the file's first sample, lets in.
- ``clipped``: within 5 ms of a clipped plateau (3 samples or more at the file's peak, as
  ``stetho_signal._audio`` counts clipping): the corners of a flat top are the converter's.
- ``slow_wave``: the 5-60 Hz waveform within +-10 ms is 3x or more the lung band's deflection
  within +-5 ms: the transient is the high-frequency edge of a larger low-frequency event
  (a heart sound, a movement), not a sound of its own.
- ``heart_sound``: within 60 ms of a prominent 25-200 Hz sound (``lung.heart_sound_times``).
- ``spike``: a two-cycle duration under 3 ms (CORSA's finest crackles last 2CD ~5 ms).
- ``crackle_like``: none of these.

It also measures each detection's waveform (initial deflection width and polarity, 2CD, the
peak over the local RMS), where it falls in its annotated cycle, and scores the per-recording
flag (3 detections) with each cause's detections left out, the slow-wave bound as a family
scored leave-one-patient-out. The slow-wave cause ships since the twentieth round
(``stetho_signal._slow_wave``, standing aside for a bell-like chest piece), and the spike
cause, at a 2CD under 2.5 ms, since the twenty-second round (``stetho_signal._too_fine``), so
their detections no longer reach this probe; nothing else from here is shipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from bench._eval_crackle_features import two_cycle_ms
from bench._eval_intervals import add_held_out_intervals, print_family
from bench._eval_lung import evaluate_icbhi, read_audio
from bench._eval_lung_round5 import family_scores
from stetho_signal._audio import _CLIP_RUN, _CLIP_TOLERANCE, ANALYSIS_RATE_HZ, prepare
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import _background, crackle_band
from stetho_signal.heart import analyze_heart
from stetho_signal.lung import heart_sound_times, lung_band
from stetho_signal.wheezes import HEART_GATE_S

CAUSES = ("signal_onset", "clipped", "slow_wave", "heart_sound", "spike", "crackle_like")
_FLAG_COUNT = 3  # TriageThresholds.crackles_min_count
_ONSET_S = 0.1  # the detector's 0.05 s edge plus its 0.05 s half window of background
_CLIP_REACH_S = 0.005  # a flat top's corners ring in the band for a few ms
# Under 60 Hz a crackle puts little: it lasts under 20 ms (CORSA), so its lowest component
# is ~100 Hz; S1 and S2 carry most of their energy at 20-150 Hz (DOMAIN.md).
_SLOW_BAND_HZ = (5.0, 60.0)
_WAVE_HALF_S = 0.005  # the deflection's own span
_SLOW_HALF_S = 0.01  # a 50 Hz half-cycle
_SLOW_WAVE_BOUNDS = (2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
_SLOW_WAVE = 3.0  # the member the cause table uses (the family's best fitted)
_SPIKE_2CD_MS = 3.0
_LABEL_REACH_S = 0.05  # a heart sound's half length (80-140 ms)
_INSPIRATION_SHARE = 0.4  # ICBHI cycles start at inspiration; I:E about 1:2
_PEAK_SEARCH_S = 0.001  # the reported time is the peak at 8 kHz, rounded to 0.1 ms


def probe(data_dir: Path) -> dict[str, Any]:
    """Every detection's cause and waveform, the per-recording causes and the rule scores."""
    icbhi = evaluate_icbhi(data_dir)
    detections: list[dict[str, Any]] = []
    recordings = []
    for record in icbhi["recordings_detail"]:
        rows = _detections(data_dir, record)
        detections.extend(rows)
        recordings.append(
            {
                "file": Path(record["file"]).name,
                "patient": record["patient"],
                "device": record["device"],
                "crackles": record["crackle_cycles"] > 0,
                "flagged": record["crackles_flagged"],
                "causes": dict(Counter(row["cause"] for row in rows)),
            }
        )
    return {
        "recordings": recordings,
        "detections": detections,
        "cause_totals": _cause_totals(recordings),
        "waveforms": _waveform_summary(detections),
        "rules": _rules(recordings, detections),
    }


def _detections(data_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    raw, fs = read_audio(data_dir / record["file"])
    raw = raw if raw.ndim == 1 else raw[:, 0]
    x = prepare(raw, fs).samples
    spectrum = Spectrum(x, ANALYSIS_RATE_HZ)
    band = lung_band(spectrum)
    slow = spectrum.band(_SLOW_BAND_HZ, ANALYSIS_RATE_HZ)
    fine, fine_hz = crackle_band(band, ANALYSIS_RATE_HZ)
    background = _background(fine, int(0.1 * fine_hz))
    onset_s = float(np.argmax(np.abs(raw) > 0)) / fs
    clipped = _near_clipping(raw, fs)
    sounds = heart_sound_times(spectrum)
    heart = analyze_heart(spectrum)
    labels = np.concatenate([heart.s1_s, heart.s2_s])
    cycles = np.asarray(_cycles(data_dir / record["file"]))
    rows = []
    for t in record["crackle_times_s"]:
        peak = _peak(fine, round(t * fine_hz), round(_PEAK_SEARCH_S * fine_hz))
        width, polarity = _initial_deflection(fine, peak, fine_hz)
        row = {
            "file": Path(record["file"]).name,
            "crackles": record["crackle_cycles"] > 0,
            "flagged": record["crackles_flagged"],
            "t_s": t,
            "over_local_rms": round(abs(float(fine[peak])) / float(background[peak]), 2),
            "idw_ms": width,
            "polarity": polarity,
            "two_cycle_ms": round(two_cycle_ms(fine, peak, fine_hz), 2),
            "wave_over_band": round(_wave_over_band(slow, band, t), 2),
            "clipped": bool(clipped[min(round(t * fs), clipped.size - 1)]),
            "after_onset_s": round(t - onset_s, 4),
            "heart_sound_s": _nearest(sounds, t),
            "heart_label_s": _nearest(labels, t),
            "heart_label_share": _share_near(labels, x.size / ANALYSIS_RATE_HZ),
            **_cycle_place(cycles, t),
        }
        row["cause"] = _cause(row)
        rows.append(row)
    return rows


def _cycles(wav: Path) -> list[list[float]]:
    lines = wav.with_suffix(".txt").read_text().splitlines()
    return [[float(v) for v in line.split()[:3]] for line in lines if line.strip()]


def _peak(fine: NDArray[np.float32], i: int, reach: int) -> int:
    a = max(i - reach, 0)
    return a + int(np.argmax(np.abs(fine[a : i + reach + 1])))


def _initial_deflection(fine: NDArray[np.float32], peak: int, fs_hz: float) -> tuple[float, float]:
    """Width (ms) and sign of the first half-cycle within 5 ms before the peak reaching a
    quarter of its height (as ``two_cycle_ms`` finds it)."""
    start = max(peak - round(0.005 * fs_hz), 0)
    seg = np.asarray(fine[start : peak + round(0.02 * fs_hz)], dtype=np.float64)
    flips = np.flatnonzero(np.signbit(seg[1:]) != np.signbit(seg[:-1])) + 1
    bounds = np.concatenate(([0], flips, [seg.size]))
    height = abs(float(fine[peak]))
    for a, b in itertools.pairwise(bounds):
        part = seg[a:b]
        if part.size and float(np.max(np.abs(part))) >= 0.25 * height:
            sign = float(np.sign(part[int(np.argmax(np.abs(part)))]))
            return round(float(b - a) / fs_hz * 1e3, 2), sign
    return float("nan"), 0.0


def clipped_plateaus(raw: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Samples on runs of at least ``_CLIP_RUN`` at the file's absolute peak."""
    magnitude = np.abs(np.asarray(raw, dtype=np.float64))
    peak = float(magnitude.max()) if magnitude.size else 0.0
    at_peak = magnitude >= peak * (1.0 - _CLIP_TOLERANCE) if peak > 0.0 else magnitude > 0.0
    labels, _ = ndimage.label(at_peak)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    plateau: NDArray[np.bool_] = sizes[labels] >= _CLIP_RUN
    return plateau


def _near_clipping(raw: NDArray[np.float64], fs: float) -> NDArray[np.bool_]:
    """Samples within 5 ms of a clipped plateau."""
    plateau = clipped_plateaus(raw)
    if not plateau.any():
        return plateau
    reach = np.ones(2 * round(_CLIP_REACH_S * fs) + 1, dtype=bool)
    near: NDArray[np.bool_] = ndimage.binary_dilation(plateau, structure=reach)
    return near


def _wave_over_band(slow: NDArray[np.float32], band: NDArray[np.float32], t: float) -> float:
    """The 5-60 Hz waveform's largest excursion within +-10 ms over the band's within +-5 ms."""
    i = round(t * ANALYSIS_RATE_HZ)
    half, wide = round(_WAVE_HALF_S * ANALYSIS_RATE_HZ), round(_SLOW_HALF_S * ANALYSIS_RATE_HZ)
    wave = float(np.max(np.abs(slow[max(i - wide, 0) : i + wide + 1])))
    return wave / max(float(np.max(np.abs(band[max(i - half, 0) : i + half + 1]))), 1e-12)


def _nearest(times: NDArray[np.float64], t: float) -> float | None:
    return round(float(np.min(np.abs(times - t))), 3) if times.size else None


def _share_near(times: NDArray[np.float64], duration_s: float) -> float:
    """Share of the recording within ``_LABEL_REACH_S`` of one of ``times`` (chance level)."""
    grid = np.arange(0.0, duration_s, 0.001)
    if times.size == 0:
        return 0.0
    near = np.abs(grid[:, None] - times[None, :]).min(axis=1) <= _LABEL_REACH_S
    return round(float(np.mean(near)), 3)


def _cycle_place(cycles: NDArray[np.float64], t: float) -> dict[str, Any]:
    """Phase (0 at the annotated cycle's start) and whether that cycle has crackles."""
    inside = cycles[(cycles[:, 0] <= t) & (t < cycles[:, 1])] if cycles.size else cycles
    if inside.size == 0:
        return {"cycle_phase": None, "in_crackle_cycle": False}
    start, end, crackles = inside[0]
    return {"cycle_phase": round((t - start) / (end - start), 2), "in_crackle_cycle": crackles > 0}


def _cause(row: dict[str, Any], slow_wave: float = _SLOW_WAVE) -> str:
    if row["after_onset_s"] < _ONSET_S:
        return "signal_onset"
    if row["clipped"]:
        return "clipped"
    if row["wave_over_band"] >= slow_wave:
        return "slow_wave"
    if row["heart_sound_s"] is not None and row["heart_sound_s"] <= HEART_GATE_S:
        return "heart_sound"
    if row["two_cycle_ms"] < _SPIKE_2CD_MS:
        return "spike"
    return "crackle_like"


def _group(row: dict[str, Any]) -> str:
    if not row["crackles"]:
        return "crackle-free recording"
    return (
        "in an annotated crackle cycle"
        if row["in_crackle_cycle"]
        else "elsewhere, crackle recording"
    )


def _near_label(row: dict[str, Any]) -> bool:
    return row["heart_label_s"] is not None and row["heart_label_s"] <= _LABEL_REACH_S


def _cause_totals(recordings: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Detections per cause on the flagged recordings, crackle-free and with crackles."""
    totals: dict[str, Counter[str]] = {"false flags": Counter(), "true flags": Counter()}
    for record in recordings:
        if record["flagged"]:
            totals["true flags" if record["crackles"] else "false flags"].update(record["causes"])
    return {name: {cause: counts[cause] for cause in CAUSES} for name, counts in totals.items()}


def _waveform_summary(detections: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Quartiles of each waveform measure per group, crackle-like detections of flagged files."""
    summary = {}
    for group in sorted({_group(row) for row in detections}):
        rows = [
            r
            for r in detections
            if _group(r) == group and r["flagged"] and r["cause"] == "crackle_like"
        ]
        every = [r for r in detections if _group(r) == group and r["flagged"]]
        phases = [r["cycle_phase"] for r in every if r["cycle_phase"] is not None]
        summary[group] = {
            "all_detections": len(every),
            "in_first_40_percent_of_cycle": round(
                float(sum(p < _INSPIRATION_SHARE for p in phases)) / max(len(phases), 1), 2
            ),
            "near_heart_label": round(
                sum(_near_label(r) for r in every) / max(len(every), 1),
                2,
            ),
            "near_heart_label_by_chance": round(
                float(np.mean([r["heart_label_share"] for r in every])) if every else 0.0, 2
            ),
            "detections": len(rows),
            "negative_share": round(sum(r["polarity"] < 0 for r in rows) / max(len(rows), 1), 2),
            **{
                name: _quartiles([r[name] for r in rows])
                for name in ("idw_ms", "two_cycle_ms", "over_local_rms", "wave_over_band")
            },
        }
    return summary


def _quartiles(values: list[float]) -> list[float] | None:
    """25th, 50th and 75th percentiles, NaN left out; None when nothing is left."""
    kept = [v for v in values if v == v]
    return [round(float(q), 2) for q in np.percentile(kept, (25, 50, 75))] if kept else None


def flags_kept(
    recordings: list[dict[str, Any]], detections: list[dict[str, Any]], keep: Any
) -> list[bool]:
    """Per recording, whether the detections `keep` passes still raise the crackle flag."""
    return [
        sum(1 for d in detections if d["file"] == r["file"] and keep(d)) >= _FLAG_COUNT
        for r in recordings
    ]


def _rules(recordings: list[dict[str, Any]], detections: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-recording Se / Sp with detections of some causes left out (>= 3 left: a flag)."""
    truth = [r["crackles"] for r in recordings]
    patients = [r["patient"] for r in recordings]

    def flags(keep: Any) -> list[bool]:
        return flags_kept(recordings, detections, keep)

    fixed = {
        "shipped": flags(lambda d: True),
        "not at the signal's onset": flags(lambda d: d["after_onset_s"] >= _ONSET_S),
        "nor clipped": flags(lambda d: d["after_onset_s"] >= _ONSET_S and not d["clipped"]),
        "crackle-like only": flags(lambda d: d["cause"] == "crackle_like"),
    }
    slow = {
        f"not on a slow wave {bound:g}x": flags(lambda d, b=bound: d["wave_over_band"] < b)
        for bound in _SLOW_WAVE_BOUNDS
    }
    return {
        "fixed": family_scores(truth, patients, fixed)["members"],
        "slow_wave": family_scores(truth, patients, {"shipped": fixed["shipped"], **slow}),
        "flagged": {
            name: [r["file"] for r, f in zip(recordings, v, strict=True) if f]
            for name, v in {**fixed, **slow}.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/crackle_forensics.json"))
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    results = probe(args.data)
    print(f"{'file':<30} {'flag':<5} " + " ".join(f"{c[:12]:>12}" for c in CAUSES))
    for r in results["recordings"]:
        if r["flagged"]:
            truth = "true" if r["crackles"] else "FALSE"
            counts = " ".join(f"{r['causes'].get(c, 0):>12}" for c in CAUSES)
            print(f"{r['file'][:30]:<30} {truth:<5} {counts}")
    for name, totals in results["cause_totals"].items():
        print(f"{name:<36} " + " ".join(f"{totals[c]:>12}" for c in CAUSES))
    for group, summary in results["waveforms"].items():
        print(group, summary)
    for name, s in results["rules"]["fixed"].items():
        print(f"{name:<36} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    add_held_out_intervals(results["rules"])
    print_family(results["rules"]["slow_wave"], "slow wave, leave-one-patient-out")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
