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

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The chain model's costs keep their names here too: the tests of the chain search read them.
from stetho_signal._chains import GAP_COST as _GAP_COST  # noqa: F401
from stetho_signal._chains import LINK_SPAN_PERIODS as _LINK_SPAN_PERIODS  # noqa: F401
from stetho_signal._chains import S1, S2
from stetho_signal._chains import SKIP_COST as _SKIP_COST  # noqa: F401
from stetho_signal._chains import Chain as _Chain
from stetho_signal._chains import best_chains as _best_chains
from stetho_signal._peaks import Candidates as _Candidates
from stetho_signal._peaks import cycle_from_sounds as _cycle_from_sounds
from stetho_signal._peaks import gallop_cycle as _gallop_cycle
from stetho_signal._short_beats import kept as _kept
from stetho_signal._short_beats import left_in_diastoles as _left_in_diastoles
from stetho_signal._short_beats import short_beats as _short_beats
from stetho_signal._sound_band import HEART_PITCH_HZ
from stetho_signal._stats import median
from stetho_signal.envelope import CycleEstimate, expected_systole_s, searched_period

__all__ = [
    "PITCH_BAND_HZ", "HeartSounds", "s1_phase_follows_cycle", "segment_doubled",
    "segment_heart_sounds",
]  # fmt: skip

