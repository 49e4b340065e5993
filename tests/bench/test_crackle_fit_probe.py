"""The fit probe's damped-sinusoid fit is the sixth round's, and its rules count as they say."""

from __future__ import annotations

import numpy as np

from bench import crackle_fit_probe as probe
from bench._eval_lung_round6 import damped_fits

FS = probe.FINE_HZ


def _band(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Faint noise with two damped 400 Hz crackles (0.3 of the amplitude kept per cycle)."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.standard_normal(int(2 * FS))
    t = np.arange(int(0.02 * FS)) / FS
    wave = np.sin(2 * np.pi * 400.0 * t) * 0.3 ** (t * 400.0)
    times = np.array([0.5, 1.2])
    for at in times:
        i = int(at * FS)
        x[i : i + wave.size] += wave
    return x, times


def test_the_fit_is_the_sixth_rounds() -> None:
    x, times = _band()
    picks = np.concatenate([times, [0.3, 0.81, 1.7]])
    ours = [d["r2"] for d in probe.fits(x, picks)]
    assert np.allclose(ours, damped_fits(x, picks)[:, 0], atol=1e-12)
    assert min(ours[:2]) > 0.9 and max(ours[2:]) < 0.9  # crackles ring, noise peaks less


def test_noise_corrected_r2_takes_out_the_backgrounds_share() -> None:
    d = {"r2": 0.8, "energy": 100.0, "length": 112.0, "peak": 1.0, "pre_rms": 0.0, "robust": 0.1}
    assert probe.noise_corrected(d) == 0.8  # no background: R2 as fitted
    # A background of 0.1 RMS leaves 110 x 0.01 = 1.1 of the 20 unexplained; 98.88 is signal.
    assert abs(probe.noise_corrected(d | {"pre_rms": 0.1}) - (1 - 18.9 / 98.88)) < 1e-12
    assert probe.noise_corrected(d | {"pre_rms": 1.0}) == 0.0  # all background


def test_two_ringing_needs_three_detections_and_two_fitted() -> None:
    rule = probe.families()["two_ringing"]["2 at R2 0.6"]
    det = {"r2": 0.9, "energy": 1.0, "length": 112.0, "peak": 1.0, "pre_rms": 0.1, "robust": 0.1}
    poor = det | {"r2": 0.4}
    assert rule([det, det, poor])
    assert not rule([det, poor, poor])
    assert not rule([det, det])
