"""The half-rate guard on an irregular chain: one sound per beat of an AF-like rhythm.

An irregular rhythm read at half rate labels whole beats "systole" and "diastole" in turn;
the medians of a few such beats differ by up to a quarter of the chain's cycle, so the guard
counts such a chain as evenly spaced that far when its systole is already too long for its
rate and its two "sounds" are alike (docs/accuracy.md, thirtieth round, s49-fastheart).
Envelopes by hand at 100 Hz, a floor of 0.1 and the chain's sounds at 1.0 unless told (nothing
between or beside them: no partner is found).
Times are multiples of 1/16 s where a bound must be hit exactly.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal._half_rate import _spaced_as_half, guard_half_rate, phase_medians
from stetho_signal.envelope import CycleEstimate, expected_systole_s
from stetho_signal.segmentation import HeartSounds

FS = 100.0
_CYCLE = CycleEstimate(period_s=1.25, systole_s=0.4, periodicity=0.7)


def _chain(systoles: list[float], diastoles: list[float], s2_first: bool = False) -> HeartSounds:
    """S1 and S2 in turn from 0.25 s, the phases as given, as many of each (``s2_first``: an
    S2 opens the chain and a diastole comes first)."""
    pairs = (
        zip(diastoles, systoles, strict=True) if s2_first else zip(systoles, diastoles, strict=True)
    )
    times = 0.25 + np.concatenate([[0.0], np.cumsum(list(itertools.chain.from_iterable(pairs)))])
    first, second = (times[1::2], times[0::2]) if s2_first else (times[0::2], times[1::2])
    return HeartSounds(s1_s=first, s2_s=second)


def _envelope(sounds: HeartSounds, s1_level: float = 1.0) -> NDArray[np.float64]:
    """The floor, each S2 at 1.0 and each S1 at ``s1_level``."""
    env = np.full(round(FS * (max(sounds.s1_s.max(), sounds.s2_s.max()) + 1.0)), 0.1)
    env[np.round(FS * sounds.s2_s).astype(int)] = 1.0
    env[np.round(FS * sounds.s1_s).astype(int)] = s1_level
    return env


def _doubled(sounds: HeartSounds, s1_level: float = 1.0) -> bool:
    _, faster = guard_half_rate(_envelope(sounds, s1_level), FS, sounds, _CYCLE)
    return faster.period_s < _CYCLE.period_s


def _spacing(sounds: HeartSounds) -> float:
    medians = phase_medians(sounds)
    assert medians is not None
    return abs(medians[0] - medians[1]) / sum(medians)


# Whole beats of an AF-like rhythm near 96/min, labelled S1 and S2 in turn: median "systole"
# 0.5 s (1.27 times Weissler's for the chain's 1.25 s cycle), "diastole" 0.75 s.
_AF_SYSTOLES = [0.5, 0.625, 0.4375, 0.5, 0.6875]
_AF_DIASTOLES = [0.75, 0.875, 0.5625, 0.75, 1.0]


def test_an_irregular_rhythm_read_at_half_with_uneven_phases_is_doubled() -> None:
    sounds = _chain(_AF_SYSTOLES, _AF_DIASTOLES)
    assert _spacing(sounds) == pytest.approx(0.2)  # over the regular bound, 0.1
    assert 1.15 * expected_systole_s(1.25) <= 0.5
    guarded, faster = guard_half_rate(_envelope(sounds), FS, sounds, _CYCLE)
    assert faster.period_s == pytest.approx(0.625)
    np.testing.assert_array_equal(guarded.s1_s, np.sort(np.concatenate([sounds.s1_s, sounds.s2_s])))


def test_a_regular_chain_with_the_same_phases_is_not_doubled() -> None:
    sounds = _chain([0.5] * 5, [0.75] * 5)
    assert _spacing(sounds) == pytest.approx(0.2)
    assert not _doubled(sounds)


def test_an_irregular_chain_with_a_systole_fit_for_its_rate_is_not_doubled() -> None:
    # The same rhythm at 0.64 times the timing: a 0.32 s systole in a 0.8 s cycle, under 1.15
    # times Weissler's 0.34 s.
    sounds = _chain([0.64 * s for s in _AF_SYSTOLES], [0.64 * d for d in _AF_DIASTOLES])
    assert _spacing(sounds) == pytest.approx(0.2)
    assert not _doubled(sounds)


def test_phases_a_quarter_of_the_cycle_apart_are_even_enough_and_wider_not() -> None:
    # Median systole 0.625 s, diastole 0.375 s: exactly 0.25 of the 1 s cycle apart.
    at_bound = _chain([0.5625, 0.625, 0.6875, 0.625], [0.25, 0.375, 0.5, 0.375])
    assert _spacing(at_bound) == 0.25
    assert _doubled(at_bound)
    past = _chain([0.5625, 0.625, 0.6875, 0.625], [0.25, 0.3125, 0.5, 0.3125])
    assert _spacing(past) > 0.25
    assert not _doubled(past)


def test_an_nrmssd_of_exactly_the_triage_bound_is_not_irregular() -> None:
    # S1-S1 intervals 1.1875 and 1.3125 s in turn: successive differences 0.125 s over a mean
    # of 1.25 s, exactly 0.1; 1.125 and 1.375 s: 0.2.
    steady = _chain([0.5] * 4, [0.6875, 0.8125, 0.6875, 0.8125])
    assert _spacing(steady) == pytest.approx(0.2)
    assert not _doubled(steady)
    assert _doubled(_chain([0.5] * 4, [0.625, 0.875, 0.625, 0.875]))


def test_four_s1_s1_intervals_are_enough_and_three_are_not() -> None:
    # As the rhythm's own measure (heart._MIN_INTERVALS_FOR_RHYTHM): a short clip's few beats
    # and noise peaks have no measured rhythm.
    four = _chain([0.5] * 4, [0.625, 0.875, 0.625, 0.875])
    assert four.s1_s.size == 5
    assert _doubled(four)
    three = _chain([0.5] * 3, [0.625, 0.875, 0.75])
    assert three.s1_s.size == 4
    assert _spacing(three) == pytest.approx(0.2)
    assert not _doubled(three)
    # S2 first: four phases of each, three S1-S1 intervals.
    opened = _chain([0.5] * 4, [0.625, 0.875, 0.625, 0.875], s2_first=True)
    assert opened.s1_s.size == 4
    assert not _doubled(opened)


def test_sounds_alike_within_1_35_either_way_and_no_further() -> None:
    sounds = _chain(_AF_SYSTOLES, _AF_DIASTOLES)
    assert _doubled(sounds, 1.35)
    assert not _doubled(sounds, 1.375)
    assert _doubled(sounds, 0.75)  # S2s 1.33 times the S1s
    assert not _doubled(sounds, 0.625)  # 1.6 times


def test_silent_s1s_are_not_alike() -> None:
    # A level ratio of 0: no inverse to take, and nothing alike.
    assert not _doubled(_chain(_AF_SYSTOLES, _AF_DIASTOLES), 0.0)


def _around(systole: float, diastole: float) -> HeartSounds:
    """An irregular chain whose median phases are ``systole`` and ``diastole``."""
    return _chain(
        [systole - 0.125, systole, systole + 0.125, systole],
        [diastole - 0.125, diastole + 0.125, diastole, diastole],
    )


def test_the_widened_test_doubles_only_into_rates_under_131() -> None:
    # Cycles of 0.9375 s and 0.875 s: doubled, 128 and 137/min; both chains' systoles too long
    # for their rate and their phases 0.2 and 0.14 of the cycle apart.
    under = _around(0.5625, 0.375)
    assert phase_medians(under) == (0.5625, 0.375)
    assert _doubled(under)
    over = _around(0.5, 0.375)
    assert phase_medians(over) == (0.5, 0.375)
    assert not _doubled(over)


def test_a_doubled_rate_of_exactly_131_is_not_under_131() -> None:
    # The phases given as measured: 0.55 s and the rest of a cycle of 120/131 s (doubled,
    # exactly 131/min), and of 120/130.5 s (130.5/min); the chain irregular and alike.
    sounds = _chain(_AF_SYSTOLES, _AF_DIASTOLES)
    env = _envelope(sounds)
    at_bound = (0.55, 120.0 / 131.0 - 0.55)
    assert 120.0 / sum(at_bound) == 131.0
    assert not _spaced_as_half(env, sounds, at_bound, too_long=True)
    under = (0.55, 120.0 / 130.5 - 0.55)
    assert _spaced_as_half(env, sounds, under, too_long=True)
