"""The chain search of the S1/S2 segmentation: for each cycle model, the best chain of candidate
peaks labelled S1 or S2 (a dynamic programme over peaks, see :mod:`stetho_signal.segmentation`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from stetho_signal._peaks import Candidates
from stetho_signal.envelope import CycleEstimate

S1 = 0
S2 = 1
SKIP_COST = 1.5  # a cycle with an inaudible S1 or S2 costs about as much as z=1.5 off
GAP_COST = 4.0  # restarting the chain after a noisy stretch
LINK_SPAN_PERIODS = 1.6  # longest link, in cycles; beyond it the chain restarts (gap)
# A diastole shorter than expected, into a sound the caller names (``widen``), spreads this share
# of the expected diastole (plus the fixed 0.05 s) instead of a quarter: atrial fibrillation's
# cycles vary 15-30 % beat to beat, and a diastole it shortens to nothing is 2.4-2.9 steady
# spreads off, costing more than a skipped beat. 0.4 and 0.6 were tried on CirCor made AF-like
# (docs/accuracy.md, tenth round): 0.4 found no more short beats than the steady spread.
SHORT_DIASTOLE_SPREAD = 0.6

# Room left for the rounding of the bound's sums (1e-13 at scores of 1,000) when a model's
# chain search is abandoned (see best_chains): a chain given up on scores at least this much
# under the bar.
_BOUND_SLACK = 1e-6

Chain = list[tuple[int, int]]  # [(peak index, label), ...]
Judge = Callable[[int, Chain, float], float]
"""What a model's best chain is worth to the caller (model index, chain, score): at most its
score; a later model whose chain provably scores under the best worth so far is abandoned, and
one whose finished chain scores under it is not judged."""
ABANDONED: tuple[Chain, float] = ([], -np.inf)
"""The result of a model whose chain search was abandoned."""


def best_chains(
    cands: Candidates,
    cycles: list[CycleEstimate],
    judge: Judge | None = None,
    widen: NDArray[np.bool_] | None = None,
) -> list[tuple[Chain, float]]:
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

    With ``judge``, models are searched in order and each finished chain scoring at least the
    best worth so far is judged; a later model's search stops (its result :data:`ABANDONED`)
    once its chain cannot reach that worth: the caller, which never prefers a chain scoring
    under it, gets the same choice as from every model searched to the end and judged.

    With ``widen`` (one flag per peak), a diastole shorter than expected that ends in a flagged
    peak is spread :data:`SHORT_DIASTOLE_SPREAD` of the expected diastole: the short beats of
    an irregular rhythm (see :mod:`stetho_signal._short_beats`).

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
    frm, to, interval = _links(times, float(np.max(max_link)))
    # What a link adds before its interval's penalty does not depend on the model: per link
    # once, then gathered for every model's links with the interval in one call. Two weak
    # peaks in a row cost a skip, as a missed sound would. Rows: the transitions of
    # _TRANSITION_COSTS (a cost of 0.0 subtracts nothing), then the interval.
    both_weak = np.where(cands.weak[to] & cands.weak[frm], SKIP_COST, 0.0)
    into_s1, into_s2 = reward[to] - both_weak, reward2[to] - both_weak
    per_link = np.stack((into_s1 - SKIP_COST, into_s1, into_s2, into_s2 - SKIP_COST, interval))
    # A model links a peak to its nearest predecessors, those within its own reach: per model,
    # the links peak by peak, nearest first (the mask's flat indices: np.nonzero's multi-index
    # costs more than the links' gathers).
    within = interval <= max_link[:, None]
    counts = np.count_nonzero(within, axis=1)
    model = np.repeat(np.arange(len(cycles)), counts)
    link = np.flatnonzero(within) - model * interval.size
    to = to[link]
    gains = per_link.take(link, axis=1)
    interval = gains[4]
    gains = gains[:4]
    # Rows: the three link durations of _durations (a whole cycle, a diastole, a systole; the two
    # skips share the first), expected then spread; columns: the models' links, each model's
    # together (repeated: a third of the cost of gathering them by ``model``).
    durations = np.array([_durations(c) for c in cycles])[:, :, :3]
    expected, spread = np.repeat(durations.transpose(1, 2, 0), counts, axis=2)
    if widen is not None:
        # Row 1 is the diastole (S2 to S1); the wider spread only on its short side.
        short = widen[to] & (interval < expected[1])
        spread[1] = np.where(short, 0.05 + SHORT_DIASTOLE_SPREAD * expected[1], spread[1])
    penalty = np.subtract(interval, expected)  # z, then log(1 + z**2), in place
    penalty /= spread
    penalty *= penalty
    np.log1p(penalty, out=penalty)
    for row, duration in enumerate((0, 1, 2, 0)):
        gains[row] -= penalty[duration]
    reaching = np.bincount(model * n + to, minlength=len(cycles) * n).reshape(len(cycles), n)
    gap_rate = SKIP_COST / period  # a skip per cycle of silence before a restart
    restart = -GAP_COST - gap_rate[:, None] * (times - max_link[:, None])
    credit = gap_rate[:, None] * times
    spans = (interval, times, max_link)
    return _searched(gains, reaching, restart, credit, (reward, reward2), spans, judge)


def _searched(
    gains: NDArray[np.float64],
    reaching: NDArray[np.intp],
    restart: NDArray[np.float64],
    credit: NDArray[np.float64],
    rewards: tuple[NDArray[np.float64], NDArray[np.float64]],
    spans: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    judge: Judge | None,
) -> list[tuple[Chain, float]]:
    """:func:`_chain` of each model in turn (rows of ``reaching``, ``restart``, ``credit``;
    ``gains``: one row per transition, all models' links in a row), abandoning those that
    cannot reach the bar. ``spans``: each link's interval (s, as ``gains``' columns), the peaks'
    times (s) and each model's reach (s), for the bounds."""
    n = reaching.shape[1]
    ends = np.cumsum(np.sum(reaching, axis=1)).tolist()
    reward_lists = (rewards[0].tolist(), rewards[1].tolist())
    per_model = zip(
        [0, *ends[:-1]], ends, reaching.tolist(), restart.tolist(), credit.tolist(), strict=True
    )
    ceiling = np.maximum.reduce(gains)  # each link's largest gain
    bar = -np.inf  # the best worth judged so far
    allowance = [0.0] * n  # (never read before a bar)
    bounds = None  # computed once a chain is judged (never for one model, or no judge)
    found = []
    for k, (start, end, reaches, restarts, credits) in enumerate(per_model):
        need = [-np.inf] * n  # nothing judged yet: never abandon
        if bar > -np.inf:
            if bounds is None:
                *bounds, allowed = _score_bounds(ceiling, reaching, rewards[0], *spans)
                allowance = allowed.tolist()
            after, fresh = bounds
            level = bar - _BOUND_SLACK
            need = np.where(fresh[k] < level, level - after[k], -np.inf).tolist()
        result = _chain(
            gains[:, start:end],
            ceiling[start:end],
            reaches,
            restarts,
            credits,
            reward_lists,
            need,
            allowance,
        )
        if result is None:
            found.append(ABANDONED)
            continue
        found.append(result)
        # A chain scoring under the bar is worth less than it whatever the judge says (at most
        # its score): it cannot win, and is not judged (a sixth of the judgements on the shared
        # heart recordings, each a chain oriented and its left-out sounds sought).
        if judge is not None and result[1] >= bar:
            bar = max(bar, judge(k, *result))
    return found


