"""Speed of stetho_signal on real recordings, as times real time, one core.

The recordings come from the shared data folder (``STETHO_DATA``, default ``../shared/data``;
the bench says so and skips when it is absent): every heart recording (CirCor, Yaseen: 1-36 s)
and every ICBHI lung recording (15-26 s), decoded beforehand, so the figures are compute only.

- cold: the first pass over all recordings with the package's caches emptied (filter
  responses are cached per length and rate, and the lengths vary), as a device meets new
  recordings;
- warm: the best of further passes over the same recordings.

Baseline measured in the same run, cold and warm alike: one plain ``scipy.signal.sosfiltfilt``
of the heart band over each recording, so the ratios survive a faster or slower machine.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from bench._data import located
from bench._eval_lung import manifest, read_audio
from stetho_signal import (
    HEART_BAND_HZ,
    StreamingBandpass,
    _spectra,
    analyze,
    bands,
    design_bandpass,
    filters,
)

_WARM_ROUNDS = 3
_BLOCK_S = 0.1
GOALS = {"heart_cold_x_realtime": 2000, "streaming_x_realtime": 1000}

Recording = tuple[np.ndarray, float, str]  # samples, rate, kind


def load(folder: Path) -> list[Recording]:
    """Every heart and lung WAV of the manifest (the Springer MATLAB file is left out)."""
    out = []
    for row in manifest(folder):
        if not row["relpath"].endswith(".wav"):
            continue
        x, fs = read_audio(folder / row["relpath"])
        out.append((x, fs, "lung" if row["relpath"].startswith("lung/") else "heart"))
    return out


def _clear_caches() -> None:
    for module in (_spectra, bands, filters):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


def _pass(recordings: list[Recording], work: Callable[[Recording], object]) -> float:
    """CPU seconds of this process (the machines are shared: wall time counts the others)."""
    start = time.process_time()
    for recording in recordings:
        work(recording)
    return time.process_time() - start


def _baseline(sos_by_rate: dict[float, np.ndarray]) -> Callable[[Recording], object]:
    return lambda r: signal.sosfiltfilt(sos_by_rate[r[1]], r[0])


def _analyse(r: Recording) -> object:
    return analyze(r[0], r[1], "lung" if r[2] == "lung" else "heart")


def _stream(r: Recording) -> None:
    block = int(_BLOCK_S * r[1])
    heart = StreamingBandpass(r[1], HEART_BAND_HZ)
    for i in range(0, r[0].size, block):
        heart.process(r[0][i : i + block])


def _speeds(recordings: list[Recording]) -> dict[str, float]:
    """Seconds per pass: cold first passes, then the best warm pass, each with its baseline."""
    sos = {fs: design_bandpass(fs, HEART_BAND_HZ) for _, fs, _ in recordings}
    baseline = _baseline(sos)
    _clear_caches()
    cold = {"baseline": _pass(recordings, baseline), "analysis": _pass(recordings, _analyse)}
    warm = dict.fromkeys(("baseline", "analysis", "streaming"), float("inf"))
    for _ in range(_WARM_ROUNDS):
        for name, work in (("baseline", baseline), ("analysis", _analyse), ("streaming", _stream)):
            warm[name] = min(warm[name], _pass(recordings, work))
    return {
        "cold_baseline": cold["baseline"],
        "cold_analysis": cold["analysis"],
        **{f"warm_{k}": v for k, v in warm.items()},
    }


def _report(recordings: list[Recording], seconds: dict[str, float]) -> dict[str, Any]:
    audio = sum(x.size / fs for x, fs, _ in recordings)
    lengths = [x.size / fs for x, fs, _ in recordings]
    return {
        "recordings": len(recordings),
        "audio_s": round(audio, 1),
        "length_range_s": [round(min(lengths), 1), round(max(lengths), 1)],
        "cold_x_realtime": round(audio / seconds["cold_analysis"], 1),
        "warm_x_realtime": round(audio / seconds["warm_analysis"], 1),
        "baseline_sosfiltfilt_cold_x_realtime": round(audio / seconds["cold_baseline"], 1),
        "baseline_sosfiltfilt_warm_x_realtime": round(audio / seconds["warm_baseline"], 1),
        "cold_cost_in_baseline_filters": round(
            seconds["cold_analysis"] / seconds["cold_baseline"], 1
        ),
        "warm_cost_in_baseline_filters": round(
            seconds["warm_analysis"] / seconds["warm_baseline"], 1
        ),
        "streaming_bandpass_100ms_blocks_x_realtime": round(audio / seconds["warm_streaming"], 1),
    }


def run(folder: Path | None = None) -> dict[str, Any]:
    where, skipped = located(folder, "signal_bench")
    if skipped is not None:
        return {"skipped": skipped}
    recordings = load(where)
    results: dict[str, Any] = {"data": str(where)}
    for kind in ("heart", "lung"):
        mine = [r for r in recordings if r[2] == kind]
        results[kind] = _report(mine, _speeds(mine))
    longest = max(recordings, key=lambda r: r[0].size)
    tracemalloc.start()
    _analyse(longest)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["peak_memory_mib_longest_recording"] = round(peak / 2**20, 2)
    results["goals"] = GOALS
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
