"""The sustained-tone probe finds a held tone over a window and scores per patient."""

from __future__ import annotations

import numpy as np

from bench import wheeze_sustained_probe as probe
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal._spectra import frame_power

FS = ANALYSIS_RATE_HZ


def _breath(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.05 * rng.standard_normal(int(seconds * FS))


def _with_tone(x: np.ndarray, start_s: float, end_s: float, hz: float, amp: float) -> np.ndarray:
    x = x.copy()
    a, b = int(start_s * FS), int(end_s * FS)
    x[a:b] += amp * np.sin(2 * np.pi * hz * np.arange(b - a) / FS)
    return x


def _spectrogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return frame_power(x, FS, 256, 128)


def test_a_tone_held_300_ms_passes_and_white_noise_does_not() -> None:
    # A 400 Hz tone at a third of the noise's RMS: under the frame test's 9 dB on one frame,
    # far over it on seven averaged.
    sg = _spectrogram(_with_tone(_breath(), 1.0, 1.3, 400.0, 0.025))
    windows = probe.tone_windows(sg, 9.0)
    assert windows
    assert all(abs(float(sg[0][w.row]) - 400.0) < 16.0 for w in windows)
    assert probe.tone_windows(_spectrogram(_breath(seed=3)), 9.0) == []


def test_a_loud_40_ms_tone_passes_the_window_but_not_the_waveform() -> None:
    # A loud burst dominates a window's mean and sits in three or four of its frames; the
    # frames' test (c) alone does not stop it, the waveform's duration does.
    x = _with_tone(_breath(), 1.0, 1.04, 400.0, 0.5)
    assert probe.tone_windows(_spectrogram(x), 9.0)
    causes = {w["cause"] for w in probe.Recording(x, None).sustained(9.0)}
    assert causes == {"click"}


def test_a_held_tone_is_kept_and_a_ringing_click_is_left_out() -> None:
    held = probe.Recording(_with_tone(_breath(), 1.0, 1.4, 600.0, 0.05), None)
    assert any(w["cause"] == "kept" for w in held.sustained(9.0))
    assert held.shipped
    # A click ringing at 600 Hz for ~30 ms, every 150 ms: a steady peak on the spectrum,
    # short on the waveform.
    x = _breath()
    t = np.arange(int(0.03 * FS)) / FS
    ring = 0.6 * np.exp(-t / 0.01) * np.sin(2 * np.pi * 600.0 * t)
    for start in np.arange(1.0, 1.5, 0.15):
        i = int(start * FS)
        x[i : i + ring.size] += ring
    causes = {w["cause"] for w in probe.Recording(x, None).sustained(9.0)}
    assert "kept" not in causes


def test_scores_per_patient_take_any_recording() -> None:
    rows = [
        {"patient": "1", "wheezes": True, "either": False},
        {"patient": "1", "wheezes": False, "either": True},
        {"patient": "2", "wheezes": False, "either": False},
    ]
    assert probe.per_patient(rows, "either") == (1.0, 1.0)
    assert probe.scores([True, False, False], [False, True, False]) == (0.0, 0.5)