# The rate (score per second) at which the bounds credit a chain the time left after a peak
# (see _score_bounds): any rate gives a bound; a chain's own gain, ~0.5-1.5 a second on the
# shared heart recordings, leaves out most steps into peaks no one chain can take together.
_ALLOWANCE_RATE = 0.75


def _score_bounds(
    ceiling: NDArray[np.float64],
    reaching: NDArray[np.intp],
    reward: NDArray[np.float64],
    interval: NDArray[np.float64],
    times: NDArray[np.float64],
    reach_s: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Upper bounds, per model and peak, on what a chain can still score after the peak, and
    each peak's allowance.

    A chain's steps after peak ``j`` span at most the time left after it, ``T - t[j]`` (``T``
    the last peak's time). For any rate ``r >= 0`` (score per second), a step into peak ``p``
    less ``r`` times its interval adds at most ``step[p]``: its best link gain less ``r`` times
    that link's interval, or, when a restart reaches it, its reward less the gap cost and
    ``r`` times the model's reach (a restart spans more; a chain left behind restarts from no
    higher than its own score). So a best chain's score is at most
    ``max(top + after[i], fresh[i])``, where ``top`` is the best of a peak's score plus its
    allowance ``r * (T - t)`` among peaks up to ``i``, ``after[i]`` sums the positive steps
    after ``i``, and ``fresh[i]`` bounds a chain starting after ``i`` (a peak's reward plus its
    allowance plus the positive steps after it). Rows: models (``reaching``'s rows); columns:
    peaks.
    """
    models, n = reaching.shape
    step = np.full(models * n, -np.inf)
    counts = reaching.ravel()
    if counts.any():
        reached = counts > 0
        starts = (np.cumsum(counts) - counts)[reached]
        spent = ceiling - _ALLOWANCE_RATE * interval
        step[reached] = np.maximum.reduceat(spent, starts)
    step = step.reshape(models, n)
    # A restart into peak i: its nearest out-of-reach peak exists. (``reward`` is the S1
    # reward, never under the S2 one.)
    restarts = np.arange(n) - 1 - reaching >= 0
    restarted = reward - GAP_COST - _ALLOWANCE_RATE * reach_s[:, None]
    step = np.where(restarts, np.maximum(step, restarted), step)
    after = np.zeros((models, n))
    after[:, :-1] = np.cumsum(np.maximum(step, 0.0)[:, :0:-1], axis=1)[:, ::-1]
    allowance = _ALLOWANCE_RATE * (times[-1] - times)
    fresh = np.full((models, n), -np.inf)
    fresh[:, :-1] = np.maximum.accumulate((reward + allowance + after)[:, :0:-1], axis=1)[:, ::-1]
    return after, fresh, allowance


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
    gains: NDArray[np.float64],
    largest: NDArray[np.float64],
    reaching: list[int],
    restart: list[float],
    credit: list[float],
    reward: tuple[list[float], list[float]],
    need: list[float],
    allowance: list[float],
) -> tuple[Chain, float] | None:
    """The dynamic programme over (peak, label) of one model: best chain and its score, or None
    once the best of the peaks' scores plus their ``allowance`` so far falls under ``need`` at
    a peak (the chain cannot reach the bar, see :func:`_score_bounds`).

    ``gains`` holds four rows, one per transition (into S1 from S1, from S2, into S2 from S1,
    from S2), of what each link adds, this model's peak by peak; peak ``i`` has
    ``reaching[i]`` links, from its nearest predecessors, nearest first; ``largest`` the
    largest of each link's four (one reduction over all models' links: per model it cost a
    NumPy call a search, docs/accuracy.md, thirty-second round). ``reward`` holds what
    each peak earns labelled S1 and labelled S2; ``restart[i]`` (plus that reward) is what a
    restart into peak ``i`` adds to a chain that ended before its links reach; ``credit`` (the
    gap cost's rate times the time of the chain's end) is added to that chain's score, so the
    cost grows with the silence between them. A (peak, label) node is the int
    ``2 * peak + label`` (-1: none): no tuple per improvement for the garbage collector to
    track. The programme reads no object per link: a tuple per link cost as much as the
    programme itself, garbage collection included. It reads ``gains`` through a memoryview of
    each row, which makes each gain's float as it is read, once: converting the rows to lists
    first (by ``tolist``) made the same floats and the lists besides (docs/accuracy.md,
    twenty-seventh round, speed), and a chain abandoned early never reads the rest.

    A link is passed over when its predecessor's better score plus its largest gain does not
    exceed the lower of the peak's two best scores so far: none of its four sums could (a
    rounded sum never exceeds the rounded sum of larger terms), and only a larger one
    replaces a best. Over half the links of the shared heart recordings are passed over so,
    for two reads instead of six (docs/accuracy.md, thirtieth round, speed).
    """
    s1_s1, s1_s2, s2_s1, s2_s2 = (memoryview(row) for row in gains)
    ceiling = largest.data  # each link's largest gain, read as a memoryview
    reward1, reward2 = reward
    n = len(reward1)
    score1, score2 = list(reward1), list(reward2)  # a chain may start at any peak
    back1, back2 = [-1] * n, [-1] * n
    better: list[float] = []  # each finished peak's better score of its two labels
    upto_score: list[float] = []  # best chain end among peaks 0..k, plus its credit
    upto_node: list[int] = []
    top = -np.inf  # the best score plus allowance so far
    first = 0
    for i in range(n):
        best1, best2 = score1[i], score2[i]
        origin1 = origin2 = -1
        floor = best1 if best1 < best2 else best2
        j = i - 1
        stop = first + reaching[i]
        for k in range(first, stop):  # the hot loop: plain locals and indexed reads only
            if better[j] + ceiling[k] <= floor:  # no sum of this link can beat either best
                j -= 1
                continue
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
            floor = best1 if best1 < best2 else best2
            j -= 1
        first = stop
        if j >= 0:  # j is out of reach: restart from the best chain that ended by then
            value = upto_score[j] + restart[i]
            if value + reward1[i] > best1:
                best1, origin1 = value + reward1[i], upto_node[j]
            if value + reward2[i] > best2:
                best2, origin2 = value + reward2[i], upto_node[j]
        # One statement each: a four-way assignment, or a conditional pair, builds a tuple.
        score1[i] = best1
        score2[i] = best2
        back1[i] = origin1
        back2[i] = origin2
        if best1 >= best2:
            end, node = best1, 2 * i
        else:
            end, node = best2, 2 * i + S2
        better.append(end)
        lead = end + allowance[i]
        if lead > top:
            top = lead
        elif top < need[i]:  # (need only grows: a new best is checked a peak later)
            return None
        end += credit[i]
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
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Peak pairs (from, to) at most ``max_link_s`` apart, by ``to``, nearest ``from`` first,
    and their intervals (s)."""
    n = times.size
    # A hair wider than asked, then the exact test on the interval (as the DP reads it).
    count = np.arange(n) - np.searchsorted(times, times - max_link_s - 1e-9, side="left")
    to = np.repeat(np.arange(n), count)
    frm = to - 1 - (np.arange(to.size) - np.repeat(np.cumsum(count) - count, count))
    interval = times[to] - times[frm]
    keep = interval <= max_link_s
    return frm[keep], to[keep], interval[keep]
