"""The chain search gives up on a cycle model only when its chain cannot reach the bar."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import _chains
from stetho_signal import segmentation as seg
from stetho_signal._peaks import Candidates, sound_candidates
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import CycleEstimate, estimate_cycles, heart_envelope
from stetho_sim.sounds import FS_HZ, pcg


def _candidates_and_models(
    rate: float, noise: float, murmur: float
) -> tuple[seg._Candidates, list[CycleEstimate]]:
    x, _, _ = pcg(rate, 12.0, jitter=0.1, murmur=murmur, noise=noise, seed=5)
    env = heart_envelope(Spectrum(x, FS_HZ))
    cycles = estimate_cycles(env)
    # Many models, near and far from the true cycle: some lose narrowly, some by far.
    models = list(cycles) + [
        CycleEstimate(period_s=p, systole_s=min(0.3, 0.4 * p), periodicity=0.5)
        for p in 60.0 / rate * np.array([0.5, 0.8, 0.95, 1.05, 1.25, 2.0])
    ]
    return sound_candidates(env, 100.0), models


@pytest.mark.parametrize(
    ("rate", "noise", "murmur"), [(45.0, 0.2, 1.0), (72.0, 0.05, 0.0), (150.0, 0.1, 2.0)]
)
def test_a_model_is_abandoned_only_when_its_chain_scores_under_the_bar(
    rate: float, noise: float, murmur: float
) -> None:
    cands, models = _candidates_and_models(rate, noise, murmur)
    full = _chains.best_chains(cands, models)
    # The tightest judge the contract allows: a chain is worth its own score.
    judged = _chains.best_chains(cands, models, lambda k, chain, score: score)
    abandoned = 0
    bar = -np.inf
    for (chain, score), result in zip(full, judged, strict=True):
        if result is _chains.ABANDONED:
            abandoned += 1
            assert score < bar  # a bound too tight would give up on a chain that could win
        else:
            assert result == (chain, score)  # searched to the end: the same chain and score
            bar = max(bar, score)
    assert abandoned > 0  # the test exercises the bound


@pytest.mark.parametrize(("rate", "noise", "murmur"), [(45.0, 0.2, 1.0), (150.0, 0.1, 2.0)])
def test_a_chain_that_reaches_the_bar_exactly_is_searched_to_the_end(
    rate: float, noise: float, murmur: float
) -> None:
    # Each model twice: the second copy's bar is its own score, so its bound must hold at every
    # peak (a bound under the chain's score, anywhere, gives it up).
    cands, models = _candidates_and_models(rate, noise, murmur)
    for model in models:
        first, second = _chains.best_chains(cands, [model, model], lambda k, c, score: score)
        assert second == first


def test_without_a_judge_no_model_is_abandoned() -> None:
    cands, models = _candidates_and_models(72.0, 0.05, 0.0)
    assert all(r is not _chains.ABANDONED for r in _chains.best_chains(cands, models))


def test_score_bounds_sum_the_positive_steps_after_each_peak() -> None:
    # One model, three peaks at 0, 1 and 2.5 s, one link into each of the last two: at best +1
    # over 1 s, then -2 over 1.5 s; the last peak is out of the first one's reach (1.6 s), and
    # a restart into it adds up to its reward less the gap cost, over more than the reach.
    rate = _chains._ALLOWANCE_RATE
    largest = np.array([1.0, -2.0])  # of each link's four gains
    times = np.array([0.0, 1.0, 2.5])
    reward = np.array([0.5, 0.8, 6.0])
    after, fresh, allowance = _chains._score_bounds(
        largest, np.array([[0, 1, 1]]), reward, np.array([1.0, 1.5]), times, np.array([1.6])
    )
    into_1, into_2 = 1.0 - rate * 1.0, 6.0 - _chains.GAP_COST - rate * 1.6
    assert into_1 > 0 and into_2 > 0 and -2.0 - rate * 1.5 < 0
    np.testing.assert_allclose(after, [[into_1 + into_2, into_2, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(allowance, rate * (2.5 - times), rtol=1e-15)
    # A chain starting after peak 0 or 1: at best a fresh start at the last peak.
    np.testing.assert_array_equal(fresh, [[6.0, 6.0, -np.inf]])


def test_score_bounds_count_only_the_positive_steps() -> None:
    # Steps +1 over 0.5 s, then max(-2 over 0.5 s, -3 over 1 s); all within reach.
    rate = _chains._ALLOWANCE_RATE
    times = np.array([0.0, 0.5, 1.0])
    after, fresh, _ = _chains._score_bounds(
        np.array([1.0, -2.0, -3.0]),
        np.array([[0, 1, 2]]),
        np.array([0.5, 0.8, 0.2]),
        np.array([0.5, 0.5, 1.0]),
        times,
        np.array([1.6]),
    )
    np.testing.assert_allclose(after, [[1.0 - rate * 0.5, 0.0, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(fresh, [[0.8 + rate * 0.5, 0.2, -np.inf]], rtol=1e-15)


def test_a_finished_chain_is_judged_only_when_it_scores_at_least_the_bar() -> None:
    # Four beats, S1 and S2 of equal reward. Under the true cycle (models 0 and 2) the chain
    # scores 8; under a cycle 5 % fast (model 1) less, and its best score plus allowance rises
    # at every peak, so no peak's bound gives it up: it is searched to the end but, under the
    # bar, not judged. (A cycle 10 % fast with a longer systole is given up.)
    # The copy of the true cycle scores the bar exactly and is judged (the caller breaks ties
    # by the judgements).
    times = np.array([0.0, 0.3, 1.0, 1.3, 2.0, 2.3, 3.0, 3.3])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, np.ones(times.size), flags, flags)
    true, fast = CycleEstimate(1.0, 0.3, 0.5), CycleEstimate(0.95, 0.32, 0.5)
    calls: list[tuple[int, float]] = []

    def judge(k: int, chain: _chains.Chain, score: float) -> float:
        calls.append((k, score))
        return score  # the most a chain may be worth

    results = _chains.best_chains(cands, [true, fast, true], judge)
    assert [len(chain) for chain, _ in results] == [8, 8, 8]  # none abandoned
    assert results[1][1] < 8.0
    assert calls == [(0, 8.0), (2, 8.0)]


def _beats_after_noise(low_first: bool) -> Candidates:
    """Two faint noise peaks, then three beats (S1 0.125 s before S2, 0.5 s cycles) from 1 s, out
    of the noise's reach (0.8 s); the first S1 low-pitched when asked. (Times in sixteenths of
    a second: the bounds' sums, intervals at the allowance's rate, are exact.)"""
    times = np.array([0.0, 0.0625, 1.0, 1.125, 1.5, 1.625, 2.0, 2.125])
    reward = np.array([0.2, 0.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    low = np.zeros(times.size, dtype=bool)
    low[2] = low_first
    return Candidates(times, reward, np.zeros(times.size, dtype=bool), low)


def test_a_chain_starts_on_its_first_peaks_s1_reward() -> None:
    # A low-pitched sound loses its reward labelled S2 only: the chain starts on the S1 reward.
    cands = _beats_after_noise(low_first=True)
    [(chain, score)] = _chains.best_chains(cands, [CycleEstimate(0.5, 0.125, 0.5)])
    assert chain == [(2 + k, k % 2) for k in range(6)]
    assert score == 6.0  # 1 for the start, 1 for each of the five links at their durations


def test_a_fresh_chain_is_bounded_by_its_first_peaks_s1_reward() -> None:
    # The beats' chain is the one a chain starting after the noise can score, and it starts on a
    # low-pitched sound as S1: bounded by its S2 reward, the copy (whose bar is the chain's own
    # score) would be given up at the second noise peak.
    cands = _beats_after_noise(low_first=True)
    model = CycleEstimate(0.5, 0.125, 0.5)
    first, second = _chains.best_chains(cands, [model, model], lambda k, c, score: score)
    assert second == first


def test_a_model_whose_chain_starts_on_a_low_pitched_s1_is_searched_on() -> None:
    # Both models' best chain is the loud low-pitched sound alone, as S1 (6; as S2 it earns
    # 4.5). Bounded by the S2 reward, the second model's chain starting after the weak peaks
    # would fall under the first model's worth (6), and it would be given up.
    times = np.array([0.5, 1.25, 3.25, 4.25])
    weak, low = np.array([True, True, False, False]), np.array([False, False, False, True])
    cands = Candidates(times, np.array([1.0, 0.0, 0.5, 6.0]), weak, low)
    models = [CycleEstimate(1.0, 0.25, 0.5), CycleEstimate(0.5, 0.25, 0.5)]
    judged = _chains.best_chains(cands, models, lambda k, chain, score: score)
    assert judged == [([(3, 0)], 6.0)] * 2


def test_a_model_is_given_up_before_peaks_only_a_restart_reaches() -> None:
    # Three sounds, a silence of 2 s, five loud ones. Under a 0.5 s cycle (reach 0.8 s) the
    # first loud sound is reached only by a restart, which adds at most its reward less the gap
    # cost: the model, whose chain scores 20.7 under the 1 s cycle's 22.1, is given up there.
    times = np.array([0.375, 0.5, 0.625, 2.625, 3.375, 3.75, 3.875, 4.125])
    reward = np.array([1.0, 0.0, 1.0, 6.0, 6.0, 6.0, 4.0, 4.0])
    weak = np.isin(np.arange(8), [2, 6])
    cands = Candidates(times, reward, weak, np.isin(np.arange(8), [1, 2]))
    models = [CycleEstimate(1.0, 0.25, 0.5), CycleEstimate(0.5, 0.25, 0.5)]
    full = _chains.best_chains(cands, models)
    judged = _chains.best_chains(cands, models, lambda k, chain, score: score)
    assert full[1][1] == pytest.approx(20.705, abs=1e-3)
    assert full[0][1] == pytest.approx(22.111, abs=1e-3)
    assert judged == [full[0], _chains.ABANDONED]


def test_a_chain_bounded_at_the_bar_less_the_slack_is_searched_to_the_end() -> None:
    # The copy's bar sits the slack over its chain's score (a judge paying more than the score,
    # against its contract, to put it there): a chain starting after the noise is bounded by
    # exactly the bar less the slack, no proof that it falls short, so the copy is searched to
    # the end (though, under the bar, not judged).
    cands = _beats_after_noise(low_first=False)
    model = CycleEstimate(0.5, 0.125, 0.5)
    calls: list[int] = []

    def judge(k: int, chain: _chains.Chain, score: float) -> float:
        calls.append(k)
        return score + _chains._BOUND_SLACK

    first, second = _chains.best_chains(cands, [model, model], judge)
    assert first[1] + _chains._BOUND_SLACK - _chains._BOUND_SLACK == first[1] == 6.0
    assert second == first
    assert calls == [0]


def test_a_chain_whose_best_so_far_can_reach_the_bar_less_the_slack_is_searched_on() -> None:
    # Three beats (6), a faint sound between the second and third that no chain gains by. At the
    # faint sound the copy's best so far (4) plus what the last beat can add (2) is exactly its
    # bar less the slack (the judge pays the slack over the score, as above): no proof that it
    # falls short, so the copy is searched to the end.
    times = np.array([0.0, 0.25, 1.0, 1.25, 1.5, 2.0, 2.25])
    reward = np.array([1.0, 1.0, 1.0, 1.0, 0.1, 1.0, 1.0])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, reward, flags, flags)
    model = CycleEstimate(1.0, 0.25, 0.5)
    calls: list[int] = []

    def judge(k: int, chain: _chains.Chain, score: float) -> float:
        calls.append(k)
        return score + _chains._BOUND_SLACK

    first, second = _chains.best_chains(cands, [model, model], judge)
    assert first == ([(0, 0), (1, 1), (2, 0), (3, 1), (5, 0), (6, 1)], 6.0)
    assert second == first
    assert calls == [0]


@pytest.mark.parametrize(
    ("before", "after", "labels_after"),
    [
        ([0.0, 0.3, 1.0], [5.0, 5.3, 6.0, 6.3], [0, 1, 0, 1]),  # ends on an S1, restarts on one
        ([0.0, 0.3, 1.0, 1.3], [5.0, 5.3, 6.0, 6.3], [0, 1, 0, 1]),  # an S2, then an S1
        ([0.0, 0.3, 1.0, 1.3], [5.0, 5.7, 6.0, 6.7], [1, 0, 1, 0]),  # an S2, then an S2
    ],
)
def test_a_chain_restarts_after_silence_from_the_sound_it_ended_on(
    before: list[float], after: list[float], labels_after: list[int]
) -> None:
    # Loud beats, then 3.7 s of silence (past any link's reach), then more: the best chain
    # restarts after the gap from the first beats' last sound and traces back through it.
    times = np.array(before + after)
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, np.full(times.size, 5.0), flags, flags)
    [(chain, _)] = _chains.best_chains(cands, [CycleEstimate(1.0, 0.3, 0.5)])
    labels = [k % 2 for k in range(len(before))] + labels_after
    assert chain == list(enumerate(labels))


def test_a_chain_restarts_after_silence_from_its_first_peak() -> None:
    # One very loud sound, then beats out of its reach: the chain restarts from it.
    times = np.array([0.0, 5.0, 5.3, 6.0, 6.3])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, np.array([20.0, 5.0, 5.0, 5.0, 5.0]), flags, flags)
    [(chain, _)] = _chains.best_chains(cands, [CycleEstimate(1.0, 0.3, 0.5)])
    assert chain == [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)]


@pytest.mark.parametrize(
    ("after", "labels_after"),
    [([5.0, 5.3, 6.0, 6.3], [0, 1, 0, 1]), ([5.0, 5.7, 6.0, 6.7], [1, 0, 1, 0])],
)
def test_a_restart_costs_more_the_longer_the_silence_it_crosses(
    after: list[float], labels_after: list[int]
) -> None:
    # Two groups of beats scoring 10 each, 3.7 s apart (gap cost 4 plus a skip, 1.5, per cycle
    # of silence past a link's reach: 9.1 less the 1.95 of the first group's end): joined, 13,
    # restarting on an S1 or an S2. Charged from the start of the recording instead of from the
    # group's end, the silence would cost more than the first group scores.
    times = np.array([0.0, 0.3, 1.0, 1.3, *after])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, np.full(times.size, 2.5), flags, flags)
    [(chain, score)] = _chains.best_chains(cands, [CycleEstimate(1.0, 0.3, 0.5)])
    assert chain == list(enumerate([0, 1, 0, 1, *labels_after]))
    assert score == pytest.approx(20.0 - 9.1 + 1.95)


def test_a_chain_skips_an_inaudible_s1_between_two_s2s() -> None:
    # A beat whose S1 nobody heard: the chain links its S2 to the S2 before, a whole cycle back,
    # at a skip's cost (1.5), and traces back through that S2 to the first S1. Read as an S1
    # instead, the lone sound would cost more: a diastole 0.25 s long, then a bad systole.
    times = np.array([0.0, 0.25, 1.25, 2.0, 2.25])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, np.ones(times.size), flags, flags)
    [(chain, score)] = _chains.best_chains(cands, [CycleEstimate(1.0, 0.25, 0.5)])
    assert chain == [(0, 0), (1, 1), (2, 1), (3, 0), (4, 1)]
    assert score == 5.0 - _chains.SKIP_COST  # every interval as expected


def test_a_chain_restarts_after_silence_from_the_best_chain_ended_before_it() -> None:
    # Two loud beats (20), a faint sound after them that no chain gains by (0.1, 0.25 s too
    # early for an S1), then 3.5 s of silence and two more loud beats. The restart after the
    # silence starts from the best chain ended before its reach, the first beats' (not from the
    # faint sound, nor an earlier part of the beats), and the gap it pays runs from that
    # chain's last sound at 1.25 s: 4 plus a skip (1.5) per second of silence past the link
    # span (5.0 - 1.25 - 1.6 s).
    times = np.array([0.0, 0.25, 1.0, 1.25, 1.5, 5.0, 5.25, 6.0, 6.25])
    reward = np.array([5.0, 5.0, 5.0, 5.0, 0.1, 5.0, 5.0, 5.0, 5.0])
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, reward, flags, flags)
    [(chain, score)] = _chains.best_chains(cands, [CycleEstimate(1.0, 0.25, 0.5)])
    assert chain == [(0, 0), (1, 1), (2, 0), (3, 1), (5, 0), (6, 1), (7, 0), (8, 1)]
    gap = _chains.GAP_COST + _chains.SKIP_COST * (5.0 - 1.25 - _chains.LINK_SPAN_PERIODS)
    assert score == pytest.approx(40.0 - gap, abs=1e-12)


def test_a_model_that_cannot_win_is_given_up_before_a_silence() -> None:
    # Six beats, then a silence past either model's reach and one loud peak after it. Under
    # the true cycle the chain scores 13.85; a cycle of 0.45 s links none of the beats well
    # and is given up on during them: what follows a silence is worth at most its reward
    # less the gap cost, so the loud peak, which raises that chain's best score, cannot
    # keep it alive.
    beats = np.arange(6.0)
    times = np.sort(np.concatenate([beats, beats + 0.3, [7.0]]))
    reward = np.ones(times.size)
    reward[-1] = 6.0
    flags = np.zeros(times.size, dtype=bool)
    cands = Candidates(times, reward, flags, flags)
    models = [CycleEstimate(1.0, 0.3, 0.5), CycleEstimate(0.45, 0.2, 0.5)]
    full = _chains.best_chains(cands, models)
    judged = _chains.best_chains(cands, models, lambda k, chain, score: score)
    assert full[0][1] == pytest.approx(13.85, abs=0.01) and full[1][1] < full[0][1]
    assert judged[0] == full[0]
    assert judged[1] is _chains.ABANDONED


def test_the_bound_counts_no_restart_into_a_peak_every_earlier_peak_reaches() -> None:
    # Three weak peaks; the last (reward 9, low-pitched) lies 1.6 s after the first, within
    # the 1 s cycle's reach (1.6 s) of both earlier ones, so no chain can restart into it. Its
    # best link (from the first, S1 to S1: 9 less a skip, a weak pair's skip and 1.88 for the
    # interval) adds 4.12, so after the second peak (best score 5) this model's chain can
    # reach 9.12, under the first model's worth (the judge pays at most 9.5): it is given up
    # there. Counting a restart's 9 - GAP_COST = 5 into the last peak would bound it at 10 and
    # search it to the end.
    times = np.array([0.0, 0.01, 1.6])
    weak = np.ones(3, dtype=bool)
    cands = Candidates(times, np.array([5.0, 0.0, 9.0]), weak, np.array([False, False, True]))
    models = [CycleEstimate(3.2, 1.6, 0.5), CycleEstimate(1.0, 0.5, 0.5)]
    full = _chains.best_chains(cands, models)
    judged = _chains.best_chains(cands, models, lambda k, chain, score: min(score, 9.5))
    assert full[0][1] >= 9.5
    assert full[1] == ([(0, 0), (2, 0)], pytest.approx(9.12, abs=0.01))
    assert judged[0] == full[0]
    assert judged[1] is _chains.ABANDONED


_LOW = -9.0  # an S2 reward or a link gain no chain takes


def _programme(
    reward1: list[float],
    links: list[list[tuple[float, float, float, float]]],
    restart: list[float] | None = None,
    need: list[float] | None = None,
) -> tuple[_chains.Chain, float] | None:
    """:func:`_chains._chain` of one model on peaks given by hand: each peak's S1 reward (its S2
    reward :data:`_LOW`) and its links' four gains, nearest predecessor first; no credit."""
    n = len(reward1)
    gains = np.array([gain for peak in links for gain in peak], dtype=np.float64).reshape(-1, 4)
    return _chains._chain(
        np.ascontiguousarray(gains.T),
        np.max(gains, axis=1),
        [len(peak) for peak in links],
        restart if restart is not None else [0.0] * n,
        [0.0] * n,
        (reward1, [_LOW] * n),
        need if need is not None else [-np.inf] * n,
        [0.0] * n,
    )