_HALF_WIDTH_LEVEL = 0.5  # a sound spans where the envelope stays above half its peak
# A gallop's extra sound keeps its delay from S2 (S3) or to S1 (S4) within +-40 ms: two to four
# envelope samples of peak jitter plus the beat-to-beat spread of a 130-180 ms S3 delay.
_LOCKED_S = 0.04
PITCH_BAND_HZ = (70.0, 200.0)
"""Band whose share of a sound's envelope tells S2 from a third or fourth heart sound: S3 and
S4 are low-pitched, 20-70 Hz (heard with the bell), while S2, the higher-pitched of S1 and S2,
carries energy above 70-100 Hz (see :func:`segment_heart_sounds`). S3: a low-frequency sound
120-160 ms after aortic closure, not of valvular origin (St. Luke's Heart Sounds series, "Third
heart sound", 2009; S3 130-180 ms after A2, JAMA 1978;239:2790)."""
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
# From this rate (the chain's median systole plus diastole) the order of the two phases does
# not orient a chain at all: as the rate rises diastole shortens far more than systole, and a
# child's S1-S2 reaches half the cycle and more (CirCor annotations at 129-160/min: up to 0.51
# of it; Weissler's line, which keeps systole the shorter, falls below physiology there, see
# expected_systole_s). Systole may then outlast diastole by more than _CLOSE_PHASES allows
# (CirCor made faster, bench.heart_faster: S1-S2 over S2-S1 up to 1.44 at 170/min, 1.56 at
# 190/min), and the shorter phase taken for systole swapped S1 and S2 in 19 of 56 recordings
# at 170/min. So the sounds' pitch orients such a chain too (by their spectral centroid,
# _s1_higher_centroid), as the pitch-band share orients closer phases at any rate. 130 is where
# our annotations first reach half the cycle; 120 and 140 were tried (docs/accuracy.md,
# seventeenth round).
_FAST_PHASES_BPM = 130.0
# The regression needs beats: fewer than eight whole cycles leave the cue silent.
_STEADY_MIN_CYCLES = 8


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
        :func:`_oriented`); without it, the pitch-band share does. The same candidates serve
        :func:`segment_doubled`.
    cycles : list of CycleEstimate
        Candidate periods and systolic intervals, the autocorrelation's favourite first; the
        one whose best chain scores highest wins (model selection between e.g. a beat and an
        S1-S2 interval mistaken for one), its score scaled down for clear sounds it leaves in
        its diastoles (see :func:`_explained_score`). Also weighed: the cycle of the loud
        sounds (:func:`_cycle_from_sounds`), the favourite's period with the expected systole
        (:func:`stetho_signal.envelope.expected_systole_s`: a murmur or a loud S3 can pull the
        autocorrelation's S1-S2 lag), the cycle of a triple rhythm (:func:`_gallop_cycle`) and
        a fast favourite with its phases exchanged (:func:`_longer_systole`).
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
    sounds of every beat and is oriented as fast chains are, by pitch (:func:`_oriented`): the
    sounds' spectral centroid, close phases too. The chain search's own close-phase chains keep
    the pitch-band share (:func:`_s1_higher_centroid` says why); on doubled chains the centroid
    moved no rate on any bench, while the share swapped two of them at 150/min
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
    systole; which sounds are the S1s is still decided by :func:`_oriented`.
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
    see :func:`_oriented`; ``chains``: the judge of the recording's searches, made from
    ``candidates`` and ``doubled`` when not given)."""
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


# A chain as arrays: its candidate indices, their labels and their times (seconds).
_Arrays = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]


@dataclass
class _Judged:
    """A chain as searched, as oriented, and the sounds it drops (:func:`_dropped`; ``known``
    once counted)."""

    labels: _Chain
    oriented: _Chain
    arrays: _Arrays  # the oriented chain's (see _oriented_arrays)
    dropped: int | None = None
    known: bool = False


class _Judge:
    """Orients the chains of one recording's searches and counts the sounds each drops, once a
    chain.

    The same chain comes back: two models' searches may find it, the search under the refined
    cycle mostly finds the winner's, and the second search of an irregular chain (``widen``)
    many of the first's (110 of the 281 chains oriented in a cold heart pass). Both depend on
    nothing but the labels, the candidates and ``doubled``, fixed for one judge; the score is
    scaled afresh each time, by the same expression.
    """

    def __init__(self, candidates: _Candidates, doubled: bool = False) -> None:
        self._candidates = candidates
        self._doubled = doubled
        self._seen: list[_Judged] = []

    def oriented(self, labels: _Chain) -> _Chain:
        """:func:`_oriented` of the chain ``labels``."""
        return self._judged(labels).oriented

    def explained(self, labels: _Chain, score: float) -> tuple[_Chain, float]:
        """The chain ``labels`` oriented, and :func:`_explained_score` of it scoring ``score``."""
        judged = self._judged(labels)
        if score <= 0:
            return judged.oriented, score
        if not judged.known:
            enough = len(labels) >= 3
            judged.dropped = _dropped_count(*judged.arrays, self._candidates) if enough else None
            judged.known = True
        return judged.oriented, _scaled(score, judged.oriented, judged.dropped)

    def _judged(self, labels: _Chain) -> _Judged:
        for judged in self._seen:
            if judged.labels == labels:
                return judged
        judged = _Judged(labels, *_oriented_arrays(labels, self._candidates, self._doubled))
        self._seen.append(judged)
        return judged


def _most_explaining(
    judged: dict[int, tuple[_Chain, float]], models: list[CycleEstimate]
) -> tuple[_Chain, CycleEstimate]:
    """The chain, oriented, and its model with the best :func:`_explained_score` (the first on
    a tie); ``judged`` holds each searched chain's oriented labels and that score.

    That score never exceeds the chain's own, so a chain scoring under the best explained score
    so far cannot win: the chain search abandons those, or leaves them unjudged (see
    :func:`stetho_signal._chains.best_chains`), and judges all the others.
    """
    best = max(judged, key=lambda k: (judged[k][1], -k))
    return judged[best][0], models[best]


def _explained_score(labels: _Chain, score: float, cands: _Candidates) -> float:
    """An oriented chain's score scaled by the share of the clear sounds around it it labels.

    The duration costs suit a steady rhythm. With RR intervals varying 20-30 % (atrial
    fibrillation) a cycle model ~20 % slow could score as well as the true one by pairing the
    sounds around the shortest beats differently and leaving one of them out: the rate then
    read ~80/min for 96/min. What such a chain leaves out lies in what it calls diastole, a
    quiet phase; a clear sound there, nearly as loud as the chain's own S1s, is a beat it
    dropped (:func:`stetho_signal._short_beats.left_in_diastoles`; systole is not searched, a
    systolic murmur fills it). The factor is the chain's sounds over its sounds plus dropped
    ones, so a chain that labels every clear sound keeps its score and a score far ahead is not
    overturned by a few extra sounds (a knock). A sound at a fixed delay from S2 or from the
    next S1 in most diastoles is a loud third or fourth heart sound (a gallop), not dropped
    beats (:func:`_recurring`).
    """
    if score <= 0:
        return score
    return _scaled(score, labels, _dropped(labels, cands))


def _scaled(score: float, labels: _Chain, dropped: int | None) -> float:
    """A positive ``score`` of the chain ``labels`` as :func:`_explained_score` scales it for
    ``dropped`` sounds (None: the chain has no diastole to leave one in, the score stands)."""
    return score if dropped is None else score * len(labels) / (len(labels) + dropped)


def _dropped(labels: _Chain, cands: _Candidates) -> int | None:
    """The clear sounds an oriented chain leaves in its diastoles that are not a gallop's (see
    :func:`_explained_score`), or None under three sounds or without a diastole."""
    if len(labels) < 3:
        return None
    peaks, marks = _label_arrays(labels)
    return _dropped_count(peaks, marks, cands.times_s[peaks], cands)


def _dropped_count(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    chain_times: NDArray[np.float64],
    cands: _Candidates,
) -> int | None:
    """:func:`_dropped` of a chain of three sounds or more, as arrays: its candidate indices
    ``peaks``, labels ``marks`` and times ``chain_times``."""
    diastoles = int(np.count_nonzero(_turns(marks)[1]))
    if diastoles == 0:
        return None
    sounds, s2_at = _left_in_diastoles(peaks, marks, cands)
    times = cands.times_s[sounds]
    starts, ends = chain_times[s2_at], chain_times[s2_at + 1]
    extra = _recurring(times - starts, diastoles) | _recurring(ends - times, diastoles)
    return extra.size - int(np.count_nonzero(extra))


def _recurring(delays_s: NDArray[np.float64], diastoles: int) -> NDArray[np.bool_]:
    """The sounds at one fixed delay from a diastole's S2 (or from its end, S1), when one recurs
    in at least half the diastoles: a third (or fourth) heart sound, locked to the beat, not a
    beat the chain dropped, which an irregular rhythm puts anywhere in diastole."""
    if delays_s.size < 3:  # (fewer than half the diastoles fail the count below)
        return np.zeros(delays_s.size, dtype=bool)
    near = np.abs(delays_s - median(delays_s)) <= _LOCKED_S
    return near if np.count_nonzero(near) >= diastoles / 2 else np.zeros(delays_s.size, dtype=bool)


def _same_model(a: CycleEstimate, b: CycleEstimate) -> bool:
    """Same period and same systole within 3 %. The systole counts: a murmur filling systole
    can move the autocorrelation's S1-S2 lag while the loud sounds show the true one (a 70/min
    heart was read at 35/min when a model with the right period but that systole was dropped)."""
    return (
        abs(a.period_s - b.period_s) <= 0.03 * b.period_s
        and abs(a.systole_s - b.systole_s) <= 0.03 * b.period_s
    )


def _label_arrays(labels: list[tuple[int, int]]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """A chain's peak indices and labels as two arrays (one pass over the pairs: a chain is
    turned into arrays several times per model, and two list comprehensions cost twice this)."""
    pairs = np.fromiter(itertools.chain.from_iterable(labels), np.intp, 2 * len(labels))
    return pairs[0::2], pairs[1::2]


def _phase_intervals(
    labels: list[tuple[int, int]], times: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Systoles (S1 to the next sound, an S2) and diastoles (S2 to an S1) of a chain, seconds."""
    peaks, marks = _label_arrays(labels)
    chain_times = times[peaks]
    return _intervals(chain_times, *_turns(marks))


