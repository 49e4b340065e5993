"""S1/S2 segmentation: the best alternating chain of envelope peaks under a duration model.

A duration-dependent model in the spirit of the hidden semi-Markov segmentation of
Schmidt et al. (2010) and Springer et al. (2016), solved on envelope peaks rather than on
every envelope sample: candidate sounds are the local maxima of the homomorphic envelope,
and dynamic programming picks the chain S1, S2, S1, ... that best trades loudness against
how well each S1-S2 interval matches the systolic duration and each S2-S1 interval the
diastolic one. Working on a few hundred peaks instead of every sample keeps it fast enough
for many devices on a Raspberry Pi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_signal._stats import median, quantile
from stetho_signal.envelope import CycleEstimate, expected_systole_s

__all__ = ["PITCH_BAND_HZ", "HeartSounds", "segment_heart_sounds"]

S1 = 0
S2 = 1
_MIN_SOUND_SPACING_S = 0.08  # S2 to the next S1 is ~90 ms at 220 bpm
_SKIP_COST = 1.5  # a cycle with an inaudible S1 or S2 costs about as much as z=1.5 off
_GAP_COST = 4.0  # restarting the chain after a noisy stretch
_CANDIDATE_FLOOR = 0.05  # peaks under 5 % of the loudest are noise, never worth a link
_TYPICAL_QUANTILE = 0.9
_PEAK_FLOOR = 0.3  # a peak below 30 % of the typical heart sound earns nothing
_HALF_WIDTH_LEVEL = 0.5  # a sound spans where the envelope stays above half its peak
_LOUD_LEVEL = 0.5  # a clear sound: at least half the typical heart sound
_LOUD_REWARD = 2.0 * (_LOUD_LEVEL - _PEAK_FLOOR)
# A peak no higher than noise alone reaches: the envelope of white noise has 90 % of its peaks
# under 1.9x its lower quartile (measured on this envelope); between sounds, even at 220 bpm,
# the lower quartile is background.
_BACKGROUND_QUANTILE = 0.25
_NOISE_PEAK_LEVEL = 2.0
_LINK_SPAN_PERIODS = 1.6  # longest link, in cycles; beyond it the chain restarts (gap)
# A sound left out of a chain's diastole counts against the chain when it is clear and at least
# three quarters of the height of the chain's median S1: a beat the chain dropped. Below S1's
# own level because S1 loudness varies from beat to beat in atrial fibrillation; on synthetic
# sweeps 0.6 let noise and murmur peaks of slow noisy hearts count, 0.85 missed dropped beats.
_DROPPED_BEAT_LEVEL = 0.75
# A gallop's extra sound keeps its delay from S2 (S3) or to S1 (S4) within +-40 ms: two to four
# envelope samples of peak jitter plus the beat-to-beat spread of a 130-180 ms S3 delay.
_LOCKED_S = 0.04
PITCH_BAND_HZ = (70.0, 200.0)
"""Band whose share of a sound's envelope tells S2 from a third or fourth heart sound: S3 and
S4 are low-pitched, 20-70 Hz (heard with the bell), while S2, the higher-pitched of S1 and S2,
carries energy above 70-100 Hz (see :func:`segment_heart_sounds`). S3: a low-frequency sound
120-160 ms after aortic closure, not of valvular origin (St. Luke's Heart Sounds series, "Third
heart sound", 2009; S3 130-180 ms after A2, JAMA 1978;239:2790)."""
# A sound is low-pitched when its share of the pitch band is under a tenth of the share of the
# recording's highest-pitched sounds (their 90th percentile, most often the S2s): an order of
# magnitude, where S2s of real recordings (CirCor, Springer's example) reach down to a fifth.
_LOW_PITCH_SHARE = 0.1
# The pitch band's own peak may lie off the sound's peak: the brief high-pitched A2 of a split
# S2 comes up to ~40 ms before P2, so the band's highest level within +-20 ms counts.
_PITCH_REACH_S = 0.02
# Systole and diastole closer than this (shorter over longer) are too close to orient a chain
# by: by Weissler's QS2 less ~50 ms to S1, the expected ratio is over 0.8 from about 85 to
# 160 bpm, and beat-to-beat spread moves the measured medians by 10 % and more. Tried on the
# shared CirCor data at 0.8-0.92 (docs/accuracy.md: S1/S2 F1 0.919 to 0.857, leave one
# patient out over that grid 0.875): 0.8 is the physiological bound, not the best fit alone.
_CLOSE_PHASES = 0.8
# Beat to beat, a change of the cycle goes into diastole: systole, set by the ventricle's
# electromechanical time, barely follows it (Springer's duration model gives systole a fixed
# spread and diastole the rest of the cycle, DOMAIN.md). The share of a chain's cycle-length
# changes that its "systole" takes orients the chain when it is clear of an even share by this
# many standard errors (a one-sided test at ~0.1 %). Correctly oriented CirCor chains share
# -0.26 to 0.41 of it. 2 was tried too: it orients one more recording (85036_TV); `make eval`
# scores both leave-one-patient-out (docs/accuracy.md, fourth round).
_STEADY_Z = 3.0
# The regression needs beats: fewer than eight whole cycles leave the cue silent.
_STEADY_MIN_CYCLES = 8


@dataclass(frozen=True)
class HeartSounds:
    """S1 and S2 centres in seconds from the start of the recording."""

    s1_s: NDArray[np.float64]
    s2_s: NDArray[np.float64]


@dataclass(frozen=True)
class _Candidates:
    times_s: NDArray[np.float64]
    reward: NDArray[np.float64]
    weak: NDArray[np.bool_]  # no higher than a peak of the background noise
    low: NDArray[np.bool_]  # low-pitched: a third or fourth heart sound rather than an S2
    pitch: NDArray[np.float64] | None = None  # share of the pitch band (None: not measured)
    step_s: float = 0.0  # the times' grid step (0: exact times)


def segment_heart_sounds(
    env: NDArray[np.float64],
    fs_hz: float,
    cycles: list[CycleEstimate],
    pitch_env: NDArray[np.float64] | None = None,
) -> tuple[HeartSounds, CycleEstimate]:
    """Label envelope peaks as S1 or S2.

    Parameters
    ----------
    env : ndarray, shape (m,)
        Heart-band envelope (see :func:`stetho_signal.envelope.heart_envelope`).
    fs_hz : float
        Envelope sampling rate in Hz.
    cycles : list of CycleEstimate
        Candidate periods and systolic intervals, the autocorrelation's favourite first; the
        one whose best chain scores highest wins (model selection between e.g. a beat and an
        S1-S2 interval mistaken for one), its score scaled down for clear sounds it leaves in
        its diastoles (see :func:`_explained_score`). Also weighed: the cycle of the loud
        sounds (:func:`_cycle_from_sounds`), the favourite's period with the expected systole
        (:func:`stetho_signal.envelope.expected_systole_s`: a murmur or a loud S3 can pull the
        autocorrelation's S1-S2 lag) and the cycle of a triple rhythm (:func:`_gallop_cycle`).
    pitch_env : ndarray, shape (m,), optional
        Envelope of :data:`PITCH_BAND_HZ` on the same time base. A sound with little share of
        it is low-pitched, a third or fourth heart sound: labelled S2 it earns a skip less.

    Returns
    -------
    sounds : HeartSounds
        Centre times of the sounds labelled S1 and S2, sorted.
    cycle : CycleEstimate
        The cycle that won, refined from the labelled chain.
    """
    candidates = _candidates(env, fs_hz, cycles[0], pitch_env)
    if candidates.times_s.size == 0:
        empty = np.zeros(0)
        return HeartSounds(empty, empty), cycles[0]
    models = list(cycles)
    first = cycles[0]
    expected = CycleEstimate(first.period_s, expected_systole_s(first.period_s), first.periodicity)
    for extra in (
        _cycle_from_sounds(candidates, first),
        expected,
        _gallop_cycle(candidates, first),
    ):
        if extra is not None and not any(_same_model(extra, c) for c in models):
            models.append(extra)
    labels, cycle = _most_explaining(_best_chains(candidates, models), models, candidates)
    refined = _refined_cycle(labels, candidates.times_s, cycle)
    if refined is not None:
        # Second pass with the durations this recording actually shows (one EM-like step).
        labels = _oriented(_best_chains(candidates, [refined])[0][0], candidates)
        cycle = refined
    peaks = np.array([i for i, _ in labels], dtype=np.intp)
    is_s1 = np.array([lab == S1 for _, lab in labels], dtype=bool)
    centres = _sound_centres(env, fs_hz, candidates.times_s[peaks])
    return HeartSounds(s1_s=centres[is_s1], s2_s=centres[~is_s1]), cycle


def _most_explaining(
    chains: list[tuple[_Chain, float]], models: list[CycleEstimate], cands: _Candidates
) -> tuple[_Chain, CycleEstimate]:
    """The chain, oriented, and its model with the best :func:`_explained_score` (the first on
    a tie).

    That score never exceeds the chain's own, so chains are judged best score first and the
    rest skipped once none of them can win.
    """
    order = sorted(range(len(chains)), key=lambda k: -chains[k][1])
    best, best_value, best_labels = order[0], -np.inf, chains[order[0]][0]
    for k in order:
        labels, score = chains[k]
        if score < best_value:
            break
        labels = _oriented(labels, cands)
        value = _explained_score(labels, score, cands)
        if value > best_value or (value == best_value and k < best):
            best, best_value, best_labels = k, value, labels
    return best_labels, models[best]


def _explained_score(labels: _Chain, score: float, cands: _Candidates) -> float:
    """An oriented chain's score scaled by the share of the clear sounds around it it labels.

    The duration costs suit a steady rhythm. With RR intervals varying 20-30 % (atrial
    fibrillation) a cycle model ~20 % slow could score as well as the true one by pairing the
    sounds around the shortest beats differently and leaving one of them out: the rate then
    read ~80/min for 96/min. What such a chain leaves out lies in what it calls diastole, a
    quiet phase; a clear sound there, nearly as loud as the chain's own S1s, is a beat it
    dropped. Systole is not searched (a systolic murmur fills it). The factor is the chain's
    sounds over its sounds plus dropped ones, so a chain that labels every clear sound keeps
    its score and a score far ahead is not overturned by a few extra sounds (a knock). A sound
    at a fixed delay from S2 or from the next S1 in most diastoles is a loud third or fourth
    heart sound (a gallop), not dropped beats (:func:`_recurring`).
    """
    if score <= 0 or len(labels) < 3:
        return score
    peaks = np.array([i for i, _ in labels], dtype=np.intp)
    marks = np.array([lab for _, lab in labels], dtype=np.intp)
    if not np.any(marks == S1):
        return score
    height = cands.reward / 2.0 + _PEAK_FLOOR  # back to the height relative to the typical
    level = max(_LOUD_LEVEL, _DROPPED_BEAT_LEVEL * median(height[peaks[marks == S1]]))
    unused = np.ones(height.size, dtype=bool)
    unused[peaks] = False
    times = cands.times_s[unused & ~cands.weak & (height >= level)]
    diastoles = np.nonzero((marks[:-1] == S2) & (marks[1:] == S1))[0]
    if diastoles.size == 0:
        return score
    starts, ends = cands.times_s[peaks[diastoles]], cands.times_s[peaks[diastoles + 1]]
    k = np.searchsorted(starts, times, side="right") - 1  # the diastole starting before each
    inside = (k >= 0) & (times < ends[np.maximum(k, 0)])
    times, k = times[inside], k[inside]
    extra = _recurring(times - starts[k], diastoles.size) | _recurring(
        ends[k] - times, diastoles.size
    )
    dropped = int(np.sum(~extra))
    return score * len(labels) / (len(labels) + dropped)


def _recurring(delays_s: NDArray[np.float64], diastoles: int) -> NDArray[np.bool_]:
    """The sounds at one fixed delay from a diastole's S2 (or from its end, S1), when one recurs
    in at least half the diastoles: a third (or fourth) heart sound, locked to the beat, not a
    beat the chain dropped, which an irregular rhythm puts anywhere in diastole."""
    if delays_s.size < max(diastoles / 2, 3):
        return np.zeros(delays_s.size, dtype=bool)
    near = np.abs(delays_s - median(delays_s)) <= _LOCKED_S
    return near if np.sum(near) >= diastoles / 2 else np.zeros(delays_s.size, dtype=bool)


def _same_model(a: CycleEstimate, b: CycleEstimate) -> bool:
    """Same period and same systole within 3 %. The systole counts: a murmur filling systole
    can move the autocorrelation's S1-S2 lag while the loud sounds show the true one (a 70/min
    heart was read at 35/min when a model with the right period but that systole was dropped)."""
    return (
        abs(a.period_s - b.period_s) <= 0.03 * b.period_s
        and abs(a.systole_s - b.systole_s) <= 0.03 * b.period_s
    )


def _candidates(
    env: NDArray[np.float64],
    fs_hz: float,
    cycle: CycleEstimate,
    pitch_env: NDArray[np.float64] | None = None,
) -> _Candidates:
    distance = max(1, int(_MIN_SOUND_SPACING_S * fs_hz))
    peaks = dsp.find_peaks(env, distance=distance)
    if peaks.size == 0:
        none = np.zeros(0, dtype=bool)
        return _Candidates(np.zeros(0), np.zeros(0), none, none)
    peaks = peaks[env[peaks] >= _CANDIDATE_FLOOR * float(np.max(env[peaks]))]
    heights = env[peaks]
    # Typical heart-sound height: a high quantile of all peaks, independent of the cycle being
    # tried so that chains under different cycle models score on the same scale.
    typical = quantile(heights, _TYPICAL_QUANTILE)
    relative = np.minimum(heights / max(typical, 1e-12), 1.5)
    reward = 2.0 * (relative - _PEAK_FLOOR)
    weak = heights < _NOISE_PEAK_LEVEL * quantile(env, _BACKGROUND_QUANTILE)
    low = np.zeros(peaks.size, dtype=bool)
    sounds = ~weak & (relative >= _PEAK_FLOOR)
    share = None
    if pitch_env is not None:
        reach = round(_PITCH_REACH_S * fs_hz)
        near = np.clip(peaks[:, None] + np.arange(-reach, reach + 1), 0, env.size - 1)
        share = np.max(pitch_env[near], axis=1) / np.maximum(heights, 1e-12)
        if np.sum(sounds) >= 3:
            typical_share = quantile(share[sounds], _TYPICAL_QUANTILE)
            low = sounds & (share < _LOW_PITCH_SHARE * typical_share)
    return _Candidates(peaks / fs_hz, reward, weak, low, pitch=share, step_s=1.0 / fs_hz)


def _cycle_from_sounds(cands: _Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    """Cycle from the loud sounds alone, blind to the autocorrelation (irregular rhythms).

    When every loud peak is a heart sound, the sounds alternate S1, S2, S1, ... so the time
    from one loud sound to the next but one is a whole cycle whatever the phase; its median
    holds against a minority of missed or extra sounds. An irregular rhythm smears the
    envelope's autocorrelation (its best lag may be two or three beats) but not this.
    """
    times = cands.times_s[cands.reward >= _LOUD_REWARD]
    if times.size < 5:
        return None
    gaps = np.diff(times)
    period = median(times[2:] - times[:-2])
    shorter = np.minimum(gaps[:-1], gaps[1:])
    systole = min(median(shorter), 0.5 * period)
    return CycleEstimate(period_s=period, systole_s=systole, periodicity=cycle.periodicity)


def _gallop_cycle(cands: _Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    """Cycle of a triple rhythm: three loud sounds a beat (S1, S2 and a loud S3 or S4).

    Then the time from one loud sound to the third after it is a whole cycle, steadier than the
    time to the second after it (which takes turns between S1-S3, S2-S1 and S3-S2); in a
    rhythm of two sounds a beat it is the other way round, and no model is offered.
    """
    times = cands.times_s[cands.reward >= _LOUD_REWARD]
    if times.size < 7:
        return None
    spans2, spans3 = times[2:] - times[:-2], times[3:] - times[:-3]
    period = median(spans3)
    if _relative_spread(spans3) >= _relative_spread(spans2):
        return None
    # Weissler's systole is always under half the cycle (expected_systole_s).
    return CycleEstimate(period, expected_systole_s(period), cycle.periodicity)


def _relative_spread(x: NDArray[np.float64]) -> float:
    """Median absolute deviation over the median."""
    centre = median(x)
    return median(np.abs(x - centre)) / max(centre, 1e-12)


_Chain = list[tuple[int, int]]  # [(peak index, label), ...]


def _best_chains(cands: _Candidates, cycles: list[CycleEstimate]) -> list[tuple[_Chain, float]]:
    """Best chain of peaks labelled S1 or S2 under each cycle model, and its score.

    A chain scores the rewards of its peaks less the cost of each link. Links cost a
    Cauchy-like ``log(1 + z**2)`` of the interval's deviation ``z`` (in spreads) from the
    expected systole (S1->S2), diastole (S2->S1) or whole cycle (same label twice, plus a skip
    cost): tolerant to the odd long interval of an irregular rhythm. A link between two weak
    peaks (no higher than the background noise reaches) costs a skip too: a chain crossing
    silence through noise peaks claims sounds nobody could hear, and would otherwise read a
    fast rhythm into the long diastoles of a slow heart. Links reach back at most
    ``_LINK_SPAN_PERIODS`` cycles; past that the chain may restart from the best chain ended
    before, at a gap cost plus a skip for every further cycle of silence.

    Notes
    -----
    The gains of the links under all models are computed at once with NumPy, each model's
    only for the links within its reach; the dynamic programme over peaks (:func:`_chain`),
    which needs the scores of earlier peaks, then only adds and compares.
    """
    times, reward = cands.times_s, cands.reward
    reward2 = reward - np.where(cands.low, _SKIP_COST, 0.0)  # a low-pitched S2 (an S3 or S4)
    n = times.size
    period = np.array([c.period_s for c in cycles])
    max_link = _LINK_SPAN_PERIODS * period
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
    both_weak = np.where(cands.weak[to] & cands.weak[frm], _SKIP_COST, 0.0)
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
    gap_rate = _SKIP_COST / period  # a skip per cycle of silence before a restart
    restart = -_GAP_COST - gap_rate[:, None] * (times - max_link[:, None])
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
_TRANSITION_COSTS = (_SKIP_COST, 0.0, 0.0, _SKIP_COST)


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
) -> tuple[_Chain, float]:
    """The dynamic programme over (peak, label) of one model: best chain and its score.

    ``gains`` holds four lists, one per transition (into S1 from S1, from S2, into S2 from S1,
    from S2), of what each link adds, peak by peak; peak ``i`` has ``reaching[i]`` links, from
    its nearest predecessors, nearest first. ``reward`` holds what each peak earns labelled S1
    and labelled S2; ``restart[i]`` (plus that reward) is what a restart into peak ``i``
    adds to a chain that ended before its links reach; ``credit`` (the gap cost's rate times
    the time of the chain's end) is added to that chain's score, so the cost grows with the
    silence between them.
    """
    s1_s1, s1_s2, s2_s1, s2_s2 = gains
    reward1, reward2 = reward
    n = len(reward1)
    score1, score2 = list(reward1), list(reward2)  # a chain may start at any peak
    back1: list[tuple[int, int] | None] = [None] * n
    back2: list[tuple[int, int] | None] = [None] * n
    best_upto: list[tuple[float, tuple[int, int]]] = []  # best chain end among peaks 0..k
    first = 0
    for i in range(n):
        best1, best2 = score1[i], score2[i]
        origin1: tuple[int, int] | None = None
        origin2: tuple[int, int] | None = None
        j = i - 1
        stop = first + reaching[i]
        for k in range(first, stop):  # the hot loop: plain locals and list reads only
            from1, from2 = score1[j], score2[j]
            value = from1 + s1_s1[k]
            if value > best1:
                best1, origin1 = value, (j, S1)
            value = from2 + s1_s2[k]
            if value > best1:
                best1, origin1 = value, (j, S2)
            value = from1 + s2_s1[k]
            if value > best2:
                best2, origin2 = value, (j, S1)
            value = from2 + s2_s2[k]
            if value > best2:
                best2, origin2 = value, (j, S2)
            j -= 1
        first = stop
        if j >= 0:  # j is out of reach: restart from the best chain that ended by then
            value = best_upto[j][0] + restart[i]
            if value + reward1[i] > best1:
                best1, origin1 = value + reward1[i], best_upto[j][1]
            if value + reward2[i] > best2:
                best2, origin2 = value + reward2[i], best_upto[j][1]
        score1[i], score2[i], back1[i], back2[i] = best1, best2, origin1, origin2
        here = (best1 + credit[i], (i, S1)) if best1 >= best2 else (best2 + credit[i], (i, S2))
        best_upto.append(here if not best_upto or here[0] > best_upto[-1][0] else best_upto[-1])
    return _traced(score1, score2, back1, back2)


def _traced(
    score1: list[float],
    score2: list[float],
    back1: list[tuple[int, int] | None],
    back2: list[tuple[int, int] | None],
) -> tuple[_Chain, float]:
    """The best chain end (the first on a tie, S1 before S2) traced back, and its score."""
    best = [max(a, b) for a, b in zip(score1, score2, strict=True)]
    last = max(range(len(best)), key=best.__getitem__)
    node: tuple[int, int] | None = (last, S1 if score1[last] >= score2[last] else S2)
    chain: _Chain = []
    while node is not None:
        chain.append(node)
        node = (back1 if node[1] == S1 else back2)[node[0]]
    chain.reverse()
    return chain, best[last]


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


def _phase_intervals(
    labels: list[tuple[int, int]], times: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Systoles (S1 to the next sound, an S2) and diastoles (S2 to an S1) of a chain, seconds."""
    peaks = np.array([i for i, _ in labels], dtype=np.intp)
    marks = np.array([lab for _, lab in labels], dtype=np.intp)
    gaps = np.diff(times[peaks])
    turns = marks[:-1] != marks[1:]
    return gaps[turns & (marks[:-1] == S1)], gaps[turns & (marks[:-1] == S2)]


def _oriented(labels: list[tuple[int, int]], cands: _Candidates) -> list[tuple[int, int]]:
    """Swap S1 and S2 if the chain's "systole" follows the beat-to-beat changes of the cycle
    (:func:`_s1_phase_follows_cycle`); when that is unclear, if its "systole" outlasts its
    "diastole" or, when the two are too close to tell, if its "S1"s are the higher-pitched
    sounds.

    Systole is shorter than diastole at rest and stays so up to high rates (Weissler's QS2 =
    546 - 2.1 HR ms); from about 85 to 160 bpm the two come within 20 % of each other, and
    the medians over a recording then swap on chance. S2 is the higher-pitched of the two sounds
    (its valves close faster and tenser), so in that range the sounds with the larger share
    of :data:`PITCH_BAND_HZ` are the S2s.
    """
    systoles, diastoles = _phase_intervals(labels, cands.times_s)
    if not (systoles.size and diastoles.size):
        return labels
    systole, diastole = median(systoles), median(diastoles)
    reversed_ = _s1_phase_follows_cycle(labels, cands.times_s, cands.step_s)
    if reversed_ is None:
        reversed_ = systole > diastole
        if min(systole, diastole) >= _CLOSE_PHASES * max(systole, diastole):
            pitch_says = _s1_higher_pitched(labels, cands)
            reversed_ = reversed_ if pitch_says is None else pitch_says
    return [(i, S2 if lab == S1 else S1) for i, lab in labels] if reversed_ else labels


def _s1_phase_follows_cycle(
    labels: list[tuple[int, int]], times: NDArray[np.float64], step_s: float = 0.0
) -> bool | None:
    """Whether the phase after the chain's "S1"s takes most of the cycle's beat-to-beat changes
    (True: those are the S2s), by the least-squares slope of that phase's duration on the cycle
    length over the chain's S1-S2-S1 triples (None under :data:`_STEADY_MIN_CYCLES` of them, or
    when the slope is within :data:`_STEADY_Z` standard errors of one half, or the cycle's
    spread is under twice what rounding the times to ``step_s`` gives).

    The two phases sum to the cycle, so their slopes sum to one: systole's is near zero,
    diastole's near one. It holds where durations cannot tell (systole near diastole from about
    85/min; at 145/min a child's 0.22 s systole outlasted its diastole). Rounding each time to
    the grid adds step**2 / 6 of variance to every duration: the residual's variance is taken
    as at least that, and a cycle whose spread is no more than rounding leaves the cue silent
    (a synthetic regular rhythm read on 10 ms steps alternates 0.66 and 0.67 s cycles in step
    with its systoles: a perfect, meaningless slope).
    """
    peaks = np.array([i for i, _ in labels], dtype=np.intp)
    marks = np.array([lab for _, lab in labels], dtype=np.intp)
    t = times[peaks]
    k = np.flatnonzero((marks[:-2] == S1) & (marks[1:-1] == S2) & (marks[2:] == S1))
    if k.size < _STEADY_MIN_CYCLES:
        return None
    first, cycle = t[k + 1] - t[k], t[k + 2] - t[k]
    first, cycle = first - first.mean(), cycle - cycle.mean()
    rounding = step_s**2 / 6.0
    spread = float(np.dot(cycle, cycle))
    if spread <= 0.0 or spread < 4.0 * rounding * k.size:
        return None
    slope = float(np.dot(first, cycle)) / spread
    residual = first - slope * cycle
    error = float(np.sqrt(max(np.dot(residual, residual) / (k.size - 2), rounding) / spread))
    if abs(slope - 0.5) < _STEADY_Z * error:
        return None
    return slope > 0.5


def _s1_higher_pitched(labels: list[tuple[int, int]], cands: _Candidates) -> bool | None:
    """Whether the sounds labelled S1 have a larger median pitch-band share than those labelled
    S2 (None without a pitch measure or three sounds of each)."""
    if cands.pitch is None:
        return None
    share = cands.pitch[np.array([i for i, _ in labels], dtype=np.intp)]
    is_s1 = np.array([lab == S1 for _, lab in labels], dtype=bool)
    if np.count_nonzero(is_s1) < 3 or np.count_nonzero(~is_s1) < 3:
        return None
    return median(share[is_s1]) > median(share[~is_s1])


def _refined_cycle(
    labels: list[tuple[int, int]], times: NDArray[np.float64], cycle: CycleEstimate
) -> CycleEstimate | None:
    systoles, diastoles = _phase_intervals(labels, times)
    if systoles.size < 3 or diastoles.size < 3:
        return None
    systole = median(systoles)
    period = systole + median(diastoles)
    if not 0.5 * cycle.period_s <= period <= 1.5 * cycle.period_s:
        return None
    return CycleEstimate(period_s=period, systole_s=systole, periodicity=cycle.periodicity)


def _sound_centres(
    env: NDArray[np.float64], fs_hz: float, times_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Centre of each sound: the middle of the span where the envelope stays above half peak.

    The span reaches at most 80 ms either side of the peak.
    """
    peak = np.rint(times_s * fs_hz).astype(np.intp)
    level = env[peak] * _HALF_WIDTH_LEVEL
    sides = np.array([[-1], [1]])
    steps = sides * np.arange(1, int(0.08 * fs_hz) + 1)  # outward from the peak, each side
    index = peak[:, None, None] + steps
    inside = (index >= 0) & (index < env.size)
    above = inside & (env[np.clip(index, 0, env.size - 1)] >= level[:, None, None])
    ends = peak[:, None] + sides[:, 0] * np.sum(np.cumprod(above, axis=2), axis=2)
    centres: NDArray[np.float64] = (ends[:, 0] + ends[:, 1]) / 2.0 / fs_hz
    return centres
