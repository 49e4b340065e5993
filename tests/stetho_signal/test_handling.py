"""Handling noise: thumps of a slipping or lifted chest piece send a heart recording back."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stetho_signal import analyze
from stetho_signal.envelope import HEART_RATE_HZ
from stetho_signal.quality import handling_burst_s
from stetho_sim.sounds import FS_HZ, pcg


def _thump(duration_s: float, peak: float, seed: int = 0) -> NDArray[np.float64]:
    """Low rumble (5-60 Hz) with a Hann envelope, like lifting the chest piece off the skin."""
    n = round(duration_s * FS_HZ)
    sos = signal.butter(2, (5.0, 60.0), "bandpass", fs=FS_HZ, output="sos")
    rumble = signal.sosfilt(sos, np.random.default_rng(seed).standard_normal(n))
    shaped: NDArray[np.float64] = peak * rumble / np.max(np.abs(rumble)) * np.hanning(n)
    return shaped


def _with_thumps(
    x: NDArray[np.float64], starts_s: list[float], duration_s: float
) -> NDArray[np.float64]:
    out = x.copy()
    for start_s in starts_s:
        at = round(start_s * FS_HZ)
        thump = _thump(duration_s, 0.5 * float(np.max(np.abs(x))), seed=at)
        out[at : at + thump.size] += thump
    return out


def test_heart_sounds_alone_make_no_handling_burst() -> None:
    x, _, _ = pcg(40.0, 15.0)
    result = analyze(x, FS_HZ, "heart")
    assert result.quality.measures.handling_burst_s is not None
    assert result.quality.measures.handling_burst_s < 0.4
    assert result.quality.acceptable


def test_thumps_of_a_second_send_the_recording_back_with_a_reason() -> None:
    x, _, _ = pcg(72.0, 15.0)
    result = analyze(_with_thumps(x, [3.0, 8.0, 12.0], 1.0), FS_HZ, "heart")
    assert result.quality.measures.handling_burst_s is not None
    assert result.quality.measures.handling_burst_s > 0.6
    assert result.triage.level == "rerecord"
    assert result.quality.problem_codes == ("handling",)


def test_lung_recordings_skip_the_handling_check() -> None:
    x, _, _ = pcg(72.0, 15.0)
    assert analyze(x, FS_HZ, "lung").quality.measures.handling_burst_s is None


def test_handling_burst_of_a_short_or_silent_signal_is_zero() -> None:
    assert handling_burst_s(np.zeros(50), HEART_RATE_HZ) == 0.0
    assert handling_burst_s(np.zeros(5000), HEART_RATE_HZ) == 0.0
