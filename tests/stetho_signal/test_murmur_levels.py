"""The murmur hint's whole-phase levels: each span's median away from its sounds, NaN where too
little is left, and systoles kept apart from diastoles in the one gather of both.

``_mid_levels`` reads each span from 50 ms after its first sound to 50 ms before its last, on
the envelope's 100 Hz grid, and gives NaN to a span of fewer than two samples so; the
murmur's whole-phase ratio takes the systoles' row medians over the diastoles'.
"""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import _murmur
from stetho_signal.segmentation import HeartSounds

# Every sample its own value, falling (the square keeps neighbours' differences apart): a
# median read from the wrong samples, or from one too many past a span's end, shows.
_ENV = ((1000.0 - np.arange(1000.0)) / 7.0) ** 2


def _expected(lo: int, hi: int) -> float:
    return float(np.median(_ENV[lo:hi]))


def test_each_span_is_read_between_its_sounds_cores() -> None:
    # Rows of different lengths: each is padded apart from the others, read at its own length.
    spans = np.array([[1.0, 2.0], [4.0, 4.5], [6.0, 6.9]])
    expected = [_expected(105, 195), _expected(405, 445), _expected(605, 685)]
    np.testing.assert_allclose(_murmur._mid_levels(_ENV, spans), expected, rtol=1e-14)


def test_a_span_of_two_samples_is_read_and_of_one_is_not() -> None:
    # 5.0-5.12 s keeps samples 505 and 506; 3.0-3.11 s keeps only 305.
    spans = np.array([[5.0, 5.12], [3.0, 3.11]])
    levels = _murmur._mid_levels(_ENV, spans)
    assert levels[0] == pytest.approx(_expected(505, 507), rel=1e-14)
    assert np.isnan(levels[1])


def test_spans_past_either_end_are_read_up_to_it() -> None:
    # A span from before the start reads from sample 0; one past the end up to the last
    # sample, here the only two samples it keeps.
    spans = np.array([[-1.0, 0.5], [9.93, 11.0]])
    expected = [_expected(0, 45), _expected(998, 1000)]
    np.testing.assert_allclose(_murmur._mid_levels(_ENV, spans), expected, rtol=1e-14)


def test_no_span_long_enough_gives_nan_for_each_and_none_gives_nothing() -> None:
    short = np.array([[1.0, 1.1], [2.0, 2.05], [-1.0, -0.04]])
    levels = _murmur._mid_levels(_ENV, short)
    assert levels.shape == (3,) and np.all(np.isnan(levels))
    assert _murmur._mid_levels(_ENV, np.zeros((0, 2))).shape == (0,)


def test_the_whole_phase_ratio_keeps_systoles_apart_from_diastoles() -> None:
    # 100/min, systole 0.4 s at 2 over diastole 0.3 s at 1, sounds at 10. Every other systole
    # dips to 0.5 in its middle third, so beat by beat either phase is the louder in turns (no
    # per-beat ratio), and no diastole holds 110 ms past its first 150 ms (no loudest-window
    # ratio): the whole phases decide, (0.2 + 0.05) / (0.1 + 0.05).
    s1 = np.asarray(0.5 + 0.7 * np.arange(9), dtype=np.float64)
    s2 = np.asarray(s1[:-1] + 0.4, dtype=np.float64)
    t = np.arange(round(7.0 * 100)) / 100.0
    env = np.ones_like(t)
    for k, (start, end) in enumerate(zip(s1[:-1], s2, strict=True)):
        env[(t > start) & (t < end)] = 2.0
        if k % 2:
            env[(t > start + 0.4 / 3) & (t < start + 0.8 / 3)] = 0.5
    for sound in np.concatenate([s1, s2]):
        env[np.abs(t - sound) <= 0.05 + 1e-9] = 10.0
    sounds = HeartSounds(s1, s2)
    systoles, diastoles = _murmur.phases(sounds)
    assert _murmur._paired_ratio(env, systoles, diastoles, 10.0) is None
    notes: list[str] = []
    result = _murmur.murmur_contrast(env, sounds, notes)
    assert result == (round(0.25 / 0.15, 3), "systolic")
    assert notes == []
