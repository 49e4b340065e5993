"""The half-rate guard at its exact edges, on envelopes and chains made by hand.

The envelope runs at 100 Hz on a floor of 0.1 (its median): the chain's sounds stand at 1.0,
a sound between them at 0.5, over both the guard's levels (2 and 1.5 times the median). Where
a bound must be hit exactly, a time or a phase is a float the test computes (a systole exactly
1.15 of Weissler's, a doubled rate of exactly 220/min) or a binary fraction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal._half_rate import (
    _between_level,
    _partners,
    _sounds_between,
    diastole_follows_cycle,
    evenly_spaced,
    guard_half_rate,
    level_ratio,
    phase_medians,
    systole_if_half_rate,
)
from stetho_signal.envelope import CycleEstimate, expected_systole_s
from stetho_signal.segmentation import HeartSounds

FS = 100.0


def _envelope(
    duration_s: float, loud: Sequence[float], between: Sequence[float] = (), level: float = 0.5
) -> NDArray[np.float64]:
    """A floor of 0.1, a sound of 1.0 at each ``loud`` time and of ``level`` at each
    ``between`` time (one sample each: a peak)."""
    env = np.full(round(FS * duration_s), 0.1)
    env[np.round(FS * np.asarray(loud, dtype=np.float64)).astype(int)] = 1.0
    if len(between):
        env[np.round(FS * np.asarray(between, dtype=np.float64)).astype(int)] = level
    return env


def _sounds(s1: list[float], s2: list[float]) -> HeartSounds:
    return HeartSounds(s1_s=np.asarray(s1, dtype=np.float64), s2_s=np.asarray(s2, dtype=np.float64))


def _regular(systole: float, diastole: float, beats: int) -> HeartSounds:
    s1 = [k * (systole + diastole) for k in range(beats)]
    return _sounds(s1, [t + systole for t in s1])


def _all(sounds: HeartSounds) -> list[float]:
    return sorted([*sounds.s1_s.tolist(), *sounds.s2_s.tolist()])


def _middles(sounds: HeartSounds) -> list[float]:
    """The middle of every phase of the chain."""
    times = _all(sounds)
    return [(a + b) / 2.0 for a, b in itertools.pairwise(times)]


# ---- the chain's phases and the two sounds' levels


def test_two_systoles_and_two_diastoles_are_enough_for_the_phases() -> None:
    # S1 S2 S1 S2 S1: two of each; the medians are the phases.
    medians = phase_medians(_sounds([0.0, 0.7, 1.4], [0.3, 1.0]))
    assert medians == pytest.approx((0.3, 0.4))


def test_one_systole_gives_no_phases_even_with_two_diastoles() -> None:
    # S2 S1 S2 S1: the first S2 has no S1 before it, the last S1 no S2 after it.
    assert phase_medians(_sounds([0.4, 1.1], [0.0, 0.7])) is None


def test_an_s2_at_an_s1s_own_time_ends_no_phase() -> None:
    # A partner found at another sound's time (the guard's search may return a chain sound):
    # the phases run to the next sound of the other label, none is of zero length.
    assert phase_medians(_sounds([0.0, 0.8, 1.6], [0.3, 0.8, 1.1])) == pytest.approx((0.3, 0.5))
    assert phase_medians(_sounds([0.0, 0.8, 1.6], [0.3, 0.8, 1.9])) == pytest.approx((0.3, 0.65))


def test_the_level_ratio_is_the_s1s_over_the_s2s() -> None:
    sounds = _sounds([0.5], [0.8])  # one of each is enough
    env = np.full(200, 0.1)
    env[50], env[80] = 1.0, 0.5
    assert level_ratio(env, sounds) == 2.0


def test_no_level_ratio_over_silent_s2s() -> None:
    env = np.full(200, 0.1)
    env[80] = 0.0
    assert level_ratio(env, _sounds([0.5], [0.8])) is None


def test_no_half_rate_sign_from_a_zero_level_ratio() -> None:
    # Silent S1s make a ratio of 0: not two alike sounds, and no division by it.
    assert systole_if_half_rate(80.0, 0.375, 0.375, 0.0) is None


def test_phases_within_a_tenth_of_the_cycle_are_even_the_bound_included() -> None:
    # 0.6875 - 0.5625 = 0.125, exactly a tenth of 1.25 in binary.
    assert evenly_spaced(0.5625, 0.6875)
    assert not evenly_spaced(0.5625, 0.6876)


# ---- sounds in the middle of the chain's phases


def test_two_phases_of_each_are_enough_for_the_share_between() -> None:
    sounds = _sounds([0.5, 1.1, 1.7], [0.8, 1.4])  # the first S2 is the fourth sound read
    env = _envelope(2.5, _all(sounds), _middles(sounds))
    assert _sounds_between(env, FS, sounds, 2.0) == 1.0


def test_under_two_diastoles_there_is_no_share_between() -> None:
    sounds = _sounds([0.5, 1.1], [0.8, 1.4])  # two systoles, one diastole
    env = _envelope(2.0, _all(sounds), _middles(sounds))
    assert _sounds_between(env, FS, sounds, 2.0) == 0.0


def test_a_gap_of_one_and_a_half_median_gaps_is_a_phase_and_longer_is_a_restart() -> None:
    # Gaps of 0.25 s (binary fractions: the bound is hit exactly). Every phase holds a sound
    # in its middle but two diastoles: one of 0.375 s (1.5 gaps: a phase, counted empty) and
    # one of 0.5 s (the chain restarted: not a phase).
    s1 = [0.0, 0.5, 1.0, 1.625, 2.125, 2.875, 3.375, 3.875]
    s2 = [0.25, 0.75, 1.25, 1.875, 2.375, 3.125, 3.625]
    sounds = _sounds(s1, s2)
    times = _all(sounds)
    empty = {(1.25, 1.625), (2.375, 2.875)}
    pairs = list(itertools.pairwise(times))
    env = _envelope(4.5, times, [(a + b) / 2 for a, b in pairs if (a, b) not in empty])
    # Diastoles: five with a sound, the 1.5-gap one without; systoles: all seven hold one.
    assert _sounds_between(env, FS, sounds, 2.0) == 5 / 6


def test_an_s1_after_an_s1_is_not_a_phase() -> None:
    # A sound missed: the S1 to S1 stretch holds nothing, and is neither phase.
    sounds = _sounds([0.0, 0.5, 0.75, 1.25], [0.25, 1.0, 1.5])
    times = _all(sounds)
    pairs = list(itertools.pairwise(times))
    env = _envelope(2.0, times, [(a + b) / 2 for a, b in pairs if (a, b) != (0.5, 0.75)])
    assert _sounds_between(env, FS, sounds, 2.0) == 1.0


def test_a_middle_of_three_envelope_samples_is_read() -> None:
    # The fewest samples a peak needs: phases of 0.6 s on a 10 Hz envelope, their middle half
    # from 0.17 to 0.47 s after each sound (samples 2, 3, 4 after the first).
    s1 = [0.02, 1.22, 2.42]
    sounds = _sounds(s1, [t + 0.6 for t in s1[:2]])
    env = np.full(30, 0.1)
    for t in _all(sounds):
        env[round(10 * t)] = 1.0
    for t in _middles(sounds):
        env[round(10 * t)] = 0.5
    assert _sounds_between(env, 10.0, sounds, 2.0) == 1.0


# ---- the partner sought a systole after (or before) each sound


def test_the_highest_partner_over_twice_the_median_a_systole_after_each_sound() -> None:
    # Systole 0.3 s, half beat 1 s: sought 0.15-0.45 s after each sound. After the first, two
    # bumps, the earlier the higher; after the second only one under twice the median; after
    # the third two bumps, the later the higher.
    env = _envelope(4.0, [0.5, 1.5, 2.5], [0.7, 2.8])
    env[80], env[180], env[270] = 0.3, 0.15, 0.3
    found = _partners(env, FS, np.array([0.5, 1.5, 2.5]), 0.3, 1.0, 1.0)
    np.testing.assert_array_equal(found, [0.7, 2.8])


def test_a_sound_with_no_room_before_it_is_passed_over_not_the_end_of_the_search() -> None:
    env = _envelope(3.0, [0.0, 1.0, 2.0], [0.7, 1.7])
    found = _partners(env, FS, np.array([0.0, 1.0, 2.0]), 0.3, 1.0, -1.0)
    np.testing.assert_array_equal(found, [0.7, 1.7])


def test_a_partner_ten_ms_into_the_recording_is_found() -> None:
    env = _envelope(1.0, [0.2], [0.01])
    np.testing.assert_array_equal(_partners(env, FS, np.array([0.2]), 0.3, 1.0, -1.0), [0.01])


def test_a_search_of_three_samples_at_the_recording_end_is_read() -> None:
    # 0.15 s after the sound at 0.82 leaves samples 97-99: the partner at 98 is read.
    env = _envelope(1.0, [0.82], [0.98])
    np.testing.assert_array_equal(_partners(env, FS, np.array([0.82]), 0.3, 1.0, 1.0), [0.98])


def test_a_partner_is_sought_no_further_than_one_and_a_half_expected_systoles() -> None:
    # A slow read (half beat 1.5 s): Weissler's bound, 1.5 x 0.412 s = 0.62 s, comes before
    # half the beat (0.75 s); a sound 0.7 s after is not the S2.
    systole = expected_systole_s(1.5)
    env = _envelope(3.0, [0.5], [1.2])
    assert _partners(env, FS, np.array([0.5]), systole, 1.5, 1.0).size == 0
    env = _envelope(3.0, [0.5], [1.0])
    np.testing.assert_array_equal(_partners(env, FS, np.array([0.5]), systole, 1.5, 1.0), [1.0])


# ---- the guard's decision


_CYCLE = CycleEstimate(period_s=1.0, systole_s=0.3, periodicity=0.7)


def _exactly_long_chain(period: float) -> HeartSounds:
    """Three beats whose median systole is exactly 1.15 of Weissler's for ``period`` and
    whose median period is exactly ``period`` (the first beat's, the others a hair around)."""
    systole = 1.15 * expected_systole_s(period)
    s1 = [0.0, period, 2.0 * period + 0.02, 3.0 * period + 0.01]
    s2 = [systole, period + systole - 0.01, 2.0 * period + 0.02 + systole + 0.01]
    return _sounds(s1, s2)


def test_a_systole_exactly_1_15_of_weisslers_is_read_at_twice_the_rate() -> None:
    # 80/min, phases 0.377 and 0.373 s: evenly spaced, the systole too long for 80/min. No
    # sound between or beside: the sounds are the S1s of a heart at 160/min.
    sounds = _exactly_long_chain(0.75)
    assert phase_medians(sounds) == (1.15 * expected_systole_s(0.75), 0.75 - 1.15 * 0.328)
    env = _envelope(3.0, _all(sounds))
    guarded, faster = guard_half_rate(env, FS, sounds, _CYCLE)
    np.testing.assert_array_equal(guarded.s1_s, _all(sounds))
    assert guarded.s2_s.size == 0
    assert faster == CycleEstimate(0.375, expected_systole_s(0.375), 0.7)


def test_uneven_phases_are_never_doubled_however_long_the_systole() -> None:
    # Systole 0.5 s, diastole 0.3 s: far longer than Weissler's 0.34 s at 75/min, but the
    # phases differ by a quarter of the cycle: a true S1 and S2.
    sounds = _regular(0.5, 0.3, 5)
    env = _envelope(4.5, _all(sounds))
    assert guard_half_rate(env, FS, sounds, _CYCLE) == (sounds, _CYCLE)


def test_a_chain_at_120_is_not_doubled_to_240_whatever_lies_between() -> None:
    sounds = _regular(0.25, 0.25, 8)
    env = _envelope(4.5, _all(sounds), _middles(sounds))
    assert guard_half_rate(env, FS, sounds, _CYCLE) == (sounds, _CYCLE)


def test_a_chain_at_109_with_sounds_between_is_doubled_to_218() -> None:
    # Its double, 218/min, is still a heart rate (the guard's bound: 220/min).
    sounds = _regular(0.28, 0.27, 8)
    env = _envelope(4.5, _all(sounds), _middles(sounds))
    _, faster = guard_half_rate(env, FS, sounds, _CYCLE)
    assert faster.period_s == pytest.approx(0.275)


def test_sounds_between_half_the_systoles_are_enough_to_double() -> None:
    # 75/min, phases 0.38 and 0.42 s (a systole under 1.15 of Weissler's 0.34 s): a sound
    # in the middle of every diastole and of two of the four systoles, exactly half.
    s1 = [0.8 * k for k in range(5)]
    sounds = _sounds(s1, [t + 0.38 for t in s1[:4]])
    middles = _middles(sounds)
    env = _envelope(4.5, _all(sounds), [m for k, m in enumerate(middles) if k not in (0, 2)])
    assert _sounds_between(env, FS, sounds, 2.0) == 0.5
    _, faster = guard_half_rate(env, FS, sounds, _CYCLE)
    assert faster.period_s == pytest.approx(0.4)


# ---- how clear a sound between must be


def _level(spacing: tuple[float, float], sounds: HeartSounds) -> float:
    env = _envelope(sounds.s1_s[-1] + 1.0, _all(sounds))
    return _between_level(env, sounds, spacing)


def test_a_fainter_sound_between_is_enough_up_to_a_doubled_rate_of_220() -> None:
    # Alike sounds, evenly spaced, systole at least Weissler's: at 109/min (double 218) the
    # fainter level; at 120/min (double 240, no heart rate) not.
    assert _level((0.27, 0.28), _regular(0.27, 0.28, 20)) == 1.5
    assert _level((0.25, 0.25), _regular(0.25, 0.25, 20)) == 2.0


def _weissler_systole(diastole: float) -> float:
    """The systole exactly as long as Weissler's for its cycle with ``diastole``."""
    systole = 0.35
    for _ in range(200):
        systole = expected_systole_s(systole + diastole)
    assert systole / expected_systole_s(systole + diastole) == 1.0
    return systole


def test_a_systole_exactly_weisslers_carries_the_sign_unless_the_diastole_varies() -> None:
    # 90/min: phases 0.307 and 0.36 s. A regular chain: the fainter level. One whose diastole
    # takes the beat-to-beat changes while its systole holds: a true read, the usual level.
    spacing = (_weissler_systole(0.36), 0.36)
    assert _level(spacing, _regular(0.31, 0.36, 30)) == 1.5
    rng = np.random.default_rng(1)
    diastoles = np.round(0.36 * (1.0 + 0.2 * rng.standard_normal(30)), 2)
    s1 = np.concatenate([[0.0], np.cumsum(0.31 + diastoles)])
    varying = _sounds(s1.tolist(), (s1[:-1] + 0.31).tolist())
    assert diastole_follows_cycle(varying) is True
    assert _level(spacing, varying) == 2.0


# ---- the cue read on the envelope's grid


def test_rounding_to_the_envelope_grid_alone_says_nothing_of_the_phases() -> None:
    # A regular 90/min rhythm read on 10 ms steps: cycles alternate 0.66 and 0.67 s with the
    # systole in step, a perfect slope that rounding made.
    s1 = np.cumsum([0.0] + [0.66, 0.67] * 15)
    systoles = np.tile([0.3, 0.31], 16)[: s1.size]
    assert diastole_follows_cycle(_sounds(s1.tolist(), (s1 + systoles).tolist())) is None


def test_a_diastole_varying_a_few_samples_on_the_grid_follows_the_cycle() -> None:
    # Diastoles of 0.34-0.38 s (+-2 steps of 10 ms), the systole held at 0.3 s: more spread
    # than rounding to 10 ms gives (but not to 20 ms).
    diastoles = np.tile([0.34, 0.36, 0.38, 0.36, 0.35, 0.37], 5)
    s1 = np.concatenate([[0.0], np.cumsum(0.3 + diastoles)])
    sounds = _sounds(s1.tolist(), (s1[:-1] + 0.3).tolist())
    assert diastole_follows_cycle(sounds) is True
