"""The murmur hint's measure at its exact edges, on murmur-band envelopes made by hand.

The envelope runs at the analysis's 100 Hz; the heart sounds stand at 1 (the S1/S2 level the
phases are read against), each phase at a level of its own. Times and levels are binary
fractions where a bound must be hit exactly.
"""

from __future__ import annotations

import numpy as np

from stetho_signal import _murmur
from stetho_signal.segmentation import HeartSounds


def _sounds(s1: list[float], s2: list[float]) -> HeartSounds:
    return HeartSounds(s1_s=np.asarray(s1, dtype=np.float64), s2_s=np.asarray(s2, dtype=np.float64))


def test_without_a_whole_cycle_no_contrast_and_a_note_saying_why() -> None:
    notes: list[str] = []
    env = np.full(300, 0.1)
    assert _murmur.murmur_contrast(env, _sounds([0.5, 1.5], []), notes) is None
    assert notes == ["murmur hint needs a whole cycle (S1, S2 and the next S1)"]
    assert [getattr(note, "code", None) for note in notes] == ["no_whole_cycle"]


def test_phases_too_short_to_read_make_no_whole_cycle() -> None:
    # Systoles of 80 ms: nothing is left once the sounds' 50 ms cores are taken out.
    s1 = [0.5, 1.5, 2.5]
    notes: list[str] = []
    env = np.full(400, 0.1)
    assert _murmur.murmur_contrast(env, _sounds(s1, [t + 0.08 for t in s1]), notes) is None
    assert [getattr(note, "code", None) for note in notes] == ["no_whole_cycle"]


def test_the_phase_ratio_is_over_one_named_by_the_louder_phase() -> None:
    # Floored at 0.05 of the sounds' level: (0.3 + 0.05) / (0.1 + 0.05), to three digits.
    assert _murmur._phase_ratio(0.1, 0.3, 1.0) == (2.333, "diastolic")
    assert _murmur._phase_ratio(0.3, 0.1, 1.0) == (2.333, "systolic")
    assert _murmur._phase_ratio(0.2, 0.2, 1.0) == (1.0, "systolic")  # a tie: systolic


def test_no_phase_ratio_without_a_sound_level() -> None:
    assert _murmur._phase_ratio(0.1, 0.2, 0.0) is None
    assert _murmur._phase_ratio(None, 0.2, 1.0) is None


def _steady(systole_level: float, diastole_level: float, beats: int = 12) -> np.ndarray:
    """Beats of 1 s (systole 0.3 s) whose phases hold the given levels, sounds at 1."""
    env = np.full(100 * beats + 100, diastole_level)
    for k in range(beats):
        env[100 * k : 100 * k + 30] = systole_level
    for k in range(beats + 1):
        for t in (100 * k, 100 * k + 30):
            env[max(t - 2, 0) : t + 3] = 1.0
    return env


def test_a_soft_murmur_is_read_by_the_per_beat_ratio_whose_floor_is_lower() -> None:
    # Systole at 6 % of the sounds' level, diastole at 3 %: the whole phases and the loudest
    # windows, floored at 5 %, read (0.06 + 0.05) / (0.03 + 0.05) = 1.375; beat by beat,
    # floored at 1 %, (0.06 + 0.01) / (0.03 + 0.01) = 1.75, the one kept.
    s1 = [float(k) for k in range(13)]
    sounds = _sounds(s1, [t + 0.3 for t in s1[:-1]])
    assert _murmur.murmur_contrast(_steady(0.06, 0.03), sounds, []) == (1.75, "systolic")


def test_levels_are_read_at_the_nearest_sample_within_the_recording() -> None:
    env = np.arange(10.0)
    levels = _murmur.levels_at(env, np.array([0.0, 0.026, 0.034, 0.09, 0.2, -0.1]))
    np.testing.assert_array_equal(levels, [0.0, 3.0, 3.0, 9.0, 9.0, 0.0])


def test_the_rolling_median_has_one_value_per_whole_window() -> None:
    # out[k] is the median of env[k : k + 11]; none without a whole window.
    np.testing.assert_array_equal(_murmur._rolling_median(np.arange(15.0) ** 2, 11), [
        25.0, 36.0, 49.0, 64.0, 81.0,
    ])  # fmt: skip
    np.testing.assert_array_equal(_murmur._rolling_median(np.arange(11.0), 11), [5.0])
    assert _murmur._rolling_median(np.ones(10), 11).shape == (0,)


def test_no_recurring_peak_without_spans_or_windows() -> None:
    spans = np.array([[0.5, 1.0], [1.5, 2.0]])
    assert _murmur._recurring_peak(np.ones(300), np.zeros((0, 2)), 0.05, 0.05) is None
    assert _murmur._recurring_peak(np.zeros(0), spans, 0.05, 0.05) is None


def test_a_recurring_peak_is_read_from_a_phases_first_window_to_its_last() -> None:
    # Two phases of 0.2 s from 0 and 0.5 s: ten 110 ms windows each (starts 0-9, 50-59). A
    # loud window at the same place of both, at their first window or at their last, is the
    # level both phases reach.
    spans = np.array([[0.0, 0.2], [0.5, 0.7]])
    for first in (0, 9):
        loudest = np.zeros(100)
        loudest[[first, 50 + first]] = 1.0
        assert _murmur._recurring_peak(loudest, spans, 0.0, 0.0) == 1.0
