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

from stetho_signal._chain_judge import (
    _FAST_PHASES_BPM,
    _intervals,
    _Judge,
    _label_arrays,
    _most_explaining,
    _turns,
)

# The chain model's costs keep their names here too: the tests of the chain search read them.
from stetho_signal._chains import GAP_COST as _GAP_COST  # noqa: F401
from stetho_signal._chains import LINK_SPAN_PERIODS as _LINK_SPAN_PERIODS  # noqa: F401
from stetho_signal._chains import S1
from stetho_signal._chains import SKIP_COST as _SKIP_COST  # noqa: F401
from stetho_signal._chains import Chain as _Chain
from stetho_signal._chains import best_chains as _best_chains
from stetho_signal._peaks import Candidates as _Candidates
from stetho_signal._peaks import cycle_from_sounds as _cycle_from_sounds
from stetho_signal._peaks import gallop_cycle as _gallop_cycle
from stetho_signal._short_beats import kept as _kept
from stetho_signal._short_beats import short_beats as _short_beats
from stetho_signal._stats import median
from stetho_signal.envelope import CycleEstimate, expected_systole_s, searched_period

__all__ = ["PITCH_BAND_HZ", "HeartSounds", "segment_doubled", "segment_heart_sounds"]

_HALF_WIDTH_LEVEL = 0.5  # a sound spans where the envelope stays above half its peak
PITCH_BAND_HZ = (70.0, 200.0)
"""Band whose share of a sound's envelope tells S2 from a third or fourth heart sound: S3 and
S4 are low-pitched, 20-70 Hz (heard with the bell), while S2, the higher-pitched of S1 and S2,
carries energy above 70-100 Hz (see :func:`segment_heart_sounds`). S3: a low-frequency sound
120-160 ms after aortic closure, not of valvular origin (St. Luke's Heart Sounds series, "Third
heart sound", 2009; S3 130-180 ms after A2, JAMA 1978;239:2790)."""


@dataclass(frozen=True)
class HeartSounds:
    """S1 and S2 centres in seconds from the start of the recording."""

    s1_s: NDArray[np.float64]
    s2_s: NDArray[np.float64]


