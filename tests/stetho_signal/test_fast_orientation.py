"""S1/S2 orientation of very fast hearts: from 130/min the sounds' pitch, not the phases' order.

As the rate rises diastole shortens far more than systole; at 170-190/min a child's S1-S2 may
outlast S2-S1 by a third or more, and the shorter phase taken for systole swaps every S1 and S2
(issue 17: CirCor made faster, S1/S2 F1 0.63 at 170/min). S2 is the higher-pitched sound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _chain_judge as cj
from stetho_signal import analyze
from stetho_signal import heart as heart_analysis
from stetho_signal import segmentation as seg
from stetho_signal._chains import S1, S2
from stetho_signal._half_rate import guard_half_rate
from stetho_signal._peaks import Candidates, sound_candidates
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    CycleEstimate,
    estimate_cycles,
    heart_envelope,
)
from stetho_signal.segmentation import HeartSounds
from stetho_sim.sounds import FS_HZ, burst


def _regular_heart(rate: float, systole_s: float, seed: int) -> tuple[NDArray, NDArray]:
    """A steady rhythm (the cycle cue stays silent): S1 low-pitched (45 Hz) and long, S2
    high-pitched (110 Hz) and brief, ``systole_s`` apart; the samples and the S1 times."""
    rng = np.random.default_rng(seed)
    period, n = 60.0 / rate, int(12.0 * FS_HZ)
    s1 = np.arange(0.2, 11.5, period)
    x = 0.01 * rng.standard_normal(n)
    for t in s1:
        x += 0.5 * burst(n, t, 45.0, 0.02, FS_HZ) + 0.35 * burst(
            n, t + systole_s, 110.0, 0.012, FS_HZ
        )
    return x, s1


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("rate", "systole_s"),
    # Systole over diastole about 1.3: far from close, the wrong way for durations alone.
    [(170.0, 0.2), (180.0, 0.19), (190.0, 0.18), (150.0, 0.23)],
)
def test_a_fast_heart_whose_systole_outlasts_diastole_keeps_its_s1s(
    rate: float, systole_s: float, seed: int
) -> None:
    x, s1 = _regular_heart(rate, systole_s, seed)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert abs(heart.rate_bpm - rate) <= 5.0
    found = np.asarray(heart.s1_s)
    hits = sum(bool(np.any(np.abs(found - t) <= 0.06)) for t in s1)
    assert hits >= 0.9 * s1.size, (hits, s1.size)
    assert heart.systole_s is not None and heart.diastole_s is not None
    assert heart.systole_s > heart.diastole_s


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("rate", [150.0, 170.0, 190.0])
@pytest.mark.parametrize("longer", [1.5, 1.6, 1.8])
def test_a_fast_heart_whose_systole_far_outlasts_diastole_keeps_its_chain(
    rate: float, longer: float, seed: int
) -> None:
    # Systole 1.5-1.8 times diastole (CirCor made faster reaches 1.56 at 190/min): no cycle
    # model of the autocorrelation expects it (their systole stays under half the cycle). On
    # main the chain held one sound per beat (75/min for 150/min) or every S1 labelled S2.
    period = 60.0 / rate
    x, s1 = _regular_heart(rate, period * longer / (1.0 + longer), seed)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert abs(heart.rate_bpm - rate) <= 5.0
    found = np.asarray(heart.s1_s)
    hits = sum(bool(np.any(np.abs(found - t) <= 0.06)) for t in s1)
    assert hits >= 0.9 * s1.size, (hits, s1.size)


@pytest.mark.parametrize(
    ("period_s", "offered"),
    # 130/min and over: 60 / 130 s, then 129.9/min and 200/min.
    [(60.0 / 130.0, True), (60.0 / 129.9, False), (0.3, True)],
)
def test_a_fast_cycle_is_also_searched_with_its_phases_exchanged(
    period_s: float, offered: bool
) -> None:
    cycle = CycleEstimate(period_s, 0.4 * period_s, 0.5)
    longer = seg._longer_systole(cycle)
    if not offered:
        assert longer is None
        return
    assert longer is not None
    assert longer.period_s == period_s and longer.periodicity == 0.5
    assert longer.systole_s == pytest.approx(0.6 * period_s)


def _candidates(
    systole_s: float,
    diastole_s: float,
    centroid: tuple[float, float],
    share: tuple[float, float],
    beats: int = 12,
) -> tuple[list[tuple[int, int]], Candidates]:
    """A steady chain of ``beats`` beats labelled S1 at its sounds of ``centroid[0]`` Hz and
    pitch share ``share[0]``, S2 at the others, and its candidates."""
    times = np.cumsum(np.tile([diastole_s, systole_s], beats))  # from an S1, a diastole in
    n = times.size
    is_s1 = np.arange(n) % 2 == 0
    labels = [(i, S1 if s else S2) for i, s in enumerate(is_s1.tolist())]
    cands = Candidates(
        times_s=times,
        reward=np.ones(n),
        weak=np.zeros(n, dtype=bool),
        low=np.zeros(n, dtype=bool),
        pitch=np.where(is_s1, share[0], share[1]),
        step_s=0.01,
        centroids=_lookup(times, np.where(is_s1, centroid[0], centroid[1])),
    )
    return labels, cands


def _lookup(
    times: NDArray[np.float64], values: NDArray[np.float64]
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Centroids given per sound: the value at each of the sounds' times."""
    table = dict(zip(times.tolist(), values.tolist(), strict=True))
    return lambda at: np.array([table[t] for t in at.tolist()])


