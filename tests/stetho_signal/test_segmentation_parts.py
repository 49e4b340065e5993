"""The segmentation's small parts, exactly: where a sound's centre lies, when a chain's own
durations refine its cycle, which models count as the same, and which chain wins a tie."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import segmentation as seg
from stetho_signal._chain_judge import (
    _label_arrays,
    _most_explaining,
    _recurring,
    s1_phase_follows_cycle,
)
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import sound_candidates
from stetho_signal.envelope import CycleEstimate, expected_systole_s
from stetho_signal.segmentation import _refined_cycle, _same_model, _sound_centres

FS = 100.0  # envelope samples per second: 80 ms is 8 samples


def envelope(peak: int, left: int, right: int, size: int = 100) -> np.ndarray:
    """A sound peaking at 1.0 at ``peak``, at half height exactly for ``left`` samples before
    it and ``right`` after, silence elsewhere."""
    env = np.zeros(size)
    env[max(0, peak - left) : peak + right + 1] = 0.5
    env[peak] = 1.0
    return env


# ---- centres ------------------------------------------------------------------------------


def test_a_sounds_centre_is_the_middle_of_its_half_height_span() -> None:
    env = envelope(50, left=2, right=5)  # half height exactly counts as above it
    assert _sound_centres(env, FS, np.array([0.5])) == pytest.approx([(48 + 55) / 2 / FS])
    env[47] = 0.49  # just under half: the span's left end stays at 48
    env[56] = 0.5
    assert _sound_centres(env, FS, np.array([0.5])) == pytest.approx([(48 + 56) / 2 / FS])


def test_the_span_reaches_80_ms_either_side_at_most() -> None:
    long_left = envelope(50, left=20, right=3)
    assert _sound_centres(long_left, FS, np.array([0.5])) == pytest.approx([(42 + 53) / 2 / FS])
    both = envelope(50, left=30, right=30)
    assert _sound_centres(both, FS, np.array([0.5])) == pytest.approx([0.5])


def test_a_span_stops_at_the_recordings_ends() -> None:
    start = envelope(3, left=3, right=1, size=40)  # above half down to the first sample
    assert _sound_centres(start, FS, np.array([0.03])) == pytest.approx([(0 + 4) / 2 / FS])
    start[0] = 0.0  # the first sample under half: the span ends at the second
    assert _sound_centres(start, FS, np.array([0.03])) == pytest.approx([(1 + 4) / 2 / FS])
    end = envelope(36, left=1, right=3, size=40)  # above half up to the last sample
    assert _sound_centres(end, FS, np.array([0.36])) == pytest.approx([(35 + 39) / 2 / FS])
    end[39] = 0.0
    assert _sound_centres(end, FS, np.array([0.36])) == pytest.approx([(35 + 38) / 2 / FS])


def test_each_sound_is_measured_on_its_own() -> None:
    env = np.maximum(envelope(20, left=1, right=4), 0.8 * envelope(70, left=6, right=0))
    assert _sound_centres(env, FS, np.array([0.2, 0.7])) == pytest.approx([0.215, 0.67])


# ---- the refined cycle ------------------------------------------------------------------


def chain(*marks: int) -> list[tuple[int, int]]:
    return [(i, mark) for i, mark in enumerate(marks)]


def times(systole: float, diastole: float, count: int) -> np.ndarray:
    steps = [systole if i % 2 == 0 else diastole for i in range(count - 1)]
    return np.concatenate([[0.0], np.cumsum(steps)])


CYCLE = CycleEstimate(period_s=1.0, systole_s=0.3, periodicity=0.7)


def test_a_chain_refines_its_cycle_from_three_systoles_and_three_diastoles() -> None:
    seven = chain(S1, S2, S1, S2, S1, S2, S1)
    assert _refined_cycle(seven, times(0.25, 0.5, 7), CYCLE) == CycleEstimate(0.75, 0.25, 0.7)
    six = chain(S1, S2, S1, S2, S1, S2)  # three systoles, two diastoles
    assert _refined_cycle(six, times(0.25, 0.5, 6), CYCLE) is None
    from_s2 = chain(S2, S1, S2, S1, S2, S1)  # three diastoles, two systoles
    assert _refined_cycle(from_s2, times(0.5, 0.25, 6), CYCLE) is None


@pytest.mark.parametrize(
    ("period_s", "systole", "diastole", "kept"),
    [(1.0, 0.25, 0.25, True), (1.0, 0.25, 0.125, False), (2.0, 1.0, 2.0, True),
     (2.0, 1.0, 2.5, False), (1.0, 0.5, 1.5, False)],
)  # fmt: skip
def test_a_refined_period_stays_within_half_and_one_and_a_half_cycles(
    period_s: float, systole: float, diastole: float, kept: bool
) -> None:
    cycle = CycleEstimate(period_s=period_s, systole_s=0.3, periodicity=0.7)
    refined = _refined_cycle(chain(S1, S2, S1, S2, S1, S2, S1), times(systole, diastole, 7), cycle)
    assert (refined is not None) == kept


# ---- models, ties, arrays ----------------------------------------------------------------


def test_models_within_3_percent_of_the_period_are_the_same() -> None:
    base = CycleEstimate(period_s=100.0, systole_s=30.0, periodicity=0.5)
    assert _same_model(base, base)
    assert _same_model(CycleEstimate(103.0, 30.0, 0.5), base)  # 3.0: exactly 3 %
    assert not _same_model(CycleEstimate(103.5, 30.0, 0.5), base)
    assert _same_model(CycleEstimate(100.0, 33.0, 0.5), base)
    assert not _same_model(CycleEstimate(100.0, 33.5, 0.5), base)


def test_the_favourites_period_is_weighed_with_the_expected_systole_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A murmur or a loud S3 can pull the autocorrelation's S1-S2 lag: its period is searched
    # with the systole expected at that rate as well, as periodic as the favourite. (The winning
    # cycle's periodicity is read again for the rate, heart._rate_bpm.)
    t = np.arange(1200) / FS
    env = np.zeros(t.size)
    for s1 in np.arange(0.3, 11.5, 0.8):  # 75/min, a 0.2 s systole: far from the expected 0.34
        env += np.exp(-0.5 * ((t - s1) / 0.02) ** 2) + 0.8 * np.exp(
            -0.5 * ((t - s1 - 0.2) / 0.02) ** 2
        )
    favourite = CycleEstimate(period_s=0.8, systole_s=0.2, periodicity=0.6)
    weighed: list[list[CycleEstimate]] = []
    searched = seg._searched_chain

    def spy(
        candidates: seg._Candidates, models: list[CycleEstimate], *args: object, **kwargs: object
    ) -> tuple[list[tuple[int, int]], CycleEstimate]:
        weighed.append(list(models))
        return searched(candidates, models, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(seg, "_searched_chain", spy)
    seg.segment_heart_sounds(env, FS, sound_candidates(env, FS), [favourite])
    assert CycleEstimate(0.8, expected_systole_s(0.8), 0.6) in weighed[0]


def test_a_tie_goes_to_the_first_model() -> None:
    models = [CycleEstimate(1.0, 0.3, 0.5), CycleEstimate(0.5, 0.2, 0.5)]
    first, second = chain(S1, S2), chain(S2, S1)
    assert _most_explaining({0: (first, 4.0), 1: (second, 4.0)}, models) == (first, models[0])
    assert _most_explaining({0: (first, 4.0), 1: (second, 4.5)}, models) == (second, models[1])


def test_label_arrays_split_peaks_and_marks() -> None:
    peaks, marks = _label_arrays([(3, S1), (7, S2), (9, S1)])
    assert peaks.tolist() == [3, 7, 9] and marks.tolist() == [S1, S2, S1]
    assert peaks.dtype == marks.dtype == np.intp


# ---- the cycle-following cue ---------------------------------------------------------------


def beats(systoles: list[float], cycles: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Times and marks of S1-S2 pairs: each S2 a systole after its S1, S1s a cycle apart."""
    s1 = np.concatenate([[0.0], np.cumsum(cycles)])
    t = np.sort(np.concatenate([s1, s1[:-1] + np.array(systoles)]))
    marks = np.array([S1, S2] * len(cycles) + [S1])
    return t, marks