def test_a_link_that_only_ties_a_fresh_start_is_not_taken() -> None:
    # Peak 1 scores 2 started fresh, or 1 + 1 linked from peak 0 as S1 or S2: the start stays.
    assert _programme([1.0, 2.0], [[], [(1.0, _LOW, _LOW, _LOW)]]) == ([(1, 0)], 2.0)
    # The same through peak 0's S2 (its S2 reward 1 here, its S1 reward under it).
    gains = np.array([[_LOW], [1.0], [_LOW], [_LOW]])
    assert _chains._chain(
        gains,
        np.max(gains, axis=0),
        [0, 1],
        [0.0, 0.0],
        [0.0, 0.0],
        ([0.0, 2.0], [1.0, _LOW]),
        [-np.inf] * 2,
        [0.0] * 2,
    ) == ([(1, 0)], 2.0)


def test_a_link_into_s2_that_only_ties_a_fresh_start_is_not_taken() -> None:
    # As above, peak 1 labelled S2 (its S2 reward 2, its S1 reward under it).
    for gain in ((1.0, _LOW), (_LOW, 1.0)):
        gains = np.array([[_LOW], [_LOW], [gain[0]], [gain[1]]])
        assert _chains._chain(
            gains,
            np.max(gains, axis=0),
            [0, 1],
            [0.0, 0.0],
            [0.0, 0.0],
            ([1.0, _LOW], [1.0, 2.0]),
            [-np.inf] * 2,
            [0.0] * 2,
        ) == ([(1, 1)], 2.0)


