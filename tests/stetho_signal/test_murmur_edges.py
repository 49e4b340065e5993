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


def test_no_window_past_a_phases_end_is_read() -> None:
    # Phases of 0.3 s from 0 and 0.4 s: window starts 0-19 and 40-59. The windows starting
    # at 20 and 60 run a sample past their phase: never read.
    loudest = np.zeros(100)
    loudest[[20, 60]] = 1.0
    assert _murmur._recurring_peak(loudest, np.array([[0.0, 0.3], [0.4, 0.7]]), 0.0, 0.0) == 0.0


def test_a_phase_cut_by_the_recording_end_is_read_up_to_its_last_whole_window() -> None:
    # 100 windows (an envelope of 110 samples): the phase from 0.8 s is cut at 1.1 s, and its
    # windows start at 80-99; the phase from 0 has 25 (0-24). A loud window at the same time
    # before the end of both, the last or three before it, is found.
    spans = np.array([[0.0, 0.35], [0.8, 1.5]])
    for loud in ([22, 97], [24, 99]):
        loudest = np.zeros(100)
        loudest[loud] = 1.0
        assert _murmur._recurring_peak(loudest, spans, 0.0, 0.0) == 1.0


def test_a_place_held_by_half_the_phases_does_not_speak_for_all() -> None:
    # Phases of 20 and 10 windows: the places 10-19 after the start lie in the longer only. A
    # loud window there counts only where both phases are read (from the end: one of two, a
    # quarter of the way from 0 to 1 at the quantile).
    loudest = np.zeros(100)
    loudest[15] = 1.0
    spans = np.array([[0.0, 0.3], [0.5, 0.7]])
    assert _murmur._recurring_peak(loudest, spans, 0.0, 0.0) == 0.25


def test_one_beat_is_enough_for_the_per_beat_ratio() -> None:
    # (0.06 + 0.01) / (0.03 + 0.01): the systole's middle third over the diastole's.
    env = _steady(0.06, 0.03, beats=1)
    systoles, diastoles = _murmur.phases(_sounds([0.0, 1.0], [0.3]))
    assert _murmur._paired_ratio(env, systoles, diastoles, 1.0) == (1.75, "systolic")
    assert _murmur._paired_ratio(env, systoles, diastoles, 0.0) is None  # no sound level
    # Levels are read relative to the sounds': all twice as loud, the same ratio.
    assert _murmur._paired_ratio(2.0 * env, systoles, diastoles, 2.0) == (1.75, "systolic")


def _beats_of(levels: list[tuple[float, float]]) -> object:
    """The per-beat ratio of beats of 1 s whose systole (0.3 s) and diastole hold the given
    levels, sounds at 1."""
    env = np.zeros(100 * len(levels) + 100)
    for k, (systole, diastole) in enumerate(levels):
        env[100 * k : 100 * k + 30] = systole
        env[100 * k + 30 : 100 * k + 100] = diastole
    s1 = [float(k) for k in range(len(levels) + 1)]
    systoles, diastoles = _murmur.phases(_sounds(s1, [t + 0.3 for t in s1[:-1]]))
    return _murmur._paired_ratio(env, systoles, diastoles, 1.0)


def test_the_per_beat_ratio_is_given_to_three_digits() -> None:
    assert _beats_of([(0.06, 0.02)] * 4) == (2.333, "systolic")  # 0.07 / 0.03
    assert _beats_of([(0.02, 0.06)] * 4) == (2.333, "diastolic")


def test_a_phase_louder_in_only_half_the_beats_speaks_for_no_murmur() -> None:
    # The other half of the beats have their phases equal: a log ratio of 0 at the quartile.
    assert _beats_of([(0.06, 0.02), (0.04, 0.04)] * 2) is None
    assert _beats_of([(0.02, 0.06), (0.04, 0.04)] * 2) is None


def test_the_sorted_quantile_is_numpys_linear_one() -> None:
    values = np.array([0.0, 1.0, 4.0, 9.0, 16.0, 25.0])
    for q in (0.0, 0.25, 0.3, 0.5, 0.75, 0.9, 1.0):
        assert _murmur._sorted_quantile(values, q) == np.quantile(values, q)


# Every sample its own value, falling (as in test_murmur_levels): a median read from the wrong
# samples shows.
_ENV = ((1000.0 - np.arange(1000.0)) / 7.0) ** 2


