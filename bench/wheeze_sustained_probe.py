"""A tone held over a quarter-second window, on ICBHI: ``python -m bench.wheeze_sustained_probe``.

A probe, not part of ``make eval`` (about a minute). The shipped wheeze search
(``stetho_signal.wheezes``) tests each 64 ms frame (three averaged) for a peak 9 dB over its
neighbours and asks four such frames in a row. Rule ST (docs/accuracy.md, twenty-second
round, pre-registered before it was scored) asks instead for a *sustained* tone: the mean
spectrum of 7 frames (256 ms, about a wheeze's length) must hold a peak T dB over the median
of its +-125 Hz neighbourhood (the breath noise at that moment), holding 1 % of the band's
power, with the frames' own peaks staying within two bins of it in 5 of the 7; the shipped
exclusions (hum, voice, a click's short ring, a heart sound under 250 Hz) are applied to the
window as to a run. Averaging seven frames shrinks breath noise's random peaks, so a fainter
held tone can be asked for at the same false-alarm rate.

T is set on synthetic breathing only (``--calibrate``): the smallest bound of ``BOUNDS_DB``
at which 10 minutes of ``stetho_sim.sounds.breathing`` hold no window passing. The probe
then scores, per recording, per patient and leaving one patient out, the shipped search
alone, ST alone and the two together (a recording flagged by either), and lists each ST
window on the recordings with its time, pitch and prominence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from bench.wheeze_forensics import analysed
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.lung import heart_sound_times
from stetho_signal.triage import TriageThresholds
from stetho_sim.sounds import FS_HZ, breathing

WINDOW_FRAMES = 7  # 256 ms of 64 ms frames at a 32 ms hop: about a wheeze (CORSA, ATS)
STAYING_FRAMES = 5  # frames of the window whose own peak stays within two bins
REFERENCE_BINS = 17  # +-8 bins, +-125 Hz: the breath noise around the peak
BAND_HZ = (100.0, 1600.0)  # wheezes._WHEEZE_BAND_HZ
MIN_SHARE = 0.01  # wheezes._WHEEZE_MIN_SHARE
HEART_BELOW_HZ = 250.0  # S1/S2's tonal energy reaches about 250 Hz (wheezes.py)
HELD_MIN_S = 0.09  # the shipped 100 ms less its 10 ms slack
BOUNDS_DB = (4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
CALIBRATION_SEEDS = tuple(range(10))
CALIBRATION_RATES_BPM = (12.0, 14.0, 16.0, 18.0, 20.0)
TONE_LEVELS_DB = (-20.0, -16.0, -12.0, -9.0, -6.0)  # a 400 Hz tone's RMS over the breath's


class Window(NamedTuple):
    """A window passing the tone tests (a)-(c): its first frame, peak row and prominence."""

    first: int
    row: int
    prominence_db: float


def tone_windows(
    spectrogram: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float32]],
    bound_db: float,
) -> list[Window]:
    """Windows whose mean spectrum holds a sustained, audible tone (tests a-c)."""
    freqs, _, power = spectrogram
    if power.shape[1] < WINDOW_FRAMES:
        return []
    sums = np.cumsum(np.pad(power.astype(np.float64), ((0, 0), (1, 0))), axis=1)
    mean = (sums[:, WINDOW_FRAMES:] - sums[:, :-WINDOW_FRAMES]) / WINDOW_FRAMES
    reference = ndimage.median_filter(mean, size=(REFERENCE_BINS, 1), mode="nearest")
    ratio = mean / np.maximum(reference, 1e-30)
    band = np.flatnonzero((freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1]))
    lo, hi = int(band[0]), int(band[-1]) + 1
    rows = lo + np.argmax(ratio[lo:hi], axis=0)
    windows = np.arange(mean.shape[1])
    prominent = ratio[rows, windows] >= 10.0 ** (bound_db / 10.0)
    audible = mean[rows, windows] >= MIN_SHARE * mean[lo:hi].sum(axis=0)
    found = []
    half = REFERENCE_BINS // 2
    for j in np.flatnonzero(prominent & audible).tolist():
        row = int(rows[j])
        a, b = max(row - half, 0), min(row + half + 1, power.shape[0])
        own = a + np.argmax(power[a:b, j : j + WINDOW_FRAMES], axis=0)
        if np.count_nonzero(np.abs(own - row) <= 2) >= STAYING_FRAMES:
            found.append(Window(j, row, round(float(10.0 * np.log10(ratio[row, j])), 1)))
    return found


class Recording:
    """One recording's spectrogram, the shipped search's answer and the ST windows."""

    def __init__(self, x: NDArray[np.float64], heart_sounds: NDArray[np.float64] | None) -> None:
        n = wheezes.WHEEZE_NPERSEG
        self.x = x
        self.spectrogram = frame_power(x, ANALYSIS_RATE_HZ, n, n // 2)
        self.freqs, self.times, _ = self.spectrogram
        self.hop_s = float(self.times[1] - self.times[0])
        self.search = wheezes.WheezeSearch(x, self.spectrogram)
        duration = TriageThresholds().wheeze_min_duration_s
        found, _ = self.search.find(duration)
        if found:  # as analyze_lung: heart sounds asked only when something was found
            found, _ = self.search.find(duration, heart_sounds)
        self.shipped = bool(found)
        self.found = found
        self.heart_sounds = heart_sounds if heart_sounds is not None else np.zeros(0)

    def sustained(self, bound_db: float) -> list[dict[str, Any]]:
        """The windows passing every ST test (a)-(d), with why others were left out."""
        windows = tone_windows(self.spectrogram, bound_db)
        total = max(self.times.size - WINDOW_FRAMES + 1, 1)
        counts = np.bincount([w.row for w in windows], minlength=self.freqs.size + 2)
        spread = counts + np.roll(counts, 1) + np.roll(counts, -1)
        kept = []
        for w in windows:
            kept.append(self._described(w) | {"cause": self._excluded(w, spread, total)})
        return kept

    def _described(self, w: Window) -> dict[str, Any]:
        start = float(self.times[w.first]) - self.hop_s
        return {
            "start_s": round(start, 3),
            "end_s": round(start + (WINDOW_FRAMES + 1) * self.hop_s, 3),
            "pitch_hz": round(float(self.freqs[w.row]), 1),
            "prominence_db": w.prominence_db,
        }

    def _excluded(self, w: Window, spread: NDArray[np.intp], total: int) -> str:
        """The first shipped exclusion the window meets, "kept" when none."""
        if spread[w.row] >= 0.6 * total:
            return "steady"
        tones = self.search._tones
        assert tones is not None
        frames = np.arange(w.first, w.first + WINDOW_FRAMES)
        best_bin = tones.best_bin.copy()
        best_bin[frames] = w.row - tones.bin_offset
        voiced = wheezes._voiced_frames(tones._replace(best_bin=best_bin), self.freqs, frames)
        if voiced.mean() >= 0.5:
            return "voice"
        pitch = float(self.freqs[w.row])
        span = (float(self.times[w.first]) - self.hop_s, float(self.times[frames[-1]]) + self.hop_s)
        track = np.full(WINDOW_FRAMES, pitch)
        if wheezes._held_s(self.x, ANALYSIS_RATE_HZ, span, track) < HELD_MIN_S:
            return "click"
        gate = wheezes.HEART_GATE_S
        near = (self.heart_sounds >= span[0] - gate) & (self.heart_sounds <= span[1] + gate)
        if pitch < HEART_BELOW_HZ and near.any():
            return "heart"
        return "kept"


def calibrate() -> dict[str, Any]:
    """Windows passing (a)-(c) on synthetic breathing per bound, and the faint tones found."""
    false = dict.fromkeys(BOUNDS_DB, 0)
    tones_found = {bound: dict.fromkeys(TONE_LEVELS_DB, 0) for bound in BOUNDS_DB}
    shipped_found = dict.fromkeys(TONE_LEVELS_DB, 0)
    tones = 0
    n = wheezes.WHEEZE_NPERSEG
    for seed in CALIBRATION_SEEDS:
        rate = CALIBRATION_RATES_BPM[seed % len(CALIBRATION_RATES_BPM)]
        breath = breathing(rate, 60.0, FS_HZ, seed)
        x = analysed(breath, FS_HZ)
        spectrogram = frame_power(x, ANALYSIS_RATE_HZ, n, n // 2)
        for bound in BOUNDS_DB:
            false[bound] += len(tone_windows(spectrogram, bound))
        rms = float(np.std(breath))
        t = np.arange(breath.size) / FS_HZ
        starts = [6.0 * k + 1.0 + 0.37 * seed % 3.0 for k in range(10)]
        for level in TONE_LEVELS_DB:
            with_tones = breath.copy()
            for s in starts:
                gate = (t >= s) & (t < s + 0.3)
                amplitude = rms * 10.0 ** (level / 20.0) * np.sqrt(2.0)
                with_tones[gate] += amplitude * np.sin(2 * np.pi * 400.0 * t[gate])
            y = analysed(with_tones, FS_HZ)
            sg = frame_power(y, ANALYSIS_RATE_HZ, n, n // 2)
            centres = sg[1]
            search = wheezes.WheezeSearch(y, sg)
            found, _ = search.find(TriageThresholds().wheeze_min_duration_s)
            for s in starts:
                shipped_found[level] += any(a < s + 0.3 and b > s for a, b in found)
            for bound in BOUNDS_DB:
                windows = tone_windows(sg, bound)
                for s in starts:
                    tones_found[bound][level] += any(
                        abs(float(sg[0][w.row]) - 400.0) < 40.0
                        and centres[w.first] < s + 0.3
                        and centres[w.first + WINDOW_FRAMES - 1] > s
                        for w in windows
                    )
        tones += len(starts)
    chosen = next((b for b in BOUNDS_DB if false[b] == 0), None)
    return {
        "minutes": len(CALIBRATION_SEEDS),
        "false_windows": {f"{b:g} dB": v for b, v in false.items()},
        "tones_per_level": tones,
        "tones_found": {
            f"{b:g} dB": {f"{lv:g} dB": v for lv, v in per.items()}
            for b, per in tones_found.items()
        },
        "tones_found_shipped": {f"{lv:g} dB": v for lv, v in shipped_found.items()},
        "chosen_bound_db": chosen,
    }


def scores(truth: list[bool], flags: list[bool]) -> tuple[float, float]:
    """Sensitivity and specificity."""
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    tn = sum(not f and not t for f, t in zip(flags, truth, strict=True))
    return round(tp / max(sum(truth), 1), 3), round(tn / max(len(truth) - sum(truth), 1), 3)


def per_patient(rows: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Se/Sp per patient: a patient is wheezy (flagged) when one of their recordings is."""
    patients = sorted({r["patient"] for r in rows})
    truth = [any(r["wheezes"] for r in rows if r["patient"] == p) for p in patients]
    flags = [any(r[key] for r in rows if r["patient"] == p) for p in patients]
    return scores(truth, flags)


