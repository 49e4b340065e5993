"""Short beats of an irregular rhythm: where a second chain search may shorten a diastole, and
whether its chain is kept (see :func:`stetho_signal.segmentation.segment_heart_sounds`).

Atrial fibrillation varies each cycle by 15-30 %, and the duration model's diastole spread
suits a steady rhythm: a diastole that a short beat shortens to nothing costs more than skipping
the beat, so the chain drops the shortest beats and reads the rate slow. Searched again with a
wider spread on the short side, the chain finds them, but may as well take a loud extra sound
(a split S2, a third heart sound, a murmur's peak) for an S1 and read the rate at double
(docs/accuracy.md, tenth and sixteenth rounds). The S1s of one heart look alike, made beat
after beat by the same valves closing, and unlike those extra sounds: the wider spread is
allowed only into sounds shaped more like the chain's own S1s than like its S2s, and the new
chain is kept only when most of the S1s it adds are shaped so. A faint sound so shaped may end a
short diastole too when a clear sound shaped like an S2 follows it a systole later: a whole beat.

The beats a chain drops make its own intervals steadier than the rhythm (two short beats read
as one of normal length), so an AF-like chain may look steady enough not to be searched again.
Such a chain is searched again too when it leaves a whole beat out of a diastole: a clear
sound, nearly as loud as its S1s and shaped like them, followed a systole later by a clear sound
shaped like its S2s; its second chain may then label as many more S1s as it left such beats
(docs/accuracy.md, eighteenth round).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_signal._chains import S1, S2
from stetho_signal._peaks import LOUD_LEVEL, PEAK_FLOOR, Candidates
from stetho_signal._rhythm import nrmssd
from stetho_signal._stats import median
from stetho_signal.triage import TriageThresholds

__all__ = [
    "DROPPED_BEAT_LEVEL",
    "IRREGULAR_CHAIN",
    "ShortBeats",
    "kept",
    "left_in_diastoles",
    "short_beats",
]

IRREGULAR_CHAIN = 0.25
"""A chain is searched again when the normalised RMSSD of its S1-S1 intervals is over this:
an AF-like rhythm's expected sqrt(2) CV from CV 0.18, 2.5 times the triage's irregularity bound
(0.1). The chains of the unmodified CirCor recordings reach 0.21 (children's sinus arrhythmia),
those of the recordings made AF-like at CV 0.25 mostly 0.2-0.38 (tenth round). Under it, a
chain is searched again only when it leaves whole beats out (:func:`short_beats`)."""
DROPPED_BEAT_LEVEL = 0.75
"""A sound left out of a chain's diastole is a beat the chain dropped when it is clear and at least
three quarters of the height of the chain's median S1. Below S1's own level because S1 loudness
varies from beat to beat in atrial fibrillation; on synthetic sweeps 0.6 let noise and murmur
peaks of slow noisy hearts count, 0.85 missed dropped beats (_chain_judge._explained_score)."""
# Under IRREGULAR_CHAIN a chain is searched again for the beats it left out only when its
# intervals vary more than the triage's irregularity bound (TriageThresholds.irregularity_nrmssd,
# 0.1): a steady rhythm has no short beats to find, and the dropped beats of the chains of
# CirCor made AF-like at CV 0.25 leave them at 0.12-0.25 (docs/accuracy.md, seventeenth round).
# On both sides: 85002_AV slowed to 60/min, regular, reads 0.104 and is searched (its second
# chain, no S1 added, not kept); the chain the rule mends, 50221_MV made AF-like, reads 0.238.
_IRREGULAR_RHYTHM = TriageThresholds().irregularity_nrmssd
# ... and only over at least eight beat intervals, as the cycle-following cue needs eight cycles
# (_chain_judge._STEADY_MIN_CYCLES): on fewer, a single loud sound decides for the whole chain.
# Under breath sounds as loud as the heart, chains of 6-7 intervals that breathing made irregular
# took a breath sound for a left-out beat and read 122 and 118/min as 134 and 136
# (bench.fast_read_probe); 9979_TV made AF-like, eight intervals, is searched (docs/accuracy.md,
# eighteenth round).
_STEADY_LOOKING_INTERVALS = 8
# Intervals read as one beat, as the rate reads them (stetho_signal.heart._beat_intervals).
_BEAT_SPAN = (0.5, 1.6)
# The irregularity needs a few beats: five intervals (six S1s), one more than the rhythm's own
# measure (_rhythm.MIN_INTERVALS_FOR_RHYTHM): searched again on four, a 161/min heart under
# breath sounds read 210, and short clips' wrong reads moved further off (docs/accuracy.md,
# thirty-first round).
_MIN_INTERVALS = 5
# A sound's shape: the envelope +-80 ms about its peak (a heart sound lasts 100-150 ms; the
# reach of a sound's centre, stetho_signal.segmentation._sound_centres).
_SHAPE_REACH_S = 0.08
# A faint short beat's S2 is sought within this many of the duration model's systolic spreads
# (0.03 s + 0.1 systole, stetho_signal._chains._durations) of the chain's median systole: systole
# barely follows the cycle (Weissler's QS2; a short AF beat keeps it), while an S3 or a murmur's
# peak stands at no fixed distance before a clear S2-shaped sound.
_SYSTOLE_SPREADS = 2.0


@dataclass(frozen=True)
class ShortBeats:
    """Per candidate peak: whether a short diastole may end in it (``widen``: a clear sound
    shaped like an S1) and whether it is shaped like an S1 at all (``s1_like``); and how many
    more S1s than the first chain the second may label (``most_added``; None: no limit, the
    chain was irregular enough to search again, not searched for the beats it left out)."""

    widen: NDArray[np.bool_]
    s1_like: NDArray[np.bool_]
    most_added: int | None = None


def short_beats(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    cands: Candidates,
    env: NDArray[np.float64],
    period_s: float,
) -> ShortBeats | None:
    """Where a second search may shorten a diastole, or None when the chain (candidate indices
    ``peaks`` labelled ``marks``, cycle ``period_s``) is not irregular enough to search again:
    its S1-S1 intervals' normalised RMSSD is at most :data:`IRREGULAR_CHAIN` and it leaves no
    whole beat out (:func:`_beats_left_out`), or it is at most the triage's irregularity bound,
    or the chain has under :data:`_STEADY_LOOKING_INTERVALS` beat intervals.

    Notes
    -----
    A sound is shaped like an S1 when its envelope (``env``, on the candidates' time grid)
    within :data:`_SHAPE_REACH_S` of its peak, scaled to the peak (AF's S1 loudness varies
    with the preceding cycle; its shape much less), correlates better with the median shape
    of the chain's S1s than with that of its S2s (normalised cross-correlation).
    """
    is_s1 = marks == S1
    if np.count_nonzero(is_s1) <= _MIN_INTERVALS or not np.any(marks == S2):
        return None
    gaps = np.diff(cands.times_s[peaks[is_s1]])
    gaps = gaps[(gaps >= _BEAT_SPAN[0] * period_s) & (gaps <= _BEAT_SPAN[1] * period_s)]
    if gaps.size < _MIN_INTERVALS:
        return None
    irregularity = nrmssd(gaps)
    steady = irregularity <= IRREGULAR_CHAIN
    if steady and (irregularity <= _IRREGULAR_RHYTHM or gaps.size < _STEADY_LOOKING_INTERVALS):
        return None
    shapes = _shapes(env, cands)
    s1_shape = np.median(shapes[peaks[is_s1]], axis=0)
    s2_shape = np.median(shapes[peaks[~is_s1]], axis=0)
    s1_like = _correlation(shapes, s1_shape) >= _correlation(shapes, s2_shape)
    clear = _clear(cands)
    s2_like = clear & ~s1_like
    most_added = None
    if steady:
        most_added = _beats_left_out(peaks, marks, cands, s1_like, s2_like)
        if most_added == 0:
            return None
    widen = s1_like & (clear | _beat_ahead(peaks, marks, cands, s2_like))
    return ShortBeats(widen, s1_like, most_added) if widen.any() else None


def kept(first: list[tuple[int, int]], second: list[tuple[int, int]], beats: ShortBeats) -> bool:
    """Whether the second search's chain replaces the first: it labels S1 some sound the first
    did not, and more than half of those are shaped like an S1 (a chain that found short beats
    rather than loud extra sounds, whose other labels may have moved with them). Searched again
    for the whole beats it left out, it must also label more S1s than the first, at most
    ``beats.most_added`` (their count) more: it found some of those beats, not a faster rhythm
    (under breathing three to ten times the heart's RMS, a chain searched again without the
    upper bound took breath sounds for beats), nor only moved its labels (a slowed, regular
    heart's chain did so and read irregular; docs/accuracy.md, eighteenth round)."""
    before = {peak for peak, mark in first if mark == S1}
    added = [peak for peak, mark in second if mark == S1 and peak not in before]
    if beats.most_added is not None:
        more = sum(mark == S1 for _, mark in second) - len(before)
        if not 0 < more <= beats.most_added:
            return False
    return 2 * int(np.count_nonzero(beats.s1_like[added])) > len(added)


def left_in_diastoles(
    peaks: NDArray[np.intp], marks: NDArray[np.intp], cands: Candidates
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Clear sounds a chain (candidate indices ``peaks`` labelled ``marks``, with an S1 and a
    diastole) leaves in its diastoles, at least :data:`DROPPED_BEAT_LEVEL` of its median S1's
    height: their candidate indices and, for each, the chain position of the S2 that begins
    its diastole (a diastole: an S2 followed by an S1; systole is not searched, a systolic
    murmur fills it)."""
    height = _heights(cands)
    level = max(LOUD_LEVEL, DROPPED_BEAT_LEVEL * median(height[peaks[marks == S1]]))
    unused = np.ones(height.size, dtype=bool)
    unused[peaks] = False
    sounds = np.flatnonzero(unused & ~cands.weak & (height >= level))
    diastoles = np.flatnonzero((marks[:-1] == S2) & (marks[1:] == S1))
    if diastoles.size == 0:
        return sounds[:0], diastoles
    times = cands.times_s[sounds]
    starts, ends = cands.times_s[peaks[diastoles]], cands.times_s[peaks[diastoles + 1]]
    k = np.searchsorted(starts, times, side="right") - 1  # the diastole starting before each
    inside = (k >= 0) & (times < ends[np.maximum(k, 0)])
    return sounds[inside], diastoles[k[inside]]


def _beats_left_out(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    cands: Candidates,
    s1_like: NDArray[np.bool_],
    s2_like: NDArray[np.bool_],
) -> int:
    """Whole beats the chain left out: sounds it leaves in its diastoles
    (:func:`left_in_diastoles`) shaped like its S1s (``s1_like``) and followed one of its
    systoles later by a clear sound shaped like its S2s (``s2_like``, see :func:`_beat_ahead`).

    A loud sound alone in a diastole may be a breath sound, a knock or a third heart sound; an
    S1-shaped one with its S2 where the rhythm's nearly fixed systole puts it is a beat.
    """
    sounds, _ = left_in_diastoles(peaks, marks, cands)
    whole = s1_like[sounds] & _systole_before(peaks, marks, cands, s2_like)[sounds]
    return int(np.count_nonzero(whole))


def _heights(cands: Candidates) -> NDArray[np.float64]:
    """Each candidate's height relative to the typical heart sound (as its reward was made)."""
    heights: NDArray[np.float64] = cands.reward / 2.0 + PEAK_FLOOR
    return heights


def _clear(cands: Candidates) -> NDArray[np.bool_]:
    """A clear sound, as the chain's dropped-beat test takes one
    (_chain_judge._explained_score): above the noise and at least :data:`LOUD_LEVEL`."""
    clear: NDArray[np.bool_] = ~cands.weak & (_heights(cands) >= LOUD_LEVEL)
    return clear


def _beat_ahead(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    cands: Candidates,
    s2_like: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Faint sounds (heard over the noise and :data:`PEAK_FLOOR`, under a clear sound) followed
    by an ``s2_like`` sound (clear, shaped like the chain's S2s) one of the chain's systoles
    later, within :data:`_SYSTOLE_SPREADS` spreads: an S1 and its S2, a whole beat, not a lone
    extra sound.

    Atrial fibrillation's S1 varies in loudness beat to beat (the leaflets' position when the
    ventricle contracts varies with each filling time), so a short beat's S1 may be faint: its
    S2, at the rhythm's nearly fixed systole, vouches for it.
    """
    faint = ~cands.weak & (_heights(cands) > PEAK_FLOOR) & ~_clear(cands)
    ahead: NDArray[np.bool_] = faint & _systole_before(peaks, marks, cands, s2_like)
    return ahead


def _systole_before(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    cands: Candidates,
    s2_like: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Candidates followed by an ``s2_like`` sound one of the chain's systoles later (its median
    S1-S2 interval over at least five pairs), within :data:`_SYSTOLE_SPREADS` spreads."""
    times = cands.times_s
    chain = times[peaks]
    # The chain's systole, measured over five beats as its irregularity is.
    systoles = np.flatnonzero((marks[:-1] == S1) & (marks[1:] == S2))
    if systoles.size < _MIN_INTERVALS or not s2_like.any():
        return np.zeros(times.size, dtype=bool)
    systole = float(np.median(chain[systoles + 1] - chain[systoles]))
    reach = _SYSTOLE_SPREADS * (0.03 + 0.1 * systole)
    # Offset of the nearest S2-like sound from one systole after each candidate.
    offset = np.min(np.abs(times[s2_like][None, :] - (times + systole)[:, None]), axis=1)
    before: NDArray[np.bool_] = offset <= reach
    return before


def _shapes(env: NDArray[np.float64], cands: Candidates) -> NDArray[np.float64]:
    """Each candidate's shape: a row of ``env`` from :data:`_SHAPE_REACH_S` before its peak to
    as long after (the edge samples repeated where the envelope ends), scaled to the peak."""
    reach = round(_SHAPE_REACH_S / cands.step_s)
    at = np.rint(cands.times_s / cands.step_s).astype(np.intp)
    shapes = env[np.clip(at[:, None] + np.arange(-reach, reach + 1), 0, env.size - 1)]
    result: NDArray[np.float64] = shapes / np.maximum(shapes[:, reach : reach + 1], 1e-12)
    return result


def _correlation(shapes: NDArray[np.float64], template: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pearson correlation of each row of ``shapes`` with ``template`` (0 for a flat one)."""
    rows = shapes - shapes.mean(axis=1, keepdims=True)
    centred = template - template.mean()
    norms = np.sqrt(np.sum(rows * rows, axis=1) * float(np.dot(centred, centred)))
    result: NDArray[np.float64] = rows @ centred / np.maximum(norms, 1e-12)
    return result
