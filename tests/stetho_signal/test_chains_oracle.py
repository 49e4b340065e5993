"""The chain search against every chain: on a few peaks, its best chain is the best of all.

The oracle scores a chain as :func:`stetho_signal._chains.best_chains` documents it, written
out link by link, and tries every labelling of every subset of peaks. It pins each cost the
dynamic programme adds (rewards, skips, weak pairs, low-pitched S2s, the interval's penalty
and a short diastole's wider spread, restarts after silence), which the search's other tests
reach only through whole recordings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest

from stetho_signal import _chains
from stetho_signal._chains import GAP_COST, LINK_SPAN_PERIODS, SKIP_COST, best_chains
from stetho_signal._peaks import Candidates
from stetho_signal.envelope import CycleEstimate

S1, S2 = _chains.S1, _chains.S2


def _expected_and_spread(cycle: CycleEstimate, into: int, frm: int) -> tuple[float, float]:
    diastole = max(cycle.period_s - cycle.systole_s, 0.05)
    sys_spread = 0.03 + 0.1 * cycle.systole_s
    dia_spread = 0.05 + 0.25 * diastole
    if into == frm:  # a whole cycle, a sound skipped
        return cycle.period_s, sys_spread + dia_spread
    if into == S1:
        return diastole, dia_spread
    return cycle.systole_s, sys_spread


def _step(
    cands: Candidates,
    cycle: CycleEstimate,
    widen: np.ndarray | None,
    a: tuple[int, int],
    b: tuple[int, int],
) -> float:
    """What the step from peak-label ``a`` to ``b`` adds to a chain."""
    (pa, la), (pb, lb) = a, b
    earned = cands.reward[pb] - (SKIP_COST if lb == S2 and cands.low[pb] else 0.0)
    interval = cands.times_s[pb] - cands.times_s[pa]
    reach = LINK_SPAN_PERIODS * cycle.period_s
    if interval > reach:  # a restart: the gap, and a skip for every cycle of silence past reach
        return earned - GAP_COST - SKIP_COST / cycle.period_s * (interval - reach)
    if cands.weak[pa] and cands.weak[pb]:
        earned -= SKIP_COST
    if la == lb:
        earned -= SKIP_COST
    expected, spread = _expected_and_spread(cycle, lb, la)
    if widen is not None and widen[pb] and la == S2 and lb == S1 and interval < expected:
        spread = 0.05 + _chains.SHORT_DIASTOLE_SPREAD * expected
    return earned - math.log1p(((interval - expected) / spread) ** 2)


def _best_by_every_chain(
    cands: Candidates, cycle: CycleEstimate, widen: np.ndarray | None
) -> tuple[list[tuple[int, int]], float]:
    best: tuple[list[tuple[int, int]], float] = ([], -math.inf)
    for chain, score in _every_chain(cands, cycle, widen):
        if score > best[1]:
            best = (chain, score)
    return best


def _every_chain(
    cands: Candidates, cycle: CycleEstimate, widen: np.ndarray | None
) -> Iterator[tuple[list[tuple[int, int]], float]]:
    """Every labelled chain of the candidates, with its score summed link by link."""
    for labels in itertools.product((None, S1, S2), repeat=cands.times_s.size):
        chain = [(p, lab) for p, lab in enumerate(labels) if lab is not None]
        if not chain:
            continue
        first_peak, first_label = chain[0]
        score = cands.reward[first_peak] - (
            SKIP_COST if first_label == S2 and cands.low[first_peak] else 0.0
        )
        for a, b in itertools.pairwise(chain):
            score += _step(cands, cycle, widen, a, b)
        yield chain, score


def _random_case(seed: int) -> tuple[Candidates, list[CycleEstimate], np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    # Peaks 0.05-0.9 s apart: links within reach, short and long, and gaps past it.
    times = np.cumsum(rng.uniform(0.05, 0.9, n))
    cands = Candidates(
        times_s=times,
        reward=rng.uniform(0.0, 6.0, n),  # to over the gap cost: a chain worth restarting from
        weak=rng.random(n) < 0.4,
        low=rng.random(n) < 0.3,
    )
    cycles = [
        CycleEstimate(period_s=p, systole_s=s, periodicity=0.5)
        for p, s in ((0.8, 0.3), (0.45, 0.2), (1.3, 0.35), (0.3, 0.28))  # the last: diastole floor
    ]
    return cands, cycles, rng.random(n) < 0.5


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("widened", [False, True])
def test_each_models_chain_is_the_best_of_every_chain(seed: int, widened: bool) -> None:
    cands, cycles, widen = _random_case(seed)
    found = best_chains(cands, cycles, widen=widen if widened else None)
    for cycle, (chain, score) in zip(cycles, found, strict=True):
        want_chain, want_score = _best_by_every_chain(cands, cycle, widen if widened else None)
        assert score == pytest.approx(want_score, abs=1e-9)
        assert chain == want_chain


def test_a_link_exactly_at_reach_is_a_link_and_past_it_a_restart() -> None:
    # Reach 1.6 x 0.5 s = 0.8 s. Exactly at reach the peaks still link (no gap cost); a hair
    # past it the chain restarts, at the gap cost plus the skips for the silence past reach.
    cycle = CycleEstimate(period_s=0.5, systole_s=0.2, periodicity=0.5)
    for second_s, linked in ((1.8, True), (1.8 + 1e-6, False)):
        cands = Candidates(
            times_s=np.array([1.0, second_s]),
            reward=np.array([5.0, 5.0]),
            weak=np.zeros(2, bool),
            low=np.zeros(2, bool),
        )
        [(chain, score)] = best_chains(cands, [cycle])
        assert [peak for peak, _ in chain] == [0, 1]
        assert (score > 10.0 - GAP_COST) is linked
        assert score == pytest.approx(_best_by_every_chain(cands, cycle, None)[1], abs=1e-9)


def _every_chain_end(
    cands: Candidates, cycle: CycleEstimate, widen: np.ndarray | None
) -> tuple[np.ndarray, float]:
    """Each peak's best score of a chain ending there (either label), and the best of all."""
    ends = np.full(cands.times_s.size, -math.inf)
    for chain, score in _every_chain(cands, cycle, widen):
        ends[chain[-1][0]] = max(ends[chain[-1][0]], score)
    return ends, float(np.max(ends))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("widened", [False, True])
def test_the_abandon_bound_is_never_under_the_best_chain_at_any_rate(
    seed: int, widened: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At each peak i the search gives up only when the bound, the best over peaks j <= i of
    # their best chain end plus allowance, plus the steps after i (or a fresh start after i),
    # is under the bar: it must never be under the model's best chain, whatever the rate.
    cands, cycles, widen = _random_case(seed)
    searched: list[tuple[object, ...]] = []
    monkeypatch.setattr(_chains, "_searched", lambda *args: searched.append(args) or [])
    best_chains(cands, cycles, widen=widen if widened else None)
    gains, reaching, _, _, rewards, spans, _ = searched[0]
    chain_ends = [_every_chain_end(cands, c, widen if widened else None) for c in cycles]
    for rate in (0.0, _chains._ALLOWANCE_RATE, 3.0):
        monkeypatch.setattr(_chains, "_ALLOWANCE_RATE", rate)
        after, fresh, allowance = _chains._score_bounds(
            np.max(gains, axis=0), reaching, rewards[0], *spans
        )
        for k, (ends, best) in enumerate(chain_ends):
            lead = np.maximum.accumulate(ends + allowance)
            bound = np.maximum(lead + after[k], fresh[k])
            assert np.all(bound >= best - 1e-9), (rate, k)
