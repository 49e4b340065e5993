"""The opening-snap measure at its exact edges, on murmur-band magnitudes made by hand.

The magnitude runs at 500 Hz, the analysis's own rate: the 10 ms smoothing spans 5 samples,
the S2 search +-20, the snap window 20-60 samples after the S2's peak. A sound is a plateau of
5 samples: smoothed, it peaks at its centre at its own level, with ramps either side. Levels
are binary fractions, so a bound (0.4 of S2, half the snap, 2.5 times the median) is hit
exactly; the floor, 0.0625, is the median.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal._snap import SnapMeasure, snap_after_s2

RATE = 500.0
FLOOR = 0.0625


def _magnitude(n: int, sounds: list[tuple[int, float]], width: int = 5) -> NDArray[np.float64]:
    """The floor, and a plateau of ``width`` samples centred on each (sample, level)."""
    x = np.full(n, FLOOR)
    for centre, level in sounds:
        x[max(centre - width // 2, 0) : centre + (width + 1) // 2] = level
    return x


def _s(*samples: int) -> NDArray[np.float64]:
    return np.asarray(samples, dtype=np.float64) / RATE


def _beats(s2: list[int], snaps: list[tuple[int, float]], n: int = 1000) -> SnapMeasure | None:
    """S2s of level 2 at the given samples (each followed by an S1 400 ms later) and the given
    second sounds."""
    x = _magnitude(n, [(c, 2.0) for c in s2] + snaps)
    return snap_after_s2(x, RATE, _s(*s2), _s(*[c + 200 for c in s2]))


def test_two_s2s_are_enough_to_measure() -> None:
    assert _beats([100, 500], [(130, 1.0), (530, 1.0)]) == SnapMeasure(1.0, 0.06, 2)


def test_the_share_and_the_delay_are_given_to_three_digits() -> None:
    # Three S2s, one snap: a third, 0.333.
    measure = _beats([100, 400, 700], [(130, 1.0)])
    assert measure == SnapMeasure(0.333, 0.06, 3)


def test_the_delay_is_given_to_the_ms() -> None:
    # At 400 Hz a snap 25 samples on is 62.5 ms: reported as 0.062 s (to the even ms).
    x = np.full(800, FLOOR)
    for start in (100, 125, 400, 425):
        x[start - 2 : start + 2] = 2.0 if start in (100, 400) else 1.0
    measure = snap_after_s2(x, 400.0, np.array([0.25, 1.0]), np.array([1.0, 1.75]))
    assert measure == SnapMeasure(1.0, 0.062, 2)


@pytest.mark.parametrize("offset", [-20, 20])
def test_the_s2_is_timed_from_its_peak_up_to_40_ms_off_its_labelled_centre(offset: int) -> None:
    x = _magnitude(1000, [(100 + offset, 2.0), (130 + offset, 1.0)])
    x += _magnitude(1000, [(500 + offset, 2.0), (530 + offset, 1.0)]) - FLOOR
    measure = snap_after_s2(x, RATE, _s(100, 500), _s(300, 700))
    assert measure == SnapMeasure(1.0, 0.06, 2)


def test_a_louder_sound_42_ms_after_the_labelled_s2_is_its_snap() -> None:
    # 21 samples on: out of the S2's reach (its rise at 20 samples stays under the S2), so
    # the S2 is timed from its own peak, and the louder sound is the second one.
    assert _beats([100, 500], [(121, 2.25), (521, 2.25)]) == SnapMeasure(1.0, 0.042, 2)


def test_a_flat_s2_is_timed_from_the_start_of_its_loudest_stretch() -> None:
    # 7 samples of S2: smoothed, 3 samples at its level; the snap 30 samples after the first.
    x = _magnitude(1000, [(100, 2.0), (500, 2.0)], width=7)
    x[127:132] = x[527:532] = 1.0
    measure = snap_after_s2(x, RATE, _s(100, 500), _s(300, 700))
    assert measure == SnapMeasure(1.0, 0.06, 2)


def test_s2s_at_either_end_of_the_recording_are_read_or_left_out_safely() -> None:
    # An S2 at the first sample (timed from it, whatever louder knock the recording ends
    # on), one in the middle, and one in the last 40 ms: too late to examine.
    x = _magnitude(500, [(0, 2.0), (30, 1.0), (250, 2.0), (280, 1.0)])
    x[0:3] = 2.0
    x[495:] = 4.0
    measure = snap_after_s2(x, RATE, _s(0, 250, 497), _s(100, 350))
    assert measure == SnapMeasure(1.0, 0.06, 2)


def test_an_s2_whose_window_reaches_the_recording_end_is_left_out() -> None:
    # 60 samples after the last S2's peak is the end (1000): not examined; nor one 45 from it.
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0), (940, 2.0)])
    assert snap_after_s2(x, RATE, _s(100, 500, 940), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0), (955, 2.0)])
    assert snap_after_s2(x, RATE, _s(100, 500, 955), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)


def test_an_s1_at_the_s2s_own_time_is_not_the_next_one() -> None:
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0)])
    measure = snap_after_s2(x, RATE, _s(100, 500), _s(100, 300, 700))
    assert measure == SnapMeasure(1.0, 0.06, 2)


def test_a_search_ending_exactly_50_ms_before_the_next_s1_is_examined() -> None:
    end = 500 / RATE + 0.12
    next_s1 = end + 0.05
    while next_s1 - 0.05 > end:
        next_s1 = float(np.nextafter(next_s1, 0.0))
    while next_s1 - 0.05 < end:
        next_s1 = float(np.nextafter(next_s1, 2.0))
    assert next_s1 - 0.05 == end
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0)])
    measure = snap_after_s2(x, RATE, _s(100, 500), np.array([0.6, next_s1]))
    assert measure == SnapMeasure(1.0, 0.06, 2)


def test_a_split_s2_whose_p2_falls_at_40_ms_is_no_snap() -> None:
    # P2 peaks 18 samples (36 ms) after A2: its tail is all the window's start holds.
    assert _beats([100, 500], [(118, 2.0), (518, 2.0)]) == SnapMeasure(0.0, None, 2)


def test_a_sound_still_rising_at_120_ms_is_no_snap() -> None:
    # A later sound (an S3 on its way) whose peak lies past the window.
    assert _beats([100, 500], [(161, 2.0), (561, 2.0)]) == SnapMeasure(0.0, None, 2)


def test_a_second_sound_with_no_dip_before_it_is_no_snap_in_that_beat() -> None:
    # The second beat's sound sits on a murmur from S2 on (0.75, over half of it).
    x = _beats([100, 500], [(130, 1.0), (530, 1.0)])
    assert x == SnapMeasure(1.0, 0.06, 2)
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0)])
    x[503:528] = 0.75
    assert snap_after_s2(x, RATE, _s(100, 500), _s(300, 700)) == SnapMeasure(0.5, 0.06, 2)


def test_a_sound_under_0_4_of_s2_is_no_snap_in_that_beat() -> None:
    # 0.75 of an S2 at 2: 0.375 of it (and over 2.5 times the median, with a dip before).
    assert _beats([100, 500], [(130, 1.0), (530, 0.75)]) == SnapMeasure(0.5, 0.06, 2)


def test_each_bound_holds_with_equality() -> None:
    # A snap exactly 0.4 of S2 (1 of 2.5); a dip exactly half the snap (0.5 under 1); a snap
    # exactly 2.5 times the median (0.15625 over 0.0625, S2 at 0.390625).
    x = _magnitude(1000, [(100, 2.5), (130, 1.0), (500, 2.5), (530, 1.0)])
    assert snap_after_s2(x, RATE, _s(100, 500), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)
    x = _magnitude(1000, [(100, 2.0), (130, 1.0), (500, 2.0), (530, 1.0)])
    x[103:128] = x[503:528] = 0.5
    assert snap_after_s2(x, RATE, _s(100, 500), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)
    x = _magnitude(1000, [(100, 0.390625), (130, 0.15625), (500, 0.390625), (530, 0.15625)])
    assert snap_after_s2(x, RATE, _s(100, 500), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)


def test_a_loud_snap_needs_a_dip_of_half_its_own_level() -> None:
    # A snap at 2 over a stretch at 0.75: under half of it (1), a snap.
    x = _magnitude(1000, [(100, 4.0), (130, 2.0), (500, 4.0), (530, 2.0)])
    x[103:128] = x[503:528] = 0.75
    assert snap_after_s2(x, RATE, _s(100, 500), _s(300, 700)) == SnapMeasure(1.0, 0.06, 2)


def test_the_bounds_are_read_in_float64_on_the_analysiss_float32_magnitude() -> None:
    # The analysis gives the murmur band's magnitude in float32. A snap rounded to float32
    # just under 0.4 of its S2 is under the bound (in float32 arithmetic it would reach it).
    s2_level = np.float32(1.9857501)
    snap_level = np.float32(0.4 * float(s2_level))
    assert float(snap_level) < 0.4 * float(s2_level)
    x = np.full(1000, FLOOR, dtype=np.float32)
    for centre in (100, 500):
        x[centre - 2 : centre + 3] = s2_level
        x[centre + 28 : centre + 33] = snap_level
    measure = snap_after_s2(x, RATE, _s(100, 500), _s(300, 700))
    assert measure == SnapMeasure(0.0, None, 2)
