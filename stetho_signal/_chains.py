"""The chain search of the S1/S2 segmentation: for each cycle model, the best chain of candidate
peaks labelled S1 or S2 (a dynamic programme over peaks, see :mod:`stetho_signal.segmentation`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_signal._peaks import Candidates
from stetho_signal.envelope import CycleEstimate

S1 = 0
S2 = 1
SKIP_COST = 1.5  # a cycle with an inaudible S1 or S2 costs about as much as z=1.5 off
GAP_COST = 4.0  # restarting the chain after a noisy stretch
LINK_SPAN_PERIODS = 1.6  # longest link, in cycles; beyond it the chain restarts (gap)

Chain = list[tuple[int, int]]  # [(peak index, label), ...]


def best_chains(cands: Candidates, cycles: list[CycleEstimate]) -> list[tuple[Chain, float]]:
    """Best chain of peaks labelled S1 or S2 under each cycle model, and its score.

    A chain scores the rewards of its peaks less the cost of each link. Links cost a
    Cauchy-like ``log(1 + z**2)`` of the interval's deviation ``z`` (in spreads) from the
    expected systole (S1->S2), diastole (S2->S1) or whole cycle (same label twice, plus a skip
    cost): tolerant to the odd long interval of an irregular rhythm. A link between two weak
    peaks (no higher than the background noise reaches) costs a skip too: a chain crossing
    silence through noise peaks claims sounds nobody could hear, and would otherwise read a
    fast rhythm into the long diastoles of a slow heart. Links reach back at most
    ``LINK_SPAN_PERIODS`` cycles; past that the chain may restart from the best chain ended
    before, at a gap cost plus a skip for every further cycle of silence.

    Notes
    -----
    The gains of the links under all models are computed at once with NumPy, each model's
    only for the links within its reach; the dynamic programme over peaks (:func:`_chain`),
    which needs the scores of earlier peaks, then only adds and compares.
    """
    times, reward = cands.times_s, cands.reward
    reward2 = reward - np.where(cands.low, SKIP_COST, 0.0)  # a low-pitched S2 (an S3 or S4)
    n = times.size
    period = np.array([c.period_s for c in cycles])
    max_link = LINK_SPAN_PERIODS * period
    frm, to = _links(times, float(np.max(max_link)))
    interval = times[to] - times[frm]
    # A model links a peak to its nearest predecessors, those within its own reach: per model,
    # the links peak by peak, nearest first.
    model, link = np.nonzero(interval <= max_link[:, None])
    frm, to, interval = frm[link], to[link], interval[link]
    # Rows: the three link durations of _durations (a whole cycle, a diastole, a systole; the two
    # skips share the first); columns: the models' links.
    durations = np.array([_durations(c) for c in cycles])[:, :, :3]
    expected = np.take(durations[:, 0].T, model, axis=1)
    spread = np.take(durations[:, 1].T, model, axis=1)
    z = (interval - expected) / spread
    penalty = np.log1p(z * z)
    # Two weak peaks in a row cost a skip, as a missed sound would.
    both_weak = np.where(cands.weak[to] & cands.weak[frm], SKIP_COST, 0.0)
    into_s1, into_s2 = reward[to] - both_weak, reward2[to] - both_weak
    # One flat list per transition (_TRANSITION_COSTS), no object per link: a tuple per link
    # cost as much as the programme itself, garbage collection included.
    gains = [
        (into - cost - penalty[row]).tolist()
        for into, cost, row in zip(
            (into_s1, into_s1, into_s2, into_s2), _TRANSITION_COSTS, (0, 1, 2, 0), strict=True
        )
    ]
    reaching = np.bincount(model * n + to, minlength=len(cycles) * n).reshape(len(cycles), n)
    ends = np.cumsum(np.sum(reaching, axis=1)).tolist()
    gap_rate = SKIP_COST / period  # a skip per cycle of silence before a restart
    restart = -GAP_COST - gap_rate[:, None] * (times - max_link[:, None])
    credit = gap_rate[:, None] * times
    rewards = (reward.tolist(), reward2.tolist())
    return [
        _chain(
            [row[start:end] for row in gains],
            reaching[k].tolist(),
            restart[k].tolist(),
            credit[k].tolist(),
            rewards,
        )
        for k, (start, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True))
    ]


# Link transitions, in this order: into S1 from S1 (a skip) and from S2, into S2 from S1 and
# from S2 (a skip).
_TRANSITION_COSTS = (SKIP_COST, 0.0, 0.0, SKIP_COST)


def _durations(cycle: CycleEstimate) -> tuple[list[float], list[float]]:
    """Expected interval of each link transition under a cycle model, and its spread (s)."""
    period, systole = cycle.period_s, cycle.systole_s
    diastole = max(period - systole, 0.05)
    sys_spread = 0.03 + 0.1 * systole
    dia_spread = 0.05 + 0.25 * diastole
    both = sys_spread + dia_spread
    return [period, diastole, systole, period], [both, dia_spread, sys_spread, both]


def _chain(
    gains: list[list[float]],
    reaching: list[int],
    restart: list[float],
    credit: list[float],
    reward: tuple[list[float], list[float]],
) -> tuple[Chain, float]:
    """The dynamic programme over (peak, label) of one model: best chain and its score.

    ``gains`` holds four lists, one per transition (into S1 from S1, from S2, into S2 from S1,
    from S2), of what each link adds, peak by peak; peak ``i`` has ``reaching[i]`` links, from
    its nearest predecessors, nearest first. ``reward`` holds what each peak earns labelled S1
    and labelled S2; ``restart[i]`` (plus that reward) is what a restart into peak ``i``
    adds to a chain that ended before its links reach; ``credit`` (the gap cost's rate times
    the time of the chain's end) is added to that chain's score, so the cost grows with the
    silence between them. A (peak, label) node is the int ``2 * peak + label`` (-1: none): no
    tuple per improvement for the garbage collector to track.
    """
    s1_s1, s1_s2, s2_s1, s2_s2 = gains
    reward1, reward2 = reward
    n = len(reward1)
    score1, score2 = list(reward1), list(reward2)  # a chain may start at any peak
    back1, back2 = [-1] * n, [-1] * n
    upto_score: list[float] = []  # best chain end among peaks 0..k, plus its credit
    upto_node: list[int] = []
    first = 0
    for i in range(n):
        best1, best2 = score1[i], score2[i]
        origin1 = origin2 = -1
        j = i - 1
        stop = first + reaching[i]
        for k in range(first, stop):  # the hot loop: plain locals and list reads only
            from1, from2 = score1[j], score2[j]
            value = from1 + s1_s1[k]
            if value > best1:
                best1, origin1 = value, 2 * j
            value = from2 + s1_s2[k]
            if value > best1:
                best1, origin1 = value, 2 * j + S2
            value = from1 + s2_s1[k]
            if value > best2:
                best2, origin2 = value, 2 * j
            value = from2 + s2_s2[k]
            if value > best2:
                best2, origin2 = value, 2 * j + S2
            j -= 1
        first = stop
        if j >= 0:  # j is out of reach: restart from the best chain that ended by then
            value = upto_score[j] + restart[i]
            if value + reward1[i] > best1:
                best1, origin1 = value + reward1[i], upto_node[j]
            if value + reward2[i] > best2:
                best2, origin2 = value + reward2[i], upto_node[j]
        score1[i], score2[i], back1[i], back2[i] = best1, best2, origin1, origin2
        end, node = (
            (best1 + credit[i], 2 * i) if best1 >= best2 else (best2 + credit[i], 2 * i + S2)
        )
        if upto_score and end <= upto_score[-1]:
            end, node = upto_score[-1], upto_node[-1]
        upto_score.append(end)
        upto_node.append(node)
    return _traced(score1, score2, back1, back2)


def _traced(
    score1: list[float], score2: list[float], back1: list[int], back2: list[int]
) -> tuple[Chain, float]:
    """The best chain end (the first on a tie, S1 before S2) traced back, and its score."""
    top = max(max(score1), max(score2))
    # The first peak where either label scores the top: no list of per-peak maxima.
    last = min(_first(score1, top), _first(score2, top))
    node = 2 * last + (S1 if score1[last] >= score2[last] else S2)
    chain: Chain = []
    while node >= 0:
        peak, label = divmod(node, 2)
        chain.append((peak, label))
        node = (back2 if label else back1)[peak]
    chain.reverse()
    return chain, max(score1[last], score2[last])


def _first(values: list[float], value: float) -> int:
    """Index of the first entry equal to ``value``, or the length when there is none."""
    try:
        return values.index(value)
    except ValueError:
        return len(values)


def _links(
    times: NDArray[np.float64], max_link_s: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Peak pairs (from, to) at most ``max_link_s`` apart, by ``to``, nearest ``from`` first."""
    n = times.size
    # A hair wider than asked, then the exact test on the interval (as the DP reads it).
    count = np.arange(n) - np.searchsorted(times, times - max_link_s - 1e-9, side="left")
    to = np.repeat(np.arange(n), count)
    frm = to - 1 - (np.arange(to.size) - np.repeat(np.cumsum(count) - count, count))
    keep = times[to] - times[frm] <= max_link_s
    return frm[keep], to[keep]