def test_window_levels_read_each_spans_share_to_its_own_length() -> None:
    # The middle third of each span: samples 100-199 of 0-3 s, 932-943 of 9.2-9.56 s (a short
    # row beside a long one: its padding past the envelope's end is never read), and the
    # first third of 0-0.06 s: samples 0 and 1, the fewest read.
    spans = np.array([[0.0, 3.0], [9.2, 9.56]])
    levels = _murmur._window_levels(_ENV, spans, 1 / 3, 2 / 3)
    np.testing.assert_allclose(
        levels, [np.median(_ENV[100:200]), np.median(_ENV[932:944])], rtol=1e-14
    )
    two = _murmur._window_levels(_ENV, np.array([[0.0, 0.06], [9.98, 10.0]]), 0.0, 1.0 / 3.0)
    np.testing.assert_allclose(two, [np.median(_ENV[0:2]), np.nan], rtol=1e-14)
    end = _murmur._window_levels(_ENV, np.array([[9.98, 10.0]]), 0.0, 1.0)
    np.testing.assert_allclose(end, [np.median(_ENV[998:1000])], rtol=1e-14)


def test_phases_pair_each_s1_with_the_s2_after_it_and_that_s2_with_the_next_s1() -> None:
    systoles, diastoles = _murmur.phases(_sounds([0.0, 1.0], [0.3]))
    np.testing.assert_array_equal(systoles, [[0.0, 0.3]])
    np.testing.assert_array_equal(diastoles, [[0.3, 1.0]])


def test_an_s2_at_an_s1s_own_time_makes_no_phase_of_zero_length() -> None:
    # A partner S2 found at a chain sound's time: the systole runs to the S2 after it, and no
    # diastole is made of the S2 and the S1 sharing a time.
    systoles, diastoles = _murmur.phases(_sounds([0.0, 0.3, 1.0], [0.3, 1.3]))
    np.testing.assert_array_equal(systoles, [[0.0, 0.3], [0.3, 1.3], [1.0, 1.3]])
    assert diastoles.shape == (0, 2)


def test_one_phase_alone_is_read_at_its_loudest_window() -> None:
    # One cycle: each place is held by it alone, and its level is that window's.
    loudest = np.zeros(100)
    loudest[7] = 0.5
    assert _murmur._recurring_peak(loudest, np.array([[0.0, 0.3]]), 0.0, 0.0) == 0.5


def test_a_peak_tied_to_the_phases_end_is_found_in_phases_of_different_lengths() -> None:
    # Phases of 20 and 10 windows (starts 0-19 and 50-59), loud in the last window of each:
    # at the same time before their ends, not after their starts.
    loudest = np.zeros(100)
    loudest[[19, 59]] = 1.0
    spans = np.array([[0.0, 0.3], [0.5, 0.7]])
    assert _murmur._recurring_peak(loudest, spans, 0.0, 0.0) == 1.0


def test_a_place_past_a_shorter_phase_is_left_to_the_phases_that_hold_it() -> None:
    # Phases of 20, 20 and 10 windows: the eleventh place after the start (10, 60) lies in
    # the first two only, both loud there; the third phase's window at that place would run
    # past its end and is not read.
    loudest = np.zeros(200)
    loudest[[10, 60]] = 1.0
    spans = np.array([[0.0, 0.3], [0.5, 0.8], [1.0, 1.2]])
    assert _murmur._recurring_peak(loudest, spans, 0.0, 0.0) == 1.0


def test_a_single_window_is_read() -> None:
    # An envelope of 11 samples holds one 110 ms window, and a phase of 0.11 s holds it.
    assert _murmur._recurring_peak(np.array([0.5]), np.array([[0.0, 0.11]]), 0.0, 0.0) == 0.5


def test_of_equal_ratios_naming_opposite_phases_the_first_measure_is_kept() -> None:
    # Systole at 1 % of the sounds' level, diastole silent but for 160 ms at 7 % before each
    # S1: its loudest windows read (0.07 + 0.05) / (0.01 + 0.05) = 2, diastolic; beat by beat
    # the middle thirds read (0.01 + 0.01) / 0.01 = 2, systolic. The loudest windows come
    # first (after the whole phases, 1.2): the tie is theirs, not the louder-named phase's.
    env = np.zeros(1300)
    for k in range(12):
        env[100 * k + 5 : 100 * k + 26] = 0.01
        env[100 * k + 78 : 100 * k + 94] = 0.07
    for t in range(0, 1300, 100):
        env[max(t - 2, 0) : t + 3] = env[t + 28 : t + 33] = 1.0
    s1 = [float(k) for k in range(13)]
    sounds = _sounds(s1, [t + 0.3 for t in s1[:-1]])
    systoles, diastoles = _murmur.phases(sounds)
    assert _murmur._paired_ratio(env, systoles, diastoles, 1.0) == (2.0, "systolic")
    assert _murmur.murmur_contrast(env, sounds, []) == (2.0, "diastolic")