def _flipped(labels: list[tuple[int, int]], cands: Candidates) -> bool:
    return cj._oriented(labels, cands)[0][1] != labels[0][1]


@pytest.mark.parametrize(
    ("systole_s", "diastole_s", "fast"),
    # Systole over diastole about 1.3 (not close): 0.46 s is 130.4/min, 0.465 s 129.0/min.
    [(0.26, 0.2, True), (0.26, 0.205, False), (0.2, 0.15, True), (0.4, 0.3, False)],
)
def test_from_130_per_min_the_centroid_orients_a_chain_not_its_phases(
    systole_s: float, diastole_s: float, fast: bool
) -> None:
    # The "S1"s are the lower-pitched sounds by the centroid, the higher by the share: only a
    # fast chain is judged, and by the centroid; a slower one keeps the phases' order (flip).
    labels, cands = _candidates(systole_s, diastole_s, (50.0, 120.0), (0.6, 0.3))
    assert _flipped(labels, cands) is not fast
    high, cands = _candidates(systole_s, diastole_s, (120.0, 50.0), (0.3, 0.6))
    assert _flipped(high, cands) is True


def test_a_fast_chain_without_centroids_is_oriented_by_its_phases() -> None:
    # Systole 0.2 s over diastole 0.15 s: without centroids the longer phase is diastole.
    labels, cands = _candidates(0.2, 0.15, (50.0, 120.0), (0.3, 0.6))
    bare = Candidates(cands.times_s, cands.reward, cands.weak, cands.low, cands.pitch, 0.01)
    assert _flipped(labels, cands) is False
    assert _flipped(labels, bare) is True


@pytest.mark.parametrize(
    ("centroid", "flipped"),
    # Up to 200 Hz the higher is S2; a sound centred at 200 Hz or over is no S1 or S2 (breath,
    # noise): the phases decide, and a systole of 0.2 s is longer than a diastole of 0.15 s.
    [
        ((120.0, 199.9), False),
        ((199.9, 120.0), True),
        ((120.0, 200.0), True),
        ((200.0, 120.0), True),
    ],
)
def test_only_heart_pitched_sounds_orient_a_fast_chain(
    centroid: tuple[float, float], flipped: bool
) -> None:
    labels, cands = _candidates(0.2, 0.15, centroid, (0.3, 0.6))
    assert _flipped(labels, cands) is flipped


def test_three_sounds_of_each_are_enough_to_orient_by_the_centroid() -> None:
    labels, cands = _candidates(0.2, 0.15, (50.0, 120.0), (0.3, 0.6))
    assert _flipped(labels[:6], cands) is False  # three of each
    assert _flipped(labels[:5], cands) is True  # two "S2"s: the phases decide


@pytest.mark.parametrize(
    ("systole_s", "diastole_s"),
    # 95/min and 146/min, phases within 10 % of each other.
    [(0.3, 0.33), (0.2, 0.21)],
)
def test_close_phases_keep_the_share_at_any_rate(systole_s: float, diastole_s: float) -> None:
    labels, cands = _candidates(systole_s, diastole_s, (120.0, 50.0), (0.3, 0.6))
    assert _flipped(labels, cands) is False
    labels, cands = _candidates(systole_s, diastole_s, (50.0, 120.0), (0.6, 0.3))
    assert _flipped(labels, cands) is True


