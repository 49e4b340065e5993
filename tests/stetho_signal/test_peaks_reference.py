"""Candidate heart sounds and the cycles read off the loud ones, against plain restatements.

`sound_candidates`, `cycle_from_sounds` and `gallop_cycle` are vectorised; the references below
say what their docstrings and comments say one peak, one gap and one span at a time, and the
planted cases sit on each bound (a peak exactly at the floor, a share exactly a tenth of the
typical one, five loud sounds, equal spreads), so an off-by-one or a flipped comparison shows
as a different answer (`make mutate`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _peaks
from stetho_signal._peaks import (
    LOUD_LEVEL,
    PEAK_FLOOR,
    Candidates,
    cycle_from_sounds,
    gallop_cycle,
    sound_candidates,
)
from stetho_signal._sound_band import spectral_centroids_hz
from stetho_signal.envelope import CycleEstimate, expected_systole_s

CYCLE = CycleEstimate(0.8, 0.3, 0.7)


def _local_maxima(x: NDArray[np.float64]) -> list[int]:
    """Samples higher than the one before and the first different one after; a flat top
    counts once, at its middle (rounded down)."""
    out = []
    i = 1
    while i < x.size - 1:
        if x[i - 1] < x[i]:
            j = i + 1
            while j < x.size - 1 and x[j] == x[i]:
                j += 1
            if x[j] < x[i]:
                out.append((i + j - 1) // 2)
                i = j
                continue
        i += 1
    return out


def _spaced(x: NDArray[np.float64], peaks: list[int], distance: int) -> list[int]:
    """The highest peak first; a peak closer than `distance` samples to one kept goes."""
    kept: list[int] = []
    for p in sorted(peaks, key=lambda p: -x[p]):
        if all(abs(p - k) >= distance for k in kept):
            kept.append(p)
    return sorted(kept)


def _reference_candidates(
    env: NDArray[np.float64], fs: float, pitch_env: NDArray[np.float64] | None
) -> Candidates:
    distance = max(1, int(0.08 * fs))  # 80 ms, at least one sample
    peaks = _spaced(env, _local_maxima(env), distance)
    if not peaks:
        none = np.zeros(0, dtype=bool)
        return Candidates(np.zeros(0), np.zeros(0), none, none)
    loudest = max(env[p] for p in peaks)
    peaks = [p for p in peaks if env[p] >= 0.05 * loudest]
    heights = np.array([env[p] for p in peaks])
    typical = float(np.quantile(heights, 0.9))
    background = float(np.quantile(env, 0.25))
    reward, weak, sounds = [], [], []
    for h in heights:
        relative = min(h / max(typical, 1e-12), 1.5)
        is_weak = h < 2.0 * background
        r = 2.0 * (relative - PEAK_FLOOR)
        reward.append(min(r, 0.0) if is_weak else r)
        weak.append(is_weak)
        sounds.append(not is_weak and relative >= PEAK_FLOOR)
    low = [False] * len(peaks)
    share = None
    if pitch_env is not None:
        reach = round(0.02 * fs)  # 20 ms either side
        share_list = []
        for p, h in zip(peaks, heights, strict=True):
            near = [min(max(p + d, 0), env.size - 1) for d in range(-reach, reach + 1)]
            share_list.append(max(pitch_env[k] for k in near) / max(h, 1e-12))
        share = np.array(share_list)
        if sum(sounds) >= 3:
            typical_share = float(np.quantile(share[np.array(sounds)], 0.9))
            low = [s and v < 0.1 * typical_share for s, v in zip(sounds, share, strict=True)]
    return Candidates(
        np.array(peaks) / fs,
        np.array(reward),
        np.array(weak),
        np.array(low),
        pitch=share,
        step_s=1.0 / fs,
    )


def _assert_same(got: Candidates, want: Candidates) -> None:
    np.testing.assert_array_equal(got.times_s, want.times_s)
    np.testing.assert_allclose(got.reward, want.reward, rtol=1e-12, atol=1e-12)
    assert got.weak.dtype == np.bool_ and got.low.dtype == np.bool_
    np.testing.assert_array_equal(got.weak, want.weak)
    np.testing.assert_array_equal(got.low, want.low)
    if want.pitch is None:
        assert got.pitch is None
    else:
        assert got.pitch is not None
        np.testing.assert_allclose(got.pitch, want.pitch, rtol=1e-12)
    assert got.step_s == want.step_s
    assert got.centroids is None  # no band given


def _heart(seed: int, fs: float, seconds: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """An envelope of sounds (S1, S2 and now and then a third) of random height over a swelling
    hiss, and a pitch envelope that follows some sounds closely and others faintly."""
    rng = np.random.default_rng(seed)
    n = round(seconds * fs)
    t = np.arange(n) / fs
    hiss = rng.uniform(0.05, 0.4) * np.exp(0.4 * rng.standard_normal(n))
    kernel = np.ones(max(1, round(0.01 * fs)))
    hiss = np.convolve(hiss, kernel / kernel.size, "same")
    env = hiss.copy()
    pitch = 0.02 * rng.random(n)
    period = rng.uniform(0.3, 1.5)
    for at in np.arange(rng.uniform(0.0, 0.3), seconds, period):
        for offset in (0.0, 0.3 * period, 0.6 * period)[: int(rng.integers(2, 4))]:
            height = rng.uniform(0.2, 2.0)
            shape = np.exp(-0.5 * ((t - at - offset) / 0.015) ** 2)
            env += height * shape
            lag = rng.uniform(-0.03, 0.03)
            pitch += (
                rng.choice([0.01, 0.3, 1.0])
                * height
                * np.exp(-0.5 * ((t - at - offset - lag) / 0.005) ** 2)
            )
    return env, pitch


@pytest.mark.parametrize("fs", [10.0, 50.0, 100.0, 149.0, 200.0])
@pytest.mark.parametrize("seed", range(6))
def test_candidates_as_restated(fs: float, seed: int) -> None:
    env, pitch = _heart(seed, fs, 8.0)
    _assert_same(sound_candidates(env, fs, pitch), _reference_candidates(env, fs, pitch))
    _assert_same(sound_candidates(env, fs), _reference_candidates(env, fs, None))


def test_centroids_are_read_at_the_peaks_when_a_band_is_given() -> None:
    env, pitch = _heart(3, 100.0, 8.0)
    band = np.random.default_rng(3).standard_normal(8000).astype(np.float32)
    got = sound_candidates(env, 100.0, pitch, (band, 1000.0))
    _assert_same(replace(got, centroids=None), _reference_candidates(env, 100.0, pitch))
    assert got.centroids is not None
    times = np.array([0.05, 2.0, 7.99])
    np.testing.assert_array_equal(got.centroids(times), spectral_centroids_hz(band, 1000.0, times))


@pytest.mark.parametrize("scale", [1e-14, 1e-11, 1.0])
def test_a_faint_envelope_scores_against_the_floor_of_its_scale(scale: float) -> None:
    """Heights under 1e-12 are divided by 1e-12, not by themselves."""
    env, pitch = _heart(7, 100.0, 6.0)
    got = sound_candidates(scale * env, 100.0, scale * pitch)
    _assert_same(got, _reference_candidates(scale * env, 100.0, scale * pitch))


def _bumps(n: int, at: dict[int, float], base: float = 0.1) -> NDArray[np.float64]:
    """A flat floor at `base` with one-sample peaks: no local maxima but the planted ones."""
    env = np.full(n, base)
    for i, h in at.items():
        env[i] = h
    return env


def test_no_peak_gives_empty_candidates() -> None:
    for env in (np.zeros(50), np.linspace(0.0, 1.0, 50), np.ones(2), np.zeros(0)):
        got = sound_candidates(env, 100.0, env)
        assert got.times_s.size == got.reward.size == got.weak.size == got.low.size == 0
        assert got.times_s.dtype == got.reward.dtype == np.float64
        assert got.weak.dtype == got.low.dtype == np.bool_
        assert got.pitch is None and got.step_s == 0.0


def test_peaks_eighty_ms_apart_both_count_and_closer_the_lower_goes() -> None:
    fs = 100.0  # 8 samples
    got = sound_candidates(_bumps(100, {20: 1.0, 28: 0.9, 60: 1.0, 67: 0.9}), fs)
    np.testing.assert_array_equal(got.times_s, np.array([20, 28, 60]) / fs)
    assert got.step_s == 1.0 / fs


def test_a_low_rate_keeps_one_sample_spacing() -> None:
    """Under 12.5 Hz 80 ms is less than a sample: every local maximum stays."""
    got = sound_candidates(_bumps(20, {2: 1.0, 4: 0.9, 6: 0.8}), 10.0)
    np.testing.assert_array_equal(got.times_s, np.array([2, 4, 6]) / 10.0)


def test_a_peak_at_five_percent_of_the_loudest_stays_and_under_goes() -> None:
    env = _bumps(200, {20: 1.0, 40: 0.05, 60: 0.0499, 80: 1.0}, base=0.0)
    got = sound_candidates(env, 100.0)
    np.testing.assert_array_equal(got.times_s, np.array([20, 40, 80]) / 100.0)


def test_reward_at_each_bound() -> None:
    """Typical height 1 (nine of ten peaks), floor 0.1 so that weak is under 0.2: a peak of
    exactly 0.2 is not weak, one just under is; a peak of twice the typical is capped at 1.5."""
    heights = {10 + 10 * k: 1.0 for k in range(9)}
    heights.update({110: 0.2, 120: 0.1999, 130: 0.3, 140: 2.0})
    env = _bumps(400, heights)  # 3/4 of the samples at 0.1: the lower quartile is 0.1
    got = sound_candidates(env, 50.0)  # 4 samples between peaks
    by_time = dict(zip(np.round(got.times_s * 50.0).astype(int), got.reward, strict=True))
    weak = dict(zip(np.round(got.times_s * 50.0).astype(int), got.weak, strict=True))
    assert weak[110] is np.False_ and weak[120] is np.True_ and weak[130] is np.False_
    assert by_time[110] == pytest.approx(2.0 * (0.2 - PEAK_FLOOR))
    assert by_time[120] == pytest.approx(2.0 * (0.1999 - PEAK_FLOOR))
    assert by_time[130] == pytest.approx(0.0)
    assert by_time[140] == pytest.approx(2.0 * (1.5 - PEAK_FLOOR))
    assert by_time[10] == pytest.approx(2.0 * (1.0 - PEAK_FLOOR))


def test_a_weak_peak_over_the_floor_earns_nothing() -> None:
    """Background 0.6: a peak of 1.1 is under twice it, weak, and its reward (> 0) is cut
    to 0; a loud one keeps its reward."""
    heights = {10 + 10 * k: 3.0 for k in range(9)}
    heights[100] = 1.1
    got = sound_candidates(_bumps(300, heights, base=0.6), 50.0)
    assert got.weak.tolist() == [False] * 9 + [True]
    assert got.reward[-1] == 0.0
    assert got.reward[0] == pytest.approx(2.0 * (1.0 - PEAK_FLOOR))


def _pitched(shares: list[float], heights: list[float] | None = None) -> Candidates:
    """Peaks 20 samples apart at 100 Hz, the pitch envelope at each peak its share of it."""
    heights = heights or [1.0] * len(shares)
    env = _bumps(20 * len(shares) + 20, {20 + 20 * k: h for k, h in enumerate(heights)}, 0.01)
    pitch = np.zeros_like(env)
    for k, (s, h) in enumerate(zip(shares, heights, strict=True)):
        pitch[20 + 20 * k] = s * h
    return sound_candidates(env, 100.0, pitch)


def test_a_share_of_exactly_a_tenth_of_the_typical_is_not_low() -> None:
    got = _pitched([1.0] * 9 + [0.1, 0.0999])
    assert got.low.tolist() == [False] * 10 + [True]
    assert got.pitch is not None
    np.testing.assert_allclose(got.pitch, [1.0] * 9 + [0.1, 0.0999])


def test_three_sounds_are_enough_to_call_one_low_and_two_are_not() -> None:
    assert _pitched([1.0, 1.0, 0.01]).low.tolist() == [False, False, True]
    assert _pitched([1.0, 0.01]).low.tolist() == [False, False]


def test_only_sounds_are_low_and_only_sounds_set_the_typical_share() -> None:
    """A peak under 30 % of the typical height is no sound: never low, and its high share does
    not make the sounds' shares look low. A peak at exactly 30 % is a sound."""
    heights = [1.0] * 9 + [0.3, 0.2999, 0.2999]
    shares = [1.0] * 9 + [0.01, 0.01, 50.0]
    assert _pitched(shares, heights).low.tolist() == [False] * 9 + [True, False, False]


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_the_pitch_band_counts_within_twenty_ms_either_side(offset: int) -> None:
    """At 100 Hz the reach is 2 samples: a pitch peak 2 samples off counts, 3 off does not."""
    env = _bumps(100, {50: 1.0}, 0.01)
    pitch = np.full(100, 0.1)
    pitch[50 + offset] = 0.7
    got = sound_candidates(env, 100.0, pitch)
    assert got.pitch is not None
    assert got.pitch.tolist() == [0.7 if abs(offset) <= 2 else 0.1]