def test_a_restart_that_only_ties_a_fresh_start_is_not_taken() -> None:
    # Peak 1 is out of peak 0's reach: restarting from it (1 - 1, then 2) ties starting fresh.
    assert _programme([1.0, 2.0], [[], []], restart=[0.0, -1.0]) == ([(1, 0)], 2.0)
    gains = np.zeros((4, 0))
    assert _chains._chain(
        gains,
        np.max(gains, axis=0),
        [0, 0],
        [0.0, -1.0],
        [0.0, 0.0],
        ([_LOW, _LOW], [1.0, 2.0]),
        [-np.inf] * 2,
        [0.0] * 2,
    ) == ([(1, 1)], 2.0)


def test_a_search_that_only_ties_its_best_so_far_under_the_bar_is_given_up() -> None:
    # Peak 1 ends at 1, as peak 0 did: no new best, and the bar (5) is out of reach.
    assert _programme([1.0, 1.0], [[], []], restart=[0.0, -10.0], need=[-np.inf, 5.0]) is None


def test_a_restart_goes_back_to_the_first_of_equal_chain_ends() -> None:
    # Peaks 0 and 1 each end a chain scoring 1; peak 2 restarts from the first of them.
    chain = _programme([1.0, 1.0, 5.0], [[], [], []], restart=[0.0, -10.0, 0.0])
    assert chain == ([(0, 0), (2, 0)], 6.0)