def segment_heart_sounds(
    env: NDArray[np.float64],
    fs_hz: float,
    candidates: _Candidates,
    cycles: list[CycleEstimate],
    searched_only: bool = False,
) -> tuple[HeartSounds, CycleEstimate]:
    """Label envelope peaks as S1 or S2.

    Parameters
    ----------
    env : ndarray, shape (m,)
        Heart-band envelope (see :func:`stetho_signal.envelope.heart_envelope`).
    fs_hz : float
        Envelope sampling rate in Hz.
    candidates : Candidates
        The envelope's peaks, scored (:func:`stetho_signal._peaks.sound_candidates` of ``env``
        at ``fs_hz``). Built with the pitch envelope (:data:`PITCH_BAND_HZ`), a sound with
        little share of it is low-pitched, a third or fourth heart sound: labelled S2 it earns
        a skip less. Built with the heart band, each sound's spectral centroid tells the
        higher-pitched S2s from the S1s of a fast chain, whose phase durations cannot (see
        :func:`~stetho_signal._chain_judge._oriented`); without it, the pitch-band share does.
        The same candidates serve :func:`segment_doubled`.
    cycles : list of CycleEstimate
        Candidate periods and systolic intervals, the autocorrelation's favourite first; the
        one whose best chain scores highest wins (model selection between e.g. a beat and an
        S1-S2 interval mistaken for one), its score scaled down for clear sounds it leaves in
        its diastoles (see :func:`~stetho_signal._chain_judge._explained_score`). Also weighed: the
        cycle of the loud sounds (:func:`_cycle_from_sounds`), the favourite's period with the
        expected systole (:func:`stetho_signal.envelope.expected_systole_s`: a murmur or a loud S3
        can pull the autocorrelation's S1-S2 lag), the cycle of a triple rhythm
        (:func:`_gallop_cycle`) and a fast favourite with its phases exchanged
        (:func:`_longer_systole`).
    searched_only : bool
        Weigh only models in the range the autocorrelation searches
        (:func:`stetho_signal.envelope.searched_period`): those read off the loud sounds may
        lie outside it. The heart analysis asks so when the chain it ended with reads a rate
        past what it shows (:func:`stetho_signal.heart.analyze_heart`).

    Returns
    -------
    sounds : HeartSounds
        Centre times of the sounds labelled S1 and S2, sorted.
    cycle : CycleEstimate
        The cycle that won, refined from the labelled chain.

    Notes
    -----
    A chain whose S1-S1 intervals vary as atrial fibrillation's do is searched again, a
    diastole shorter than expected allowed into a sound shaped like the chain's S1s, and the
    new chain kept when most of the S1s it adds are shaped so (:mod:`stetho_signal._short_beats`).
    """
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
        _longer_systole(first),
    ):
        if (
            extra is not None
            and (searched_period(extra.period_s) or not searched_only)
            and not any(_same_model(extra, c) for c in models)
        ):
            models.append(extra)
    chains = _Judge(candidates)  # both searches below often find the same chains
    labels, cycle = _searched_chain(candidates, models, chains=chains)
    peaks, marks = _label_arrays(labels)
    beats = _short_beats(peaks, marks, candidates, env, cycle.period_s)
    if beats is not None:
        # An irregular chain: searched again, a diastole may shorten into a sound shaped like
        # the chain's S1s (the short beats of atrial fibrillation, not an S3 or a split S2).
        again, cycle_again = _searched_chain(candidates, models, beats.widen, chains=chains)
        if _kept(labels, again, beats):
            labels, cycle = again, cycle_again
    return _heart_sounds(env, fs_hz, candidates, labels), cycle


def segment_doubled(
    env: NDArray[np.float64],
    fs_hz: float,
    candidates: _Candidates,
    doubled: HeartSounds,
    cycle: CycleEstimate,
) -> tuple[HeartSounds, CycleEstimate] | None:
    """A chain the half-rate guard read at twice its rate, searched again under that cycle alone.

    Parameters are those of :func:`segment_heart_sounds` (the same ``candidates``: they do not
    depend on the cycle), but ``doubled``: the guard's sounds (the chain's and the partners it
    found, see :func:`stetho_signal._half_rate.guard_half_rate`), and ``cycle``: its doubled
    cycle.

    Returns
    -------
    The new chain's sounds and cycle, or None under :data:`_FAST_PHASES_BPM` or when the new
    chain labels fewer sounds than ``doubled`` holds (it lost beats the guard had).

    Notes
    -----
    From about 130/min a cycle of two beats whose "systole" is one beat fits a chain of one
    sound per beat perfectly (the true period lies in that model's systole window), so a fast
    heart whose second sound earns little is read at half rate. The guard finds each sound's
    partner only where one rises clear of the background, and orients the chain by which side
    finds more of them: at 170-190/min the wrong side for six or seven recordings of CirCor made
    faster (bench.heart_faster), every S1 labelled S2. Searched again, the chain labels both
    sounds of every beat and is oriented as fast chains are, by pitch
    (:func:`~stetho_signal._chain_judge._oriented`): the sounds' spectral centroid, close phases
    too. The chain search's own close-phase chains keep the pitch-band share
    (:func:`~stetho_signal._chain_judge._s1_higher_centroid` says why); on doubled chains the
    centroid moved no rate on any bench, while the share swapped two of them at 150/min
    (docs/accuracy.md, eighteenth round).
    """
    if 60.0 / cycle.period_s < _FAST_PHASES_BPM:
        return None
    labels, refined = _searched_chain(candidates, [cycle], doubled=True)
    if len(labels) < doubled.s1_s.size + doubled.s2_s.size:
        return None
    return _heart_sounds(env, fs_hz, candidates, labels), refined


