"""The S1/S2 segmentation's judge of a chain: which of its sounds are the S1s, and how many of
the recording's clear sounds it leaves out.

The chain search (:mod:`stetho_signal._chains`) finds, for each cycle model, the best chain of
envelope peaks labelled S1, S2, S1, ...; :mod:`stetho_signal.segmentation` keeps the model whose
chain, judged here, scores highest. Judging a chain is two things. It is oriented
(:func:`_oriented`): the duration model alone may label it the wrong way round, since systole
and diastole come within 20 % of each other from about 85/min and systole may outlast diastole
from about 130/min, so the chain is turned by which phase follows the cycle's beat-to-beat
changes, by the order of its phases, or by its sounds' pitch. And its score is scaled by the
share of the clear sounds around it that it labels (:func:`_explained_score`): under an
irregular rhythm a wrong cycle model could otherwise win by dropping beats. One recording's
searches find the same chains again and again; :class:`_Judge` judges each once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_signal._chains import S1, S2
from stetho_signal._chains import Chain as _Chain
from stetho_signal._peaks import Candidates as _Candidates
from stetho_signal._short_beats import left_in_diastoles as _left_in_diastoles
from stetho_signal._sound_band import HEART_PITCH_HZ
from stetho_signal._stats import median
from stetho_signal.envelope import CycleEstimate

# A gallop's extra sound keeps its delay from S2 (S3) or to S1 (S4) within +-40 ms: two to four
# envelope samples of peak jitter plus the beat-to-beat spread of a 130-180 ms S3 delay.
_LOCKED_S = 0.04
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
            judged.dropped = _dropped_count(*judged.arrays, self._candidates)
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
    peaks, marks = _label_arrays(labels)
    return _dropped_count(peaks, marks, cands.times_s[peaks], cands)


def _dropped_count(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    chain_times: NDArray[np.float64],
    cands: _Candidates,
) -> int | None:
    """:func:`_dropped` of a chain as arrays: its candidate indices ``peaks``, labels ``marks``
    and times ``chain_times``."""
    if peaks.size < 3:
        return None
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


def _label_arrays(labels: list[tuple[int, int]]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """A chain's peak indices and labels as two arrays (one pass over the pairs: a chain is
    turned into arrays several times per model, and two list comprehensions cost twice this)."""
    pairs = np.fromiter(itertools.chain.from_iterable(labels), np.intp, 2 * len(labels))
    return pairs[0::2], pairs[1::2]


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
    so there the sounds with the larger share of
    :data:`~stetho_signal.segmentation.PITCH_BAND_HZ` are the S2s, and in a fast chain whose
    phases are further apart those with the higher spectral centroid
    (:func:`_s1_higher_centroid`). A fast chain searched at twice the rate the half-rate guard
    found (``doubled``, :func:`~stetho_signal.segmentation.segment_doubled`) is oriented by the
    centroid whatever its phases (by the share, then, without centroids).
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
    return _phase_follows(t, *_turns(marks), step_s)


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
    guard's rate whatever their phases (:func:`~stetho_signal.segmentation.segment_doubled`). The
    chain search's own close phases keep the share at every rate: :data:`_CLOSE_PHASES` was chosen
    with it, and the centroid there too, tried, read one AF-like recording at 110/min at half rate
    (its chain on the bound of even spacing) and moved one CirCor rate over the 5 bpm bound
    (docs/accuracy.md, seventeenth round; in the eighteenth, a clear centroid or an undecided share
    moved that rate in every form tried).
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
