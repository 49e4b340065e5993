"""The half-rate guard's windows read all at once, against ``find_peaks`` window by window.

Envelopes of few levels (rounded random values) hold plateaus of every length, runs reaching a
window's ends, and ties between peaks: each window's highest peak over the level must be the
one ``find_peaks`` of the window's own slice gives, the first of equal ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_signal._half_rate import _highest_peaks, _partners, _sounds_between
from stetho_signal.segmentation import HeartSounds


def _by_slices(
    env: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp], level: float
) -> list[int]:
    best = []
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        peaks = dsp.find_peaks(env[a:b], height=level)
        best.append(a + int(peaks[np.argmax(env[a + peaks])]) if peaks.size else -1)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_each_windows_highest_peak_is_find_peaks_of_its_slice(seed: int) -> None:
    rng = np.random.default_rng(seed)
    env = np.round(rng.random(300) * rng.integers(2, 6)) / 4.0
    lo = rng.integers(0, 300, 200)
    hi = np.minimum(lo + rng.integers(0, 40, 200), 300)
    level = float(rng.choice([0.0, 0.25, 0.5, 1.0]))
    assert _highest_peaks(env, lo, hi, level).tolist() == _by_slices(env, lo, hi, level)


def test_a_plateau_is_a_peak_at_its_middle_only_when_it_falls_inside() -> None:
    env = np.array([0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 0.0, 3.0, 3.0])
    lo = np.array([0, 0, 1, 2, 0, 7, 6])
    hi = np.array([10, 6, 7, 7, 7, 10, 10])
    # (2 + 5) // 2 = 3; the window ending at the plateau's end, or starting on it, has none;
    # the run of 3s at the envelope's end is no peak.
    assert _highest_peaks(env, lo, hi, 0.0).tolist() == [3, -1, 3, -1, 3, -1, -1]


def test_equal_peaks_give_the_first_and_a_peak_under_the_level_none() -> None:
    env = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 0.5, 0.0])
    assert _highest_peaks(env, np.array([0, 2, 4]), np.array([7, 7, 7]), 0.6).tolist() == [
        1,
        3,
        -1,
    ]
    assert _highest_peaks(env, np.array([4]), np.array([7]), 0.5).tolist() == [5]


def test_no_window_or_only_short_ones_find_nothing() -> None:
    env = np.array([0.0, 1.0, 0.0, 1.0])
    assert (
        _highest_peaks(env, np.array([], dtype=np.intp), np.array([], dtype=np.intp), 0.0).size == 0
    )
    assert _highest_peaks(env, np.array([0, 1]), np.array([2, 3]), 0.0).tolist() == [-1, -1]
    assert _highest_peaks(env, np.array([0, 1]), np.array([3, 3]), 0.0).tolist() == [1, -1]


def _partners_by_slices(env, fs_hz, anchors, systole, half, side):  # type: ignore[no-untyped-def]
    level = 2.0 * float(np.median(env))
    found = []
    near, far = 0.5 * systole, min(1.5 * systole, 0.5 * half)
    for t in anchors.tolist():
        ends = (t + near, t + far) if side > 0 else (t - far, t - near)
        lo = max(round(ends[0] * fs_hz), 0)
        hi = min(round(ends[1] * fs_hz), env.size)
        if hi - lo < 3:
            continue
        peaks = dsp.find_peaks(env[lo:hi], height=level)
        if peaks.size:
            found.append((lo + int(peaks[np.argmax(env[lo + peaks])])) / fs_hz)
    return found


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("side", [1.0, -1.0])
def test_partners_are_those_of_the_window_by_window_search(seed: int, side: float) -> None:
    rng = np.random.default_rng(seed)
    env = np.round(rng.random(800) * 3) / 2.0 + 0.1
    anchors = np.sort(rng.random(25) * 8.5 - 0.2)
    got = _partners(env, 100.0, anchors, 0.3, 0.35, side).tolist()
    assert got == _partners_by_slices(env, 100.0, anchors, 0.3, 0.35, side)


def _between_by_slices(env, fs_hz, times, is_s1, level):  # type: ignore[no-untyped-def]
    gaps = np.diff(times)
    phase = (is_s1[:-1] != is_s1[1:]) & (gaps <= 1.5 * np.median(gaps))
    held: dict[bool, list[bool]] = {True: [], False: []}
    for k in np.flatnonzero(phase).tolist():
        lo = round((times[k] + 0.25 * gaps[k]) * fs_hz)
        hi = round((times[k] + 0.75 * gaps[k]) * fs_hz)
        held[bool(is_s1[k])].append(
            hi - lo >= 3 and dsp.find_peaks(env[lo:hi], height=level).size > 0
        )
    shares = [sum(v) / len(v) for v in held.values() if len(v) >= 2]
    return min(shares) if len(shares) == 2 else 0.0


@pytest.mark.parametrize("seed", range(8))
def test_the_share_between_is_that_of_the_window_by_window_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    env = np.round(rng.random(700) * 3) / 2.0 + 0.1
    times = np.cumsum(rng.uniform(0.05, 0.6, 16))
    times = times[times < 7.2]
    is_s1 = rng.random(times.size) < 0.5
    sounds = HeartSounds(s1_s=times[is_s1], s2_s=times[~is_s1])
    level = 1.5 * float(np.median(env))
    expected = _between_by_slices(env, 100.0, times, is_s1, level)
    assert _sounds_between(env, 100.0, sounds, 1.5) == expected