def _faint_s2_heart(rate: float, seed: int) -> tuple[NDArray, NDArray]:
    """A steady rhythm with systole as long as diastole and a faint, high-pitched S2 (a third
    of S1's level): the chain search keeps one sound per beat and the half-rate guard reads it
    at twice its rate. The samples and the S1 times."""
    rng = np.random.default_rng(seed)
    period, n = 60.0 / rate, int(12.0 * FS_HZ)
    s1 = np.arange(0.2, 11.5, period)
    x = 0.01 * rng.standard_normal(n)
    for t in s1:
        x += 0.5 * burst(n, t, 45.0, 0.02, FS_HZ) + 0.15 * burst(
            n, t + period / 2.0, 110.0, 0.012, FS_HZ
        )
    return x, s1


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("rate", [170.0, 190.0])
def test_a_fast_heart_read_at_half_rate_is_searched_again_and_keeps_its_s1s(
    rate: float, seed: int
) -> None:
    # On main the guard's partners labelled every S1 an S2 (0 of 33 S1s at 170/min).
    x, s1 = _faint_s2_heart(rate, seed)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert abs(heart.rate_bpm - rate) <= 5.0
    for found, truth in ((heart.s1_s, s1), (heart.s2_s, s1 + 30.0 / rate)):
        hits = sum(bool(np.any(np.abs(np.asarray(found) - t) <= 0.06)) for t in truth)
        assert hits >= 0.9 * truth.size, (hits, truth.size)


def _doubled_inputs(
    rate: float,
) -> tuple[NDArray[np.float64], Candidates, HeartSounds, CycleEstimate]:
    """The envelope of :func:`_faint_s2_heart` at ``rate``, its candidate sounds, and the
    half-rate guard's sounds and cycle for the chain the search found in it (one sound per
    beat)."""
    x, _ = _faint_s2_heart(rate, 0)
    env = heart_envelope(Spectrum(x, FS_HZ))
    cands = sound_candidates(env, ENVELOPE_RATE_HZ)
    sounds, cycle = seg.segment_heart_sounds(env, ENVELOPE_RATE_HZ, cands, estimate_cycles(env))
    guarded, faster = guard_half_rate(env, ENVELOPE_RATE_HZ, sounds, cycle)
    assert faster.period_s < cycle.period_s  # read at half rate, then doubled
    return env, cands, guarded, faster


def _count(sounds: HeartSounds) -> int:
    return sounds.s1_s.size + sounds.s2_s.size


def test_a_doubled_chain_is_searched_again_from_130_per_min() -> None:
    env, cands, guarded, cycle = _doubled_inputs(170.0)
    again = seg.segment_doubled(env, ENVELOPE_RATE_HZ, cands, guarded, cycle)
    assert again is not None
    assert _count(again[0]) >= _count(guarded)
    assert again[1].period_s == pytest.approx(60.0 / 170.0, abs=0.01)
    none = HeartSounds(np.zeros(0), np.zeros(0))  # no sounds to keep: the bound alone decides
    for rate, searched in ((130.0, True), (129.9, False)):
        period = 60.0 / rate
        slower = CycleEstimate(period, 0.4 * period, 0.5)
        again = seg.segment_doubled(env, ENVELOPE_RATE_HZ, cands, none, slower)
        assert (again is not None) is searched


def test_a_doubled_chain_searched_again_is_kept_only_with_as_many_sounds() -> None:
    env, cands, guarded, cycle = _doubled_inputs(170.0)
    again = seg.segment_doubled(env, ENVELOPE_RATE_HZ, cands, guarded, cycle)
    assert again is not None
    labelled = _count(again[0])
    for held, kept in ((labelled, True), (labelled + 1, False)):
        sounds = HeartSounds(np.zeros(held - guarded.s2_s.size), guarded.s2_s)
        again = seg.segment_doubled(env, ENVELOPE_RATE_HZ, cands, sounds, cycle)
        assert (again is not None) is kept