def _turns(marks: NDArray[np.intp]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Where a chain's systoles (an S1, then an S2) and diastoles (an S2, then an S1) begin,
    by its labels ``marks`` (S1 is 0, S2 is 1: one comparison each)."""
    before, after = marks[:-1], marks[1:]
    return before < after, before > after


def _intervals(
    chain_times: NDArray[np.float64], systolic: NDArray[np.bool_], diastolic: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The systoles and diastoles of a chain whose sounds are at ``chain_times`` and whose
    phases begin where ``systolic`` and ``diastolic`` say (:func:`_turns`), seconds."""
    gaps = chain_times[1:] - chain_times[:-1]
    return gaps[systolic], gaps[diastolic]


def _oriented(
    labels: list[tuple[int, int]], cands: _Candidates, doubled: bool = False
) -> list[tuple[int, int]]:
    """Swap S1 and S2 if the chain's "systole" follows the beat-to-beat changes of the cycle
    (:func:`_s1_phase_follows_cycle`); when that is unclear, if its "systole" outlasts its
    "diastole" or, when the two are too close to tell or the chain beats at
    :data:`_FAST_PHASES_BPM` or faster, if its "S1"s are the higher-pitched sounds.

    Systole is shorter than diastole at rest and stays so up to high rates (Weissler's QS2 =
    546 - 2.1 HR ms); from about 85 to 160 bpm the two come within 20 % of each other, and
    the medians over a recording then swap on chance; from about 130/min systole may outlast
    diastole. S2 is the higher-pitched of the two sounds (its valves close faster and tenser),
    so there the sounds with the larger share of :data:`PITCH_BAND_HZ` are the S2s, and in a
    fast chain whose phases are further apart those with the higher spectral centroid
    (:func:`_s1_higher_centroid`). A fast chain searched at twice the rate the half-rate guard
    found (``doubled``, :func:`segment_doubled`) is oriented by the centroid whatever its phases
    (by the share, then, without centroids).
    """
    return _oriented_arrays(labels, cands, doubled)[0]


def _oriented_arrays(labels: _Chain, cands: _Candidates, doubled: bool) -> tuple[_Chain, _Arrays]:
    """:func:`_oriented`, and the oriented chain's candidate indices, labels and times (made
    once: the phases, the cycle's cue and the dropped sounds share them)."""
    peaks, marks = _label_arrays(labels)
    chain_times = cands.times_s[peaks]
    if not _turned(labels, marks, chain_times, cands, doubled):
        return labels, (peaks, marks, chain_times)
    swapped = [(i, S2 if lab == S1 else S1) for i, lab in labels]
    return swapped, (peaks, (S1 + S2) - marks, chain_times)  # S1 and S2 are 0 and 1


def _turned(
    labels: _Chain,
    marks: NDArray[np.intp],
    chain_times: NDArray[np.float64],
    cands: _Candidates,
    doubled: bool,
) -> bool:
    """Whether :func:`_oriented` swaps the chain ``labels`` (its labels ``marks``, its sounds at
    ``chain_times``)."""
    systolic, diastolic = _turns(marks)
    systoles, diastoles = _intervals(chain_times, systolic, diastolic)
    if not (systoles.size and diastoles.size):
        return False
    systole, diastole = median(systoles), median(diastoles)
    reversed_ = _phase_follows(chain_times, systolic, diastolic, cands.step_s)
    if reversed_ is None:
        close = min(systole, diastole) >= _CLOSE_PHASES * max(systole, diastole)
        says = None
        if 60.0 / (systole + diastole) >= _FAST_PHASES_BPM and (doubled or not close):
            says = _s1_higher_centroid(labels, cands)
        if says is None and close:
            says = _s1_higher_pitched(labels, cands)
        reversed_ = systole > diastole if says is None else says
    return reversed_


def _s1_phase_follows_cycle(
    labels: list[tuple[int, int]], times: NDArray[np.float64], step_s: float = 0.0
) -> bool | None:
    """:func:`s1_phase_follows_cycle` of a chain of candidate peaks at ``times``."""
    peaks, marks = _label_arrays(labels)
    return s1_phase_follows_cycle(times[peaks], marks, step_s)


def s1_phase_follows_cycle(
    t: NDArray[np.float64], marks: NDArray[np.intp], step_s: float = 0.0
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
    with its systoles: a perfect, meaningless slope). The chain: its sounds' times ``t``
    (seconds, sorted) and labels ``marks`` (S1 or S2).
    """
    return _phase_follows(
        t, (marks[:-1] == S1) & (marks[1:] == S2), (marks[:-1] == S2) & (marks[1:] == S1), step_s
    )


def _phase_follows(
    t: NDArray[np.float64],
    systolic: NDArray[np.bool_],
    diastolic: NDArray[np.bool_],
    step_s: float,
) -> bool | None:
    """:func:`s1_phase_follows_cycle` of a chain whose sounds are at ``t`` and whose phases
    begin where ``systolic`` and ``diastolic`` say (:func:`_turns`)."""
    k = np.flatnonzero(systolic[:-1] & diastolic[1:])  # S1-S2-S1 triples
    if k.size < _STEADY_MIN_CYCLES:
        return None
    start = t[k]
    first, cycle = t[k + 1] - start, t[k + 2] - start
    # The means as ndarray.mean forms them (the sum over the count), without its wrapper.
    first, cycle = first - np.add.reduce(first) / k.size, cycle - np.add.reduce(cycle) / k.size
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
    pitch = cands.pitch
    if pitch is None:
        return None
    medians = _label_medians(labels, lambda peaks: pitch[peaks])
    return None if medians is None else medians[0] > medians[1]


def _s1_higher_centroid(labels: list[tuple[int, int]], cands: _Candidates) -> bool | None:
    """Whether the sounds labelled S1 have a higher median spectral centroid than those labelled
    S2 (None without centroids or three sounds of each, or when either median is at or over
    :data:`~stetho_signal._sound_band.HEART_PITCH_HZ`: sounds that are not S1 and S2).

    The centroid of the whole heart band tells S2 from S1 more often than the share of its upper
    part (:func:`stetho_signal._sound_band.spectral_centroids_hz`); it orients the fast chains
    whose phases are not close, and the fast chains searched again at twice the half-rate
    guard's rate whatever their phases (:func:`segment_doubled`). The chain search's own close
    phases keep the share at every rate: :data:`_CLOSE_PHASES` was chosen with it, and the
    centroid there too, tried, read one AF-like recording at 110/min at half rate (its chain on
    the bound of even spacing) and moved one CirCor rate over the 5 bpm bound (docs/accuracy.md,
    seventeenth round; in the eighteenth, a clear centroid or an undecided share moved that rate
    in every form tried).
    """
    centroids = cands.centroids
    if centroids is None:
        return None
    medians = _label_medians(labels, lambda peaks: centroids(cands.times_s[peaks]))
    if medians is None or max(medians) >= HEART_PITCH_HZ:
        return None
    return medians[0] > medians[1]


def _label_medians(
    labels: list[tuple[int, int]], measure: Callable[[NDArray[np.intp]], NDArray[np.float64]]
) -> tuple[float, float] | None:
    """Median of ``measure`` (of the chain's candidate indices) over the sounds labelled S1 and
    over those labelled S2, or None with fewer than three of either (measured only then)."""
    peaks, marks = _label_arrays(labels)
    is_s1 = marks == S1
    if np.count_nonzero(is_s1) < 3 or np.count_nonzero(~is_s1) < 3:
        return None
    values = measure(peaks)
    return median(values[is_s1]), median(values[~is_s1])


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