def _by_hand(
    rewards: tuple[list[float], list[float]],
    links: list[list[tuple[float, float, float, float]]],
) -> tuple[_chains.Chain, float] | None:
    """:func:`_chains._chain` of one model on peaks given by hand, both rewards given; no
    restart within reach of a chain (each costs 100), no credit, no bar."""
    n = len(links)
    gains = np.array([gain for peak in links for gain in peak], dtype=np.float64).reshape(-1, 4)
    return _chains._chain(
        np.ascontiguousarray(gains.T),
        np.max(gains, axis=1),
        [len(peak) for peak in links],
        [-100.0] * n,
        [0.0] * n,
        rewards,
        [-np.inf] * n,
        [0.0] * n,
    )


def test_a_link_that_raises_the_lower_best_is_read_whatever_the_higher() -> None:
    # The programme passes over a link only when it cannot raise the lower of a peak's two
    # bests. Peak 1 starts at 0 as S1 and 5 as S2; its link from peak 0's S1 (1 + 1) raises
    # the S1 only, to 2, under the S2's 5: read, the chain into peak 2's S2 scores 2 + 10.
    s1 = (1.0, _LOW, _LOW, _LOW)  # into S1 from S1
    links = [[], [s1], [(_LOW, _LOW, 10.0, _LOW)]]
    chain = _by_hand(([1.0, 0.0, _LOW], [_LOW, 5.0, 0.0]), links)
    assert chain == ([(0, 0), (1, 0), (2, 1)], 12.0)


def test_the_lower_best_a_link_leaves_is_the_floor_of_the_next() -> None:
    # Peak 2's nearest link (from peak 1's S1, 1 + 5) raises its S1 to 6; the next one (from
    # peak 0's S1, 1 + 3) raises its S2 from 0 to 4, under the S1's 6: read, the chain into
    # peak 3's S1 through peak 2's S2 scores 4 + 10.
    nothing = (_LOW, _LOW, _LOW, _LOW)
    links = [[], [nothing], [(5.0, _LOW, _LOW, _LOW), (_LOW, _LOW, 3.0, _LOW)]]
    links.append([(_LOW, 10.0, _LOW, _LOW)])  # into S1 from S2
    chain = _by_hand(([1.0, 1.0, 0.0, 0.0], [_LOW, _LOW, 0.0, _LOW]), links)
    assert chain == ([(0, 0), (2, 1), (3, 0)], 14.0)