@pytest.mark.parametrize(
    ("systole_s", "diastole_s", "by_centroid"),
    # Close phases: 146/min and 150/min by the centroid, 95/min and 129.0/min by the share.
    [(0.2, 0.21, True), (0.2, 0.2, True), (0.3, 0.33, False), (0.23, 0.235, False)],
)
def test_a_doubled_fast_chain_is_oriented_by_the_centroid_whatever_its_phases(
    systole_s: float, diastole_s: float, by_centroid: bool
) -> None:
    # The "S1"s are the lower-pitched sounds by the centroid, the higher by the share.
    labels, cands = _candidates(systole_s, diastole_s, (50.0, 120.0), (0.6, 0.3))
    assert cj._oriented(labels, cands)[0][1] != labels[0][1]  # the chain's own: the share
    doubled = cj._oriented(labels, cands, doubled=True)
    assert (doubled[0][1] == labels[0][1]) is by_centroid
    bare = Candidates(cands.times_s, cands.reward, cands.weak, cands.low, cands.pitch, 0.01)
    assert cj._oriented(labels, bare, doubled=True)[0][1] != labels[0][1]  # no centroids


@pytest.mark.parametrize(
    "beats",
    # 12 beats: the chain is searched again under its own durations and oriented then; 3 beats
    # (two diastoles): no second pass, the first orientation stands.
    [12, 3],
)
def test_the_chain_search_orients_a_doubled_chain_by_the_centroid(beats: int) -> None:
    # 150/min, phases equal: the "S1"s are the lower-pitched sounds by the centroid, the higher
    # by the share. The chain search's own chain keeps the share; a doubled one the centroid.
    _, cands = _candidates(0.2, 0.2, (50.0, 120.0), (0.6, 0.3), beats)
    model = [CycleEstimate(0.4, 0.2, 0.5)]
    own, _ = seg._searched_chain(cands, model)
    doubled, _ = seg._searched_chain(cands, model, doubled=True)
    assert len(own) == len(doubled) == 2 * beats
    assert own[0][1] == S2  # the first sound (a low "S1") taken for an S2, by the share
    assert doubled[0][1] == S1


def test_a_doubled_chain_is_searched_again_over_the_same_candidates_as_doubled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The heart analysis builds the candidates once, with the pitch envelope and the band (the
    # centroids), and searches the doubled chain over those very candidates, told it is
    # doubled: what orients it by the centroid.
    x, _ = _faint_s2_heart(170.0, 0)
    seen: dict[str, Candidates] = {}
    searched_as: list[object] = []
    segment, doubled = heart_analysis.segment_heart_sounds, heart_analysis.segment_doubled
    searched = seg._searched_chain

    def spy_segment(
        env: NDArray[np.float64],
        fs_hz: float,
        cands: Candidates,
        cycles: list[CycleEstimate],
        searched_only: bool = False,
    ) -> tuple[HeartSounds, CycleEstimate]:
        seen["chain"] = cands
        return segment(env, fs_hz, cands, cycles, searched_only)

    def spy_doubled(
        env: NDArray[np.float64],
        fs_hz: float,
        cands: Candidates,
        sounds: HeartSounds,
        cycle: CycleEstimate,
    ) -> tuple[HeartSounds, CycleEstimate] | None:
        seen["doubled"] = cands
        searched_as.clear()
        return doubled(env, fs_hz, cands, sounds, cycle)

    def spy_search(*args: object, **kwargs: object) -> tuple[list[tuple[int, int]], CycleEstimate]:
        searched_as.append(kwargs.get("doubled"))
        return searched(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(heart_analysis, "segment_heart_sounds", spy_segment)
    monkeypatch.setattr(heart_analysis, "segment_doubled", spy_doubled)
    monkeypatch.setattr(seg, "_searched_chain", spy_search)
    analyze(x, FS_HZ, "heart")
    assert seen["doubled"] is seen["chain"]
    assert seen["chain"].pitch is not None and seen["chain"].centroids is not None
    assert searched_as == [True]


def test_an_envelope_without_peaks_gives_no_sounds_and_the_favourite_cycle() -> None:
    cycle = CycleEstimate(0.4, 0.16, 0.5)
    env = np.zeros(200)
    cands = sound_candidates(env, ENVELOPE_RATE_HZ)
    sounds, found = seg.segment_heart_sounds(env, ENVELOPE_RATE_HZ, cands, [cycle])
    assert found is cycle
    for times in (sounds.s1_s, sounds.s2_s):
        assert isinstance(times, np.ndarray) and times.size == 0