@pytest.mark.parametrize(("peak", "edge"), [(1, 0), (98, 99)])
def test_the_reach_stops_at_the_ends(peak: int, edge: int) -> None:
    env = _bumps(100, {peak: 1.0}, 0.01)
    pitch = np.full(100, 0.1)
    pitch[edge] = 0.6
    got = sound_candidates(env, 100.0, pitch)
    assert got.pitch is not None and got.pitch.tolist() == [0.6]


def test_the_reach_does_not_wrap_round() -> None:
    """A sound at the start looks at the first samples, not at the last ones."""
    env = _bumps(100, {1: 1.0}, 0.01)
    pitch = np.full(100, 0.1)
    pitch[0], pitch[-1] = 0.6, 0.9
    got = sound_candidates(env, 100.0, pitch)
    assert got.pitch is not None and got.pitch.tolist() == [0.6]


def _loud(times: list[float], rewards: list[float] | None = None) -> Candidates:
    n = len(times)
    reward = np.full(n, 1.0) if rewards is None else np.array(rewards)
    none = np.zeros(n, dtype=bool)
    return Candidates(np.array(times), reward, none, none)


def _loud_times(cands: Candidates) -> list[float]:
    """The candidates the reference cues read: rewards of twice the 0.2 loud level or more."""
    return [t for t, r in zip(cands.times_s, cands.reward, strict=True) if r >= 2 * 0.2]