def test_eight_triples_are_enough_and_the_times_default_to_exact() -> None:
    cycles = [1.0, 0.75] * 4  # eight S1-S2-S1 triples exactly
    t, marks = beats([0.25] * 8, cycles)  # a fixed systole: diastole takes the changes
    assert s1_phase_follows_cycle(t, marks) is False  # no rounding assumed, no step given
    t, marks = beats([c - 0.25 for c in cycles], cycles)  # the "S1" phase takes them
    assert s1_phase_follows_cycle(t, marks) is True
    t, marks = beats([0.25] * 7, cycles[:7])
    assert s1_phase_follows_cycle(t, marks) is None


def test_a_phase_taking_exactly_half_the_changes_does_not_take_most() -> None:
    cycles = [1.0, 0.5] * 5
    t, marks = beats([c / 2 for c in cycles], cycles)  # slope exactly 0.5, no residual
    assert s1_phase_follows_cycle(t, marks) is False


def test_a_cycle_that_never_changes_says_nothing() -> None:
    t, marks = beats([0.25] * 8, [1.0] * 8)
    assert s1_phase_follows_cycle(t, marks) is None


def against_rounding(times_spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Eight triples whose cycles' spread is ``times_spread`` times four times what rounding the
    times to 0.6 s steps gives (0.06 s**2 a duration), and whose "S1" phase shortens by half of
    each lengthening of the cycle: a slope of -0.5, far from the undecided 0.5."""
    d = float(np.sqrt(times_spread * 4.0 * 0.06 * 8 / 8))
    cycles = [1.5 + d, 1.5 - d] * 4
    return beats([0.5 - 0.5 * (c - 1.5) for c in cycles], cycles)


@pytest.mark.parametrize(("times_spread", "read"), [(0.925, None), (1.125, False)])
def test_a_cycle_spread_within_four_times_the_rounding_says_nothing(
    times_spread: float, read: bool | None
) -> None:
    assert s1_phase_follows_cycle(*against_rounding(times_spread), step_s=0.6) is read


def test_a_cycle_spread_of_exactly_four_times_the_rounding_is_read() -> None:
    # Cycles 1.5 +/- 5/64 s (exact in binary) and a step whose rounding makes the bound equal
    # the spread, 0.048828125 s**2, to the bit: only a spread under it says nothing.
    cycles = [1.5 + 5 / 64, 1.5 - 5 / 64] * 4
    t, marks = beats([0.5 - 0.5 * (c - 1.5) for c in cycles], cycles)
    assert s1_phase_follows_cycle(t, marks, step_s=0.09568319307746789) is False


def _residual_spread(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Eight triples: cycles 1.0 +/- 0.1 s, a systole of 0.3 s that does not follow them (slope
    0) but moves by ``scale`` times a pattern orthogonal to them (each duration's residual)."""
    cycles = [1.1, 0.9] * 4
    return beats([0.3 + scale * r for r in [1, 1, -1, -1] * 2], cycles)


# The slope's standard error reads the residual's variance over the 8 triples less the 2
# fitted terms: 3 errors equal the slope's 0.5 from one half at a scale of 0.5 / 3 / sqrt(8 /
# 6 / 0.08). Past it the cue is silent; within it, read; 5 or 10 in place of 6 would move it.
_AT_THE_BOUND = 0.5 / 3.0 / float(np.sqrt(8.0 / 6.0 / 0.08))


@pytest.mark.parametrize(("factor", "read"), [(1 / 0.9, None), (1 / 1.05, False)])
def test_the_slope_s_error_counts_the_triples_less_two(factor: float, read: bool | None) -> None:
    assert s1_phase_follows_cycle(*_residual_spread(_AT_THE_BOUND * factor)) is read


# ---- sounds locked to the beat -------------------------------------------------------------


def test_a_sound_recurs_when_half_the_diastoles_hold_it_within_40_ms() -> None:
    locked = np.array([0.0, 0.0, 0.0, 0.04])  # 40 ms from the median: still locked
    assert _recurring(locked, diastoles=8).tolist() == [True] * 4
    assert _recurring(locked, diastoles=9).tolist() == [False] * 4  # under half of them
    loose = np.array([0.0, 0.0, 0.0, 0.5])
    assert _recurring(loose, diastoles=6).tolist() == [True, True, True, False]
    assert _recurring(loose, diastoles=8).tolist() == [False] * 4  # three of eight
    assert _recurring(np.array([0.0, 0.0]), diastoles=2).tolist() == [False, False]  # too few
