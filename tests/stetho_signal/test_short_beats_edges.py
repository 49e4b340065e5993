"""Short beats at their exact edges: when a chain is irregular enough to search again, which
intervals count as beats, which sounds are clear, and how a sound's shape is read.

The chains here sit on an envelope sampled at 64 Hz, so that every time and every S1-S1
interval is a binary fraction and a bound can be hit exactly: an S1 is a broad, asymmetric
sound, an S2 a narrow one, each confined to a sound's shape window (+-5 samples, 80 ms) so
that every S1 has the same shape as every other, and every S2 likewise. Under the bound, a
chain is searched again only for a whole beat it left out of a diastole (eighteenth round).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from stetho_signal import _short_beats
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import LOUD_LEVEL, PEAK_FLOOR, Candidates
from stetho_signal._short_beats import (
    _SHAPE_REACH_S,
    IRREGULAR_CHAIN,
    _correlation,
    _shapes,
    left_in_diastoles,
    short_beats,
)

FS_HZ = 64.0
STEP_S = 1.0 / FS_HZ
REACH = round(_SHAPE_REACH_S * FS_HZ)  # 5 samples
S1_SHAPE = np.array([0.0, 0.1, 0.4, 0.8, 0.95, 1.0, 0.9, 0.85, 0.6, 0.3, 0.1])
S2_SHAPE = np.array([0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 0.2, 0.0, 0.0, 0.0, 0.0])
SYSTOLE = 19  # samples, ~0.3 s
BACKGROUND = 0.02
# The reward of a sound as loud as the typical one (relative height 1).
FULL = 2.0 * (1.0 - PEAK_FLOOR)


def _reward(relative: float) -> float:
    """A candidate's reward at ``relative`` times the typical heart sound's height."""
    return 2.0 * (relative - PEAK_FLOOR)


def _chain(
    intervals: tuple[int, ...],
    extra: tuple[tuple[int, float, bool], ...] = (),
    *,
    reward: float = FULL,
    s2_shape: np.ndarray = S2_SHAPE,
    with_s2: bool = True,
    extra_s2: tuple[tuple[int, float], ...] = (),
    s2_count: int | None = None,
    lead_s2: bool = False,
) -> tuple[np.ndarray, Candidates, np.ndarray, np.ndarray]:
    """Envelope, candidates and chain (candidate indices, labels) of S1s ``intervals`` samples
    apart, each followed by an S2 (unless not ``with_s2``; only the first ``s2_count`` if
    given; ``lead_s2``: the chain starts with an S2 12 samples before its first S1), every
    chain sound at ``reward``; ``extra`` adds S1-shaped sounds the chain leaves out, as
    (sample, reward, weak), ``extra_s2`` S2-shaped ones, as (sample, reward)."""
    s1 = 20 + np.concatenate([[0], np.cumsum(intervals)]).astype(int)
    sounds = [(int(a), S1, reward, False) for a in s1]
    if with_s2:
        sounds += [(int(a) + SYSTOLE, S2, reward, False) for a in s1[:s2_count]]
    if lead_s2:
        sounds.append((int(s1[0]) - 12, S2, reward, False))
    sounds += [(at, -1, r, weak) for at, r, weak in extra]
    sounds += [(at, -2, r, False) for at, r in extra_s2]
    sounds.sort()
    env = np.full(int(s1[-1]) + 40, BACKGROUND)
    for at, mark, _, _ in sounds:
        env[at - REACH : at + REACH + 1] += s2_shape if mark in (S2, -2) else S1_SHAPE
    cands = Candidates(
        times_s=np.array([at for at, _, _, _ in sounds]) * STEP_S,
        reward=np.array([r for _, _, r, _ in sounds]),
        weak=np.array([weak for _, _, _, weak in sounds]),
        low=np.zeros(len(sounds), dtype=bool),
        step_s=STEP_S,
    )
    chain = [(i, mark) for i, (_, mark, _, _) in enumerate(sounds) if mark >= 0]
    peaks = np.array([i for i, _ in chain], dtype=np.intp)
    marks = np.array([mark for _, mark in chain], dtype=np.intp)
    return env, cands, peaks, marks


def _searched(intervals: tuple[int, ...], period_s: float) -> bool:
    env, cands, peaks, marks = _chain(intervals)
    return short_beats(peaks, marks, cands, env, period_s) is not None


def _nrmssd(intervals: tuple[float, ...]) -> float:
    gaps = np.asarray(intervals)
    return float(np.sqrt(np.mean(np.diff(gaps) ** 2)) / np.mean(gaps))


# ---- When a chain is irregular enough to search again


def test_a_chain_exactly_at_the_irregularity_bound_is_not_searched_again() -> None:
    # 0.875 and 1.125 s alternating: RMSSD 0.25 s, mean 1 s, exactly IRREGULAR_CHAIN.
    intervals = (56, 72) * 3
    assert _nrmssd(tuple(k * STEP_S for k in intervals)) == IRREGULAR_CHAIN
    assert not _searched(intervals, 1.0)


def test_a_chain_a_hair_over_the_irregularity_bound_is_searched_again() -> None:
    # As above, every other S1 a microsecond early: the short intervals shorter, the long longer.
    env, cands, peaks, marks = _chain((56, 72) * 3)
    times = cands.times_s.copy()
    s1 = peaks[marks == S1]
    times[s1[1::2]] -= 1e-6
    nudged = Candidates(times, cands.reward, cands.weak, cands.low, step_s=STEP_S)
    assert _nrmssd(tuple(np.diff(times[s1]))) > IRREGULAR_CHAIN
    assert short_beats(peaks, marks, nudged, env, 1.0) is not None


@pytest.mark.parametrize(
    ("intervals", "searched"),
    [
        ((40, 64, 40, 64, 40), True),  # six S1s, five intervals: enough to judge
        ((40, 64, 40, 64), False),  # five S1s, four intervals: too few
    ],
)
def test_five_beat_intervals_are_enough_to_call_a_chain_irregular(
    intervals: tuple[int, ...], searched: bool
) -> None:
    assert _searched(intervals, 1.0) is searched


# Cycle 1.25 s: an interval is read as one beat from 0.625 s (40 samples) to 2.0 s (128).
@pytest.mark.parametrize(
    ("odd_one", "searched"),
    [
        (40, True),  # exactly half a cycle: a short beat, counted
        (39, False),  # under it: not one beat, left out (the rest are regular)
        (128, True),  # exactly 1.6 cycles: a long beat, counted
        (129, False),  # over it: a dropped sound or a gap, left out
    ],
)
def test_an_interval_at_the_beat_span_bounds_counts_as_a_beat(odd_one: int, searched: bool) -> None:
    assert _searched((80, 80, odd_one, 80, 80, 80), 1.25) is searched


def test_a_chain_with_a_long_gap_in_it_is_not_called_irregular_for_the_gap() -> None:
    # A 1.5 s stretch without an S1 (a noisy second) in a steady 0.7 s rhythm: not a beat.
    intervals = (45, 45, 45, 96, 45, 45, 45)
    assert not _searched(intervals, 0.7)


def test_an_irregular_chain_with_no_s2_is_not_searched_and_warns_of_nothing() -> None:
    # No S2 template to tell an S1's shape from: None, without a median of nothing.
    env, cands, peaks, marks = _chain((40, 64) * 4, with_s2=False)
    assert np.all(marks == S1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert short_beats(peaks, marks, cands, env, 1.0) is None


def test_an_irregular_chain_with_no_clear_sound_to_shorten_into_is_not_searched() -> None:
    env, cands, peaks, marks = _chain((40, 64) * 4, reward=_reward(0.4))
    assert short_beats(peaks, marks, cands, env, 1.0) is None


# ---- Which sounds a short diastole may end in


@pytest.mark.parametrize(
    ("reward", "weak", "widen"),
    [
        (_reward(1.0), False, True),
        (_reward(LOUD_LEVEL), False, True),  # exactly half the typical sound: clear
        (_reward(LOUD_LEVEL - 1e-9), False, False),  # a hair under it: not clear
        (_reward(0.4), False, False),  # a sound, but a faint one
        (_reward(1.0), True, False),  # no higher than the background's peaks
    ],
)
def test_a_short_diastole_ends_only_in_a_sound_at_least_half_the_typical_one(
    reward: float, weak: bool, widen: bool
) -> None:
    # An S1-shaped sound in the diastole of the second cycle (64 samples), 21 after its S2.
    extra = (20 + 40 + 40, reward, weak)
    env, cands, peaks, marks = _chain((40, 64) * 4, (extra,))
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    at = int(np.argmin(np.abs(cands.times_s - extra[0] * STEP_S)))
    assert beats.s1_like[at]  # shaped like an S1 whatever its loudness
    assert beats.widen[at] is np.bool_(widen)


# A faint S1-shaped sound in the second cycle's diastole (S2 at 79, next S1 at 124), and an
# S2-shaped sound after it. The chain's systole is 19 samples (0.297 s): two spreads of the
# duration model reach 2 * (0.03 + 0.0297) s, 7.6 samples, either side of it.
_FAINT_AT = 90


def _faint_beat(
    s2_after: int | None, *, faint: float = 0.4, weak: bool = False, s2_reward: float = FULL
) -> bool:
    """Whether a short diastole may end in the faint sound at :data:`_FAINT_AT` (relative height
    ``faint``) with an S2-shaped sound (reward ``s2_reward``) ``s2_after`` samples later."""
    extra_s2 = () if s2_after is None else ((_FAINT_AT + s2_after, s2_reward),)
    env, cands, peaks, marks = _chain(
        (40, 64) * 4, ((_FAINT_AT, _reward(faint), weak),), extra_s2=extra_s2
    )
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    at = int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))
    assert beats.s1_like[at]
    return bool(beats.widen[at])


@pytest.mark.parametrize(
    ("s2_after", "widen"),
    [
        (SYSTOLE, True),  # an S1 and its S2: a whole beat
        (SYSTOLE + 7, True),  # within two systolic spreads
        (SYSTOLE - 7, True),
        (SYSTOLE + 8, False),  # beyond them: no beat's S2
        (SYSTOLE - 8, False),
        (None, False),  # a lone faint sound: an S3, a murmur's peak
    ],
)
def test_a_faint_s1_shaped_sound_ends_a_short_diastole_when_its_s2_follows_a_systole_later(
    s2_after: int | None, widen: bool
) -> None:
    assert _faint_beat(s2_after) is widen


@pytest.mark.parametrize(
    ("faint", "weak", "s2_reward", "widen"),
    [
        (0.3 + 1e-6, False, FULL, True),  # a hair over the floor: a sound
        (0.3, False, FULL, False),  # at the floor: no evidence of a sound
        (0.4, True, FULL, False),  # no higher than the background's peaks
        (0.4, False, _reward(LOUD_LEVEL), True),  # the S2 exactly clear
        (0.4, False, _reward(LOUD_LEVEL - 1e-9), False),  # its S2 faint too: nothing vouches
    ],
)
def test_a_faint_beat_needs_a_sound_over_the_floor_and_a_clear_s2(
    faint: float, weak: bool, s2_reward: float, widen: bool
) -> None:
    assert _faint_beat(SYSTOLE, faint=faint, weak=weak, s2_reward=s2_reward) is widen


def test_a_faint_sound_followed_by_an_s1_shaped_one_is_no_beat() -> None:
    # An S1-shaped clear sound a systole later: two extra sounds, not an S1 and its S2.
    env, cands, peaks, marks = _chain(
        (40, 64) * 4, ((_FAINT_AT, _reward(0.4), False), (_FAINT_AT + SYSTOLE, FULL, False))
    )
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    at = int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))
    assert not beats.widen[at]


@pytest.mark.parametrize(("s2_count", "widen"), [(5, True), (4, False)])
def test_a_faint_beat_needs_five_systoles_to_measure_the_chain_s(
    s2_count: int, widen: bool
) -> None:
    # Only the first S1s have their S2: five systoles measure one, four do not.
    env, cands, peaks, marks = _chain(
        (40, 64) * 4,
        ((_FAINT_AT, _reward(0.4), False),),
        extra_s2=((_FAINT_AT + SYSTOLE, FULL),),
        s2_count=s2_count,
    )
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    at = int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))
    assert beats.widen[at] is np.bool_(widen)


def test_a_faint_beat_s2_exactly_at_the_reach_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The spreads set so that the reach is exactly the voucher's offset (8 samples past a
    # systole), then a hair under it.
    env, cands, peaks, marks = _chain(
        (40, 64) * 4,
        ((_FAINT_AT, _reward(0.4), False),),
        extra_s2=((_FAINT_AT + SYSTOLE + 8, FULL),),
    )
    at = int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))
    systole = SYSTOLE * STEP_S
    offset = abs((_FAINT_AT + SYSTOLE + 8) * STEP_S - (cands.times_s[at] + systole))
    spread = 0.03 + 0.1 * systole
    spreads = offset / spread
    while spreads * spread < offset:
        spreads = float(np.nextafter(spreads, np.inf))
    while spreads * spread > offset:
        spreads = float(np.nextafter(spreads, 0.0))
    assert spreads * spread == offset
    monkeypatch.setattr(_short_beats, "_SYSTOLE_SPREADS", spreads)
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None and beats.widen[at]
    monkeypatch.setattr(_short_beats, "_SYSTOLE_SPREADS", float(np.nextafter(spreads, 0.0)))
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None and not beats.widen[at]


def test_a_faint_beat_systole_is_measured_from_s1_to_s2_only() -> None:
    # Twelve S1s, only the first five with an S2: the six S1-S1 links are whole cycles, not
    # systoles, and would move the median systole off the voucher's 19 samples.
    env, cands, peaks, marks = _chain(
        (40, 64) * 5 + (40,),
        ((_FAINT_AT, _reward(0.4), False),),
        extra_s2=((_FAINT_AT + SYSTOLE, FULL),),
        s2_count=5,
    )
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    assert beats.widen[int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))]


def test_a_chain_starting_with_an_s2_still_measures_its_systole() -> None:
    # A recording starting mid-beat: the chain's first sound is an S2.
    env, cands, peaks, marks = _chain(
        (40, 64) * 4,
        ((_FAINT_AT, _reward(0.4), False),),
        extra_s2=((_FAINT_AT + SYSTOLE, FULL),),
        lead_s2=True,
    )
    assert marks[0] == S2
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    assert beats.widen[int(np.argmin(np.abs(cands.times_s - _FAINT_AT * STEP_S)))]


def test_when_s1s_and_s2s_look_alike_the_shape_vetoes_no_clear_sound() -> None:
    # Every sound shaped alike: the S1 and S2 templates tie, and a tie counts as S1-like.
    env, cands, peaks, marks = _chain((40, 64) * 4, s2_shape=S1_SHAPE)
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None
    assert beats.s1_like.all() and beats.widen.all()


# ---- A sound's shape


def _cands_at(samples: list[int]) -> Candidates:
    n = len(samples)
    none = np.zeros(n, dtype=bool)
    return Candidates(np.array(samples) * STEP_S, np.zeros(n), none, none, step_s=STEP_S)


def test_a_sound_shape_is_the_envelope_about_its_peak_in_order_scaled_to_the_peak() -> None:
    env = np.linspace(0.01, 0.6, 40) ** 2  # rising: the order shows, every value under 1
    shapes = _shapes(env, _cands_at([10, 20]))
    assert shapes.shape == (2, 2 * REACH + 1)
    np.testing.assert_allclose(shapes[0], env[10 - REACH : 10 + REACH + 1] / env[10])
    np.testing.assert_allclose(shapes[1], env[20 - REACH : 20 + REACH + 1] / env[20])
    assert shapes[:, REACH].tolist() == [1.0, 1.0]


def test_a_sound_at_the_envelope_first_sample_is_shaped_without_wrapping() -> None:
    env = np.linspace(0.1, 0.5, 30)  # the end, wrapped round, would be louder than the start
    shape = _shapes(env, _cands_at([0]))[0]
    expected = np.concatenate([np.full(REACH, env[0]), env[: REACH + 1]]) / env[0]
    np.testing.assert_allclose(shape, expected)


def test_a_sound_at_the_envelope_last_sample_is_shaped_without_running_off() -> None:
    env = np.linspace(0.5, 0.1, 30)
    shape = _shapes(env, _cands_at([29]))[0]
    expected = np.concatenate([env[-REACH - 1 :], np.full(REACH, env[-1])]) / env[-1]
    np.testing.assert_allclose(shape, expected)


def test_a_silent_stretch_gives_a_flat_shape_not_nan() -> None:
    shapes = _shapes(np.zeros(30), _cands_at([15]))
    assert shapes.tolist() == [[0.0] * (2 * REACH + 1)]


def test_a_loud_and_a_quiet_sound_of_one_shape_have_the_same_shape() -> None:
    # AF's S1 loudness varies with the preceding cycle; its shape much less.
    env = np.full(60, BACKGROUND)
    env[15 - REACH : 15 + REACH + 1] = S1_SHAPE * 0.8
    env[45 - REACH : 45 + REACH + 1] = S1_SHAPE * 0.2
    shapes = _shapes(env, _cands_at([15, 45]))
    np.testing.assert_allclose(shapes[0], S1_SHAPE)
    np.testing.assert_allclose(shapes[1], S1_SHAPE)


# ---- The shapes' likeness


def test_shape_correlation_is_pearson_row_by_row() -> None:
    rng = np.random.default_rng(7)
    # Rows of different levels and spreads, all small: the norms' product is well under 1.
    shapes = 0.01 * rng.random((4, 11)) * np.array([[1.0], [3.0], [0.5], [2.0]])
    shapes += np.array([[0.0], [0.05], [0.2], [1.0]])
    template = 0.3 + 0.01 * rng.random(11)
    expected = [np.corrcoef(row, template)[0, 1] for row in shapes]
    np.testing.assert_allclose(_correlation(shapes, template), expected, rtol=1e-12)


def test_shape_correlation_with_a_flat_template_or_row_is_zero() -> None:
    shapes = np.array([[0.1, 0.5, 0.2], [0.4, 0.4, 0.4]])
    np.testing.assert_allclose(_correlation(shapes, np.full(3, 0.7)), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(_correlation(shapes, np.array([0.0, 1.0, 0.5]))[1], 0.0, atol=1e-12)


# ---- A steady-looking chain that left a whole beat out
#
# Intervals of 72 and 80 samples alternating (1.125 and 1.25 s): normalised RMSSD 8 / 76 =
# 0.105, over the triage's irregularity bound (0.1) and under IRREGULAR_CHAIN. The beat left out
# lies in the second cycle's diastole (its S2 at 111, the next S1 at 172): an S1-shaped sound 15
# samples after that S2 and, one systole later, an S2-shaped one.
_STEADY_LOOKING = (72, 80) * 4
_LEFT_AT = 20 + 72 + SYSTOLE + 15


def _left_beat(
    intervals: tuple[int, ...] = _STEADY_LOOKING,
    *,
    at: int = _LEFT_AT,
    reward: float = FULL,
    weak: bool = False,
    s2_after: int | None = SYSTOLE,
    s2_shaped: bool = False,
) -> _short_beats.ShortBeats | None:
    """short_beats of a chain of ``intervals`` that leaves a sound out at sample ``at`` (reward
    ``reward``, shaped like an S2 if ``s2_shaped``), with an S2-shaped sound ``s2_after`` samples
    after it (None: none)."""
    extra_s2 = [] if s2_after is None else [(at + s2_after, FULL)]
    extra = ()
    if s2_shaped:
        extra_s2.append((at, reward))
    else:
        extra = ((at, reward, weak),)
    env, cands, peaks, marks = _chain(intervals, extra, extra_s2=tuple(extra_s2))
    gaps = np.diff(cands.times_s[peaks[marks == S1]])
    assert 0.1 < _nrmssd(tuple(gaps)) <= IRREGULAR_CHAIN or intervals != _STEADY_LOOKING
    return short_beats(peaks, marks, cands, env, float(np.mean(intervals)) * STEP_S)


def test_a_steady_looking_chain_that_left_a_whole_beat_out_is_searched_again() -> None:
    beats = _left_beat()
    assert beats is not None
    assert beats.most_added == 1  # the second chain may find that beat, not a faster rhythm


def test_an_irregular_chain_is_searched_again_with_no_limit_on_its_new_s1s() -> None:
    env, cands, peaks, marks = _chain((40, 64) * 4)
    beats = short_beats(peaks, marks, cands, env, 1.0)
    assert beats is not None and beats.most_added is None


@pytest.mark.parametrize(
    "why_not",
    [
        {"s2_after": None},  # a lone loud sound: a breath sound, a knock, a third heart sound
        {"s2_after": SYSTOLE + 8},  # its "S2" beyond two systolic spreads
        {"s2_shaped": True},  # shaped like the chain's S2s: a split S2's half
        {"weak": True},  # no higher than the background's peaks
        {"reward": _reward(0.75 - 1e-9)},  # under three quarters of the chain's S1s
        {"at": 20 + 72 + 8},  # in a systole, which a murmur fills: not searched
        {"intervals": (76,) * 8},  # a steady chain (nRMSSD 0): no short beats to find
        {"intervals": _STEADY_LOOKING[:-1]},  # seven intervals: one sound would decide
    ],
)
def test_a_steady_looking_chain_is_searched_again_only_for_a_whole_beat_left_out(
    why_not: dict[str, Any],
) -> None:
    assert _left_beat(**why_not) is None


def test_a_left_out_sound_at_three_quarters_of_the_chain_s1s_counts() -> None:
    heights = _reward(0.75) / 2.0 + PEAK_FLOOR, FULL / 2.0 + PEAK_FLOOR
    assert heights[0] == _short_beats.DROPPED_BEAT_LEVEL * heights[1]
    beats = _left_beat(reward=_reward(0.75))
    assert beats is not None and beats.most_added == 1


def test_two_whole_beats_left_out_allow_two_more_s1s() -> None:
    # The second beat in the fourth cycle's diastole (its S2 at 20 + 72 + 80 + 72 + 19).
    second = 20 + 72 + 80 + 72 + SYSTOLE + 15
    env, cands, peaks, marks = _chain(
        _STEADY_LOOKING,
        ((_LEFT_AT, FULL, False), (second, FULL, False)),
        extra_s2=((_LEFT_AT + SYSTOLE, FULL), (second + SYSTOLE, FULL)),
    )
    beats = short_beats(peaks, marks, cands, env, 76 * STEP_S)
    assert beats is not None and beats.most_added == 2


@pytest.mark.parametrize(("eighth", "searched"), [(80, True), (None, False)])
def test_eight_beat_intervals_are_enough_to_search_a_steady_looking_chain(
    eighth: int | None, searched: bool
) -> None:
    intervals = _STEADY_LOOKING[:7] + (() if eighth is None else (eighth,))
    assert (_left_beat(intervals) is not None) is searched


def test_a_chain_exactly_at_the_triage_irregularity_bound_is_not_searched_for_left_beats() -> None:
    # 84 and 76 samples alternating: RMSSD 8 / 64 s, mean 80 / 64 s: exactly a tenth.
    intervals = (84, 76) * 4
    gaps = np.array(intervals) * STEP_S
    rmssd = float(np.sqrt(np.mean(np.diff(gaps) ** 2)))
    assert rmssd == 0.1 * float(np.mean(gaps))
    assert _left_beat(intervals, at=20 + 84 + SYSTOLE + 15) is None
    # A hair over it: every other S1 a microsecond late (the long intervals longer).
    env, cands, peaks, marks = _chain(
        intervals,
        ((20 + 84 + SYSTOLE + 15, FULL, False),),
        extra_s2=((20 + 84 + 2 * SYSTOLE + 15, FULL),),
    )
    times = cands.times_s.copy()
    s1 = peaks[marks == S1]
    times[s1[1::2]] += 1e-6
    nudged = Candidates(times, cands.reward, cands.weak, cands.low, step_s=STEP_S)
    beats = short_beats(peaks, marks, nudged, env, 80 * STEP_S)
    assert beats is not None and beats.most_added == 1


# ---- The sounds a chain leaves in its diastoles


def test_sounds_left_in_diastoles_are_clear_loud_and_in_a_diastole() -> None:
    # Clear sounds in the first and second cycles' diastoles, one in a systole, one before the
    # chain's first S1 (before any diastole), a faint one in the third cycle's diastole: only
    # the first two, each with the position of the S2 before it.
    first = 20 + SYSTOLE + 15
    extra = ((first, FULL, False), (_LEFT_AT, FULL, False), (20 + 72 + 8, FULL, False))
    faint = 20 + 72 + 80 + SYSTOLE + 15
    _env, cands, peaks, marks = _chain(
        _STEADY_LOOKING, (*extra, (faint, _reward(0.6), False), (6, FULL, False))
    )
    sounds, s2_at = left_in_diastoles(peaks, marks, cands)
    assert cands.times_s[sounds].tolist() == [first * STEP_S, _LEFT_AT * STEP_S]
    assert marks[s2_at].tolist() == [S2, S2]
    s2_times = [(20 + SYSTOLE) * STEP_S, (20 + 72 + SYSTOLE) * STEP_S]
    assert cands.times_s[peaks[s2_at]].tolist() == s2_times


def test_a_chain_of_faint_s1s_leaves_clear_sounds_from_half_the_typical_one() -> None:
    # S1s at 0.6 of the typical sound: three quarters of them (0.45) is under a clear sound's
    # level (LOUD_LEVEL), which bounds the level instead.
    _env, cands, peaks, marks = _chain(
        _STEADY_LOOKING,
        ((_LEFT_AT, _reward(LOUD_LEVEL), False), (_LEFT_AT + 160, _reward(0.49), False)),
        reward=_reward(0.6),
    )
    sounds, _ = left_in_diastoles(peaks, marks, cands)
    assert cands.times_s[sounds].tolist() == [_LEFT_AT * STEP_S]


def test_a_chain_without_a_diastole_leaves_nothing_in_one() -> None:
    _env, cands, peaks, marks = _chain(_STEADY_LOOKING, ((_LEFT_AT, FULL, False),), s2_count=0)
    assert not np.any(marks == S2)
    sounds, s2_at = left_in_diastoles(peaks, marks, cands)
    assert sounds.size == 0 and s2_at.size == 0