def _heart_sounds(
    env: NDArray[np.float64], fs_hz: float, candidates: _Candidates, labels: _Chain
) -> HeartSounds:
    """The centres of a chain's sounds, as S1s and S2s."""
    peaks, marks = _label_arrays(labels)
    is_s1 = marks == S1
    centres = _sound_centres(env, fs_hz, candidates.times_s[peaks])
    return HeartSounds(s1_s=centres[is_s1], s2_s=centres[~is_s1])


def _longer_systole(cycle: CycleEstimate) -> CycleEstimate | None:
    """A fast cycle's model with its systole and diastole exchanged (None under
    :data:`_FAST_PHASES_BPM`).

    The other models' systole never reaches half the cycle (the autocorrelation's S1-S2 lag is
    sought under it, :func:`stetho_signal.envelope.expected_systole_s` gives at most 0.4 of it),
    but from about 130/min a child's systole may outlast diastole, at 170-190/min by half as
    much again (CirCor made faster with systole shortening as the square root of the cycle,
    bench.heart_faster: up to 1.56 times). The lag found under half the cycle is then
    diastole's, and the chain with the true durations costs more than a chain of one sound
    per beat: a synthetic 150/min heart whose systole outlasts diastole 1.5 times was read at
    75/min, at 170-190/min every S1 was labelled S2. The exchanged model expects the longer
    systole; which sounds are the S1s is still decided by
    :func:`~stetho_signal._chain_judge._oriented`.
    """
    if 60.0 / cycle.period_s < _FAST_PHASES_BPM:
        return None
    return CycleEstimate(cycle.period_s, cycle.period_s - cycle.systole_s, cycle.periodicity)


def _searched_chain(
    candidates: _Candidates,
    models: list[CycleEstimate],
    widen: NDArray[np.bool_] | None = None,
    doubled: bool = False,
    chains: _Judge | None = None,
) -> tuple[_Chain, CycleEstimate]:
    """The oriented chain of the model that explains the sounds best, searched again under the
    durations it shows (``widen``: see :func:`stetho_signal._chains.best_chains`; ``doubled``:
    see :func:`~stetho_signal._chain_judge._oriented`; ``chains``: the judge of the recording's
    searches, made from ``candidates`` and ``doubled`` when not given)."""
    chains = _Judge(candidates, doubled) if chains is None else chains
    judged: dict[int, tuple[_Chain, float]] = {}

    def judge(model: int, labels: _Chain, score: float) -> float:
        judged[model] = chains.explained(labels, score)
        return judged[model][1]

    _best_chains(candidates, models, judge, widen)  # judges every chain that can win
    labels, cycle = _most_explaining(judged, models)
    refined = _refined_cycle(labels, candidates.times_s, cycle)
    if refined is not None:
        # Second pass with the durations this recording actually shows (one EM-like step).
        labels = chains.oriented(_best_chains(candidates, [refined], widen=widen)[0][0])
        cycle = refined
    return labels, cycle


def _same_model(a: CycleEstimate, b: CycleEstimate) -> bool:
    """Same period and same systole within 3 %. The systole counts: a murmur filling systole
    can move the autocorrelation's S1-S2 lag while the loud sounds show the true one (a 70/min
    heart was read at 35/min when a model with the right period but that systole was dropped)."""
    return (
        abs(a.period_s - b.period_s) <= 0.03 * b.period_s
        and abs(a.systole_s - b.systole_s) <= 0.03 * b.period_s
    )


def _phase_intervals(
    labels: list[tuple[int, int]], times: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Systoles (S1 to the next sound, an S2) and diastoles (S2 to an S1) of a chain, seconds."""
    peaks, marks = _label_arrays(labels)
    chain_times = times[peaks]
    return _intervals(chain_times, *_turns(marks))


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
