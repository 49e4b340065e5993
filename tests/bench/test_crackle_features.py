"""The fourth round's lung probes on synthetic inputs: known waveforms, rhythms and classes."""

from __future__ import annotations

import numpy as np

from bench._eval_crackle_features import (
    logistic_scores,
    low_band_periodicity,
    two_cycle_ms,
    window_share,
)
from bench.wheeze_probe import _with_novelty
from stetho_signal import wheezes
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum

FS = 4000.0


def _crackle(frequency_hz: float) -> tuple[np.ndarray, int]:
    """A damped sinusoid in faint noise, 0.1 s in; returns it and its largest sample."""
    rng = np.random.default_rng(1)
    x = 1e-3 * rng.standard_normal(int(0.3 * FS))
    t = np.arange(int(0.05 * FS)) / FS
    start = int(0.1 * FS)
    x[start : start + t.size] += np.exp(-t / 0.004) * np.sin(2 * np.pi * frequency_hz * t)
    return x, int(np.argmax(np.abs(x)))


def test_two_cycle_duration_tells_fine_from_coarse() -> None:
    fine, at = _crackle(250.0)  # two cycles: 8 ms
    coarse, at_coarse = _crackle(100.0)  # 20 ms
    assert abs(two_cycle_ms(fine, at) - 8.0) <= 1.0
    assert abs(two_cycle_ms(coarse, at_coarse) - 20.0) <= 1.0
    assert np.isnan(two_cycle_ms(fine[: at + 10], at))  # cut by the recording's end


def test_window_share_counts_whole_breaths_only() -> None:
    times = np.array([1.0, 1.5, 9.0, 21.0])  # windows 0, 0, 2 and one past the last whole one
    assert window_share(times, 4.0, 22.0) == 0.4
    assert window_share(times, 30.0, 22.0) == 0.0


def test_low_band_periodicity_sees_a_heartbeat_and_not_noise() -> None:
    rng = np.random.default_rng(2)
    n = int(12 * FS)
    noise = 0.05 * rng.standard_normal(n)
    beat = noise.copy()
    burst = np.sin(2 * np.pi * 60.0 * np.arange(int(0.06 * FS)) / FS)
    for start in range(0, n - burst.size, int(0.8 * FS)):
        beat[start : start + burst.size] += burst
    assert low_band_periodicity(Spectrum(beat, FS)) > 0.5
    assert low_band_periodicity(Spectrum(noise, FS)) < 0.3


def test_logistic_scores_separate_separable_classes_held_out() -> None:
    rows = [
        {
            "patient": str(k),
            "crackles": k % 3 == 0,
            "log_detections": 3.0 + 0.1 * k if k % 3 == 0 else 0.5 + 0.05 * k,
            "low_band_periodicity": 0.1 if k % 3 == 0 else 0.4,
            "breath_window_share": 0.8 if k % 3 == 0 else 0.2,
        }
        for k in range(12)
    ]
    scores = logistic_scores(rows)
    assert scores["fitted"]["1"] == {"sensitivity": 1.0, "specificity": 1.0}
    assert scores["nested_leave_one_patient_out"] == {"sensitivity": 1.0, "specificity": 1.0}


def test_level_test_drops_a_faint_tone_and_keeps_a_loud_one() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(int(6 * FS)) / FS
    x = 0.1 * rng.standard_normal(t.size)
    faint, loud = (t > 1.0) & (t < 1.6), (t > 4.0) & (t < 4.6)
    x[faint] += 0.05 * np.sin(2 * np.pi * 703.0 * t[faint])
    x[loud] += 0.5 * np.sin(2 * np.pi * 406.0 * t[loud])
    freqs, centres, power = frame_power(x, FS, wheezes.WHEEZE_NPERSEG, wheezes.WHEEZE_NPERSEG // 2)
    inside = np.flatnonzero((freqs >= 100.0) & (freqs <= 1600.0))
    band = slice(int(inside[0]), int(inside[-1]) + 1)
    shipped = wheezes._tonal_frames(power, band)
    probed = _with_novelty(0.0, 0.4)(power, band)
    in_faint = (centres > 1.1) & (centres < 1.5)
    in_loud = (centres > 4.1) & (centres < 4.5)
    assert shipped.tonal[in_faint].mean() >= 0.8 and shipped.tonal[in_loud].all()
    assert not probed.tonal[in_faint].any()
    assert probed.tonal[in_loud].all()
