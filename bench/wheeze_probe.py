"""Wheeze operating points on ICBHI: ``python -m bench.wheeze_probe --data DIR``.

A probe, not part of ``make eval`` (about a minute): it asks whether the wheeze search would
find more of the annotated wheezes, or fewer false ones, with

- a lower prominence over the neighbouring bins (``wheezes._WHEEZE_PROMINENCE_DB``, 9 dB,
  set on synthetic breath noise), and
- a *novelty* test on a whitened spectrum: the tone's bin must hold at least N dB more of the
  frame's band power than it holds in the recording's median frame. A resonance of the chest
  piece or the chest wall colours every breath alike and fails it; a wheeze is added to some
  breaths only (peak-to-background on a spectrum divided by the recording's own spectral
  envelope; N = 0 is the detector as shipped), or
- a *level* test (fourth round): the tone must hold at least a given share of the frame's
  band power (the shipped audibility floor is 0.01, -20 dB). Annotated wheezy cycles hold
  their best tone at a median share of 0.40, cycles without wheezes at 0.11-0.20.

Each grid point is scored per recording (a recording has wheezes when one of its cycles is
annotated with them), and leave-one-patient-out: each patient's recordings get the grid point
with the best balanced accuracy on all other patients. The product code is not changed: the
probe sets the prominence and wraps the tonal-frame test for the run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.lung import heart_sound_times
from stetho_signal.triage import TriageThresholds

PROMINENCE_DB = (9.0, 8.0, 7.0, 6.0)  # the first is the shipped value
NOVELTY_DB = (0.0, 3.0, 6.0, 9.0)  # 0: no novelty test (as shipped)
LEVEL_SHARE = (0.01, 0.05, 0.1, 0.2, 0.3)  # the first is the shipped audibility floor
Point = tuple[float, float, float]  # prominence dB, novelty dB, level share


def _with_novelty(novelty_db: float, level_share: float = LEVEL_SHARE[0]) -> Callable[..., Any]:
    """``wheezes._tonal_frames`` with the novelty and level tests added (a probe-only wrapper)."""
    shipped = wheezes._tonal_frames

    def tonal_frames(spectra: NDArray[np.float32], band: slice) -> Any:
        tones = shipped(spectra, band)
        if level_share > LEVEL_SHARE[0]:
            frames = np.arange(tones.tonal.size)
            row = tones.best_bin + tones.bin_offset
            total = np.maximum(tones.smooth[band].sum(axis=0), 1e-30)
            share = 3.0 * tones.smooth[row, frames] / total  # as the shipped audibility test
            tones = tones._replace(tonal=tones.tonal & (share >= level_share))
        if novelty_db <= 0.0:
            return tones
        inside = tones.smooth[band]
        share = inside / np.maximum(inside.sum(axis=0, keepdims=True), 1e-30)
        usual = np.median(share, axis=1)
        frames = np.arange(share.shape[1])
        novelty = share[tones.best_bin, frames] / np.maximum(usual[tones.best_bin], 1e-30)
        return tones._replace(tonal=tones.tonal & (novelty >= 10.0 ** (novelty_db / 10.0)))

    return tonal_frames


def _recordings(data_dir: Path) -> Iterator[dict[str, Any]]:
    """Each ICBHI recording's samples, spectrogram, heart sounds and wheeze annotation."""
    for wav, _ in _icbhi_files(data_dir):
        raw, fs = read_audio(wav)
        x = prepare(raw, fs).samples
        n = wheezes.WHEEZE_NPERSEG
        yield {
            "file": str(wav.relative_to(data_dir)),
            "patient": wav.stem.split("_")[0],
            "wheezes": bool((annotated_cycles(wav)[:, 3] > 0).any()),
            "x": x,
            "spectrogram": frame_power(x, ANALYSIS_RATE_HZ, n, n // 2),
            "heart_sounds": heart_sound_times(Spectrum(x, ANALYSIS_RATE_HZ)),
        }


def _flags(recordings: list[dict[str, Any]], point: Point) -> list[bool]:
    """Whether the wheeze search flags each recording at ``point`` (as ``analyze_lung``)."""
    kept_prominence, kept_frames = wheezes._WHEEZE_PROMINENCE_DB, wheezes._tonal_frames
    duration = TriageThresholds().wheeze_min_duration_s
    flags = []
    try:
        wheezes._WHEEZE_PROMINENCE_DB = point[0]
        wheezes._tonal_frames = _with_novelty(point[1], point[2])
        for r in recordings:
            search = wheezes.WheezeSearch(r["x"], r["spectrogram"])
            found, _ = search.find(duration)
            if found:
                found, _ = search.find(duration, r["heart_sounds"])
            flags.append(bool(found))
    finally:
        wheezes._WHEEZE_PROMINENCE_DB, wheezes._tonal_frames = kept_prominence, kept_frames
    return flags


def grid_points() -> list[Point]:
    """Prominence x novelty at the shipped level, then prominence x level without novelty."""
    shipped = LEVEL_SHARE[0]
    first = [(p, n, shipped) for p, n in itertools.product(PROMINENCE_DB, NOVELTY_DB)]
    return first + [(p, 0.0, s) for p, s in itertools.product(PROMINENCE_DB, LEVEL_SHARE[1:])]


def _name(point: Point) -> str:
    prominence, novelty, level = point
    if level > LEVEL_SHARE[0]:
        return f"{prominence:g} dB, level {level:g}"
    return f"{prominence:g} dB, novelty {novelty:g} dB"


def _scores(truth: list[bool], flags: list[bool]) -> dict[str, float]:
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    tn = sum(not f and not t for f, t in zip(flags, truth, strict=True))
    se = tp / max(sum(truth), 1)
    sp = tn / max(len(truth) - sum(truth), 1)
    return {"sensitivity": round(se, 3), "specificity": round(sp, 3), "balanced": (se + sp) / 2}


def probe(data_dir: Path) -> dict[str, Any]:
    """Se/Sp per grid point, and leave-one-patient-out over the grid."""
    recordings = list(_recordings(data_dir))
    truth = [r["wheezes"] for r in recordings]
    patients = [r["patient"] for r in recordings]
    grid = grid_points()
    flags = {point: _flags(recordings, point) for point in grid}
    held_out: list[bool] = [False] * len(recordings)
    for patient in sorted(set(patients)):
        train = [i for i, p in enumerate(patients) if p != patient]

        def balanced(point: Point, train: list[int] = train) -> float:
            return _scores([truth[i] for i in train], [flags[point][i] for i in train])["balanced"]

        best = max(grid, key=lambda point: (balanced(point), -grid.index(point)))
        for i, p in enumerate(patients):
            if p == patient:
                held_out[i] = flags[best][i]
    return {
        "grid": {_name(point): _scores(truth, flags[point]) for point in grid},
        "leave_one_patient_out": _scores(truth, held_out),
        "recordings": len(recordings),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/wheeze_probe.json"))
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    results = probe(args.data)
    for name, s in results["grid"].items():
        print(f"{name:<24} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    held = results["leave_one_patient_out"]
    print(f"leave-one-patient-out    Se {held['sensitivity']:.3f}  Sp {held['specificity']:.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