def per_cycle(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Cycles a detection overlaps: wheezy cycles of wheezy recordings, and every cycle of the
    recordings without wheezes (the forensics' two groups)."""
    groups = {
        "wheezy_cycles": [c for r in rows if r["wheezes"] for c in r["cycles"] if c["wheezy"]],
        "clean_recordings_cycles": [c for r in rows if not r["wheezes"] for c in r["cycles"]],
    }
    return {
        name: {
            "cycles": len(cycles),
            "shipped": sum(c["shipped"] for c in cycles),
            "sustained": sum(c["sustained"] for c in cycles),
            "either": sum(c["shipped"] or c["sustained"] for c in cycles),
        }
        for name, cycles in groups.items()
    }


def probe(data_dir: Path, bound_db: float) -> dict[str, Any]:
    """Each recording's shipped flag, ST windows and cycles; the scores."""
    rows = []
    for wav, _ in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        raw, fs = read_audio(wav)
        x = analysed(raw, fs)
        rec = Recording(x, heart_sound_times(Spectrum(x, ANALYSIS_RATE_HZ)))
        windows = rec.sustained(bound_db)
        for w in windows:
            inside = (cycles[:, 0] < w["end_s"]) & (cycles[:, 1] > w["start_s"])
            w["in_wheezy_cycle"] = bool((cycles[inside, 3] > 0).any())
        st = any(w["cause"] == "kept" for w in windows)
        kept = [(w["start_s"], w["end_s"]) for w in windows if w["cause"] == "kept"]
        cycle_rows = [
            {
                "wheezy": bool(c[3] > 0),
                "shipped": any(a < c[1] and b > c[0] for a, b in rec.found),
                "sustained": any(a < c[1] and b > c[0] for a, b in kept),
            }
            for c in cycles
        ]
        rows.append(
            {
                "file": wav.stem,
                "patient": wav.stem.split("_")[0],
                "wheezes": bool((cycles[:, 3] > 0).any()),
                "shipped": rec.shipped,
                "sustained": st,
                "either": rec.shipped or st,
                "windows": windows,
                "cycles": cycle_rows,
            }
        )
    truth = [r["wheezes"] for r in rows]
    result: dict[str, Any] = {"bound_db": bound_db, "recordings": rows}
    result["cycles"] = per_cycle(rows)
    for key in ("shipped", "sustained", "either"):
        result[key] = {
            "per_recording": scores(truth, [r[key] for r in rows]),
            "per_patient": per_patient(rows, key),
            # Nothing is fitted on the recordings: held out equals per recording.
            "leave_one_patient_out": scores(truth, [r[key] for r in rows]),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="the shared data folder")
    parser.add_argument("--calibrate", action="store_true", help="set T on synthetic breathing")
    parser.add_argument("--bound-db", type=float, help="T (dB); default: calibrated")
    parser.add_argument("--json", type=Path, default=Path("bench/results/wheeze_sustained.json"))
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    bound = args.bound_db
    if args.calibrate or bound is None:
        out["calibration"] = calibrate()
        print(json.dumps(out["calibration"], indent=1))
        bound = out["calibration"]["chosen_bound_db"]
    if args.data is not None and bound is not None:
        if not (args.data / "MANIFEST.csv").exists():
            print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
            return 2
        out["probe"] = probe(args.data, bound)
        for key in ("shipped", "sustained", "either"):
            print(key, out["probe"][key])
        print(out["probe"]["cycles"])
        for r in out["probe"]["recordings"]:
            if r["windows"]:
                causes = [f"{w['cause']}@{w['pitch_hz']:g}" for w in r["windows"]]
                print(f"{r['file']:<22} wheezes={r['wheezes']!s:<5} {' '.join(causes[:12])}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