def _reference_from_sounds(cands: Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    loud = _loud_times(cands)
    if len(loud) < 5:
        return None
    whole = [loud[i + 2] - loud[i] for i in range(len(loud) - 2)]
    gaps = [loud[i + 1] - loud[i] for i in range(len(loud) - 1)]
    shorter = [min(gaps[i], gaps[i + 1]) for i in range(len(gaps) - 1)]
    period = float(np.median(whole))
    return CycleEstimate(period, min(float(np.median(shorter)), 0.5 * period), cycle.periodicity)


def _spread(x: list[float]) -> float:
    centre = float(np.median(x))
    return float(np.median([abs(v - centre) for v in x])) / max(centre, 1e-12)


def _reference_gallop(cands: Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    loud = _loud_times(cands)
    if len(loud) < 7:
        return None
    spans2 = [loud[i + 2] - loud[i] for i in range(len(loud) - 2)]
    spans3 = [loud[i + 3] - loud[i] for i in range(len(loud) - 3)]
    if _spread(spans3) >= _spread(spans2):
        return None
    period = float(np.median(spans3))
    return CycleEstimate(period, expected_systole_s(period), cycle.periodicity)


def _same_cycle(got: CycleEstimate | None, want: CycleEstimate | None) -> None:
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got.period_s == pytest.approx(want.period_s, rel=1e-12)
    assert got.systole_s == pytest.approx(want.systole_s, rel=1e-12)
    assert got.periodicity == want.periodicity


def _rhythm(seed: int) -> Candidates:
    """Sounds two or three a beat, jittered, some of them quiet, rewards around the loud bar."""
    rng = np.random.default_rng(seed)
    period = rng.uniform(0.3, 1.5)
    per_beat = int(rng.integers(2, 4))
    phases = np.sort(rng.uniform(0.1, 0.9, per_beat - 1)) * period
    times = []
    for beat in range(int(rng.integers(2, 9))):
        start = beat * period * rng.uniform(0.85, 1.15)
        times += [start, *(start + phases * rng.uniform(0.8, 1.2))]
    t = np.sort(np.array(times)) + rng.uniform(0.0, 0.1)
    reward = rng.choice([-0.2, 0.3999, 0.4, 1.0, 2.4], size=t.size, p=[0.1, 0.1, 0.1, 0.5, 0.2])
    none = np.zeros(t.size, dtype=bool)
    return Candidates(t, reward, none, none)


@pytest.mark.parametrize("seed", range(60))
def test_cycles_from_loud_sounds_as_restated(seed: int) -> None:
    cands = _rhythm(seed)
    _same_cycle(cycle_from_sounds(cands, CYCLE), _reference_from_sounds(cands, CYCLE))
    _same_cycle(gallop_cycle(cands, CYCLE), _reference_gallop(cands, CYCLE))


def test_the_loud_bar_is_half_the_typical_sound() -> None:
    """The references' bar, 2 * 0.2, is the module's, exactly."""
    assert 2.0 * (LOUD_LEVEL - PEAK_FLOOR) == _peaks._LOUD_REWARD == 0.4


def test_five_loud_sounds_give_a_cycle_and_four_do_not() -> None:
    times = [0.0, 0.3, 1.0, 1.3, 2.0, 2.3]
    five = _loud(times, [1.0, 0.4, 0.4, 1.0, 1.0, 0.3999])
    got = cycle_from_sounds(five, CYCLE)
    assert got == CycleEstimate(1.0, pytest.approx(0.3), 0.7)  # type: ignore[arg-type]
    assert cycle_from_sounds(_loud(times[:4]), CYCLE) is None
    assert cycle_from_sounds(_loud(times[:5], [1.0, 1.0, 1.0, 1.0, 0.3999]), CYCLE) is None


def test_a_systole_is_never_more_than_half_the_cycle() -> None:
    """Evenly spaced sounds: the shorter gap is half the cycle, and no more."""
    got = cycle_from_sounds(_loud([0.0, 0.5, 1.0, 1.5, 2.0, 2.5]), CYCLE)
    assert got is not None and got.period_s == 1.0 and got.systole_s == 0.5
    # Missed sounds make the gaps uneven; the median of the shorter of each pair stays 0.4,
    # under half the 1.2 s median of the whole spans.
    got = cycle_from_sounds(_loud([0.0, 0.4, 1.0, 1.4, 2.2, 2.6, 3.0]), CYCLE)
    want = _reference_from_sounds(_loud([0.0, 0.4, 1.0, 1.4, 2.2, 2.6, 3.0]), CYCLE)
    _same_cycle(got, want)
    assert got is not None and got.systole_s == pytest.approx(0.4)


def test_a_gallop_needs_seven_loud_sounds() -> None:
    beat = [0.0, 0.3, 0.55]
    times = [b + k for k in range(3) for b in beat]  # 9 sounds, three a beat
    got = gallop_cycle(_loud(times[:7]), CYCLE)
    assert got == CycleEstimate(1.0, expected_systole_s(1.0), 0.7)
    assert gallop_cycle(_loud(times[:6]), CYCLE) is None
    assert gallop_cycle(_loud(times[:7], [1.0] * 6 + [0.3999]), CYCLE) is None
    assert gallop_cycle(_loud(times[:7], [1.0] * 6 + [0.4]), CYCLE) is not None


def test_equally_steady_spans_offer_no_gallop() -> None:
    """Evenly spaced sounds: both spans are steady (spread 0), so three a beat is not the
    better reading."""
    assert gallop_cycle(_loud([0.25 * k for k in range(10)]), CYCLE) is None


def test_the_spread_is_relative_to_its_centre_with_a_floor() -> None:
    spread = _peaks._relative_spread
    assert spread(np.array([1.0, 2.0, 4.0])) == pytest.approx(1.0 / 2.0)
    assert spread(np.array([10.0, 20.0, 40.0, 50.0, 51.0])) == pytest.approx(11.0 / 40.0)
    # A centre under 1e-12 counts as 1e-12.
    assert spread(np.array([1e-14, 2e-14, 4e-14])) == pytest.approx(1e-14 / 1e-12)
    assert math.isclose(spread(np.array([3.0, 3.0, 3.0])), 0.0)
