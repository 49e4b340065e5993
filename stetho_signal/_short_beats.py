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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_signal._chains import S1, S2
from stetho_signal._peaks import LOUD_LEVEL, PEAK_FLOOR, Candidates

__all__ = ["IRREGULAR_CHAIN", "ShortBeats", "kept", "short_beats"]

IRREGULAR_CHAIN = 0.25
"""A chain is searched again when the normalised RMSSD of its S1-S1 intervals is over this:
an AF-like rhythm's expected sqrt(2) CV from CV 0.18, 2.5 times the triage's irregularity bound
(0.1). The chains of the unmodified CirCor recordings reach 0.21 (children's sinus arrhythmia),
those of the recordings made AF-like at CV 0.25 mostly 0.2-0.38 (tenth round)."""
# Intervals read as one beat, as the rate reads them (stetho_signal.heart._beat_intervals).
_BEAT_SPAN = (0.5, 1.6)
# The irregularity needs a few beats: five intervals, as the rhythm's own measure does
# (stetho_signal.heart._MIN_INTERVALS_FOR_RHYTHM).
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
    shaped like an S1) and whether it is shaped like an S1 at all (``s1_like``)."""

    widen: NDArray[np.bool_]
    s1_like: NDArray[np.bool_]


def short_beats(
    peaks: NDArray[np.intp],
    marks: NDArray[np.intp],
    cands: Candidates,
    env: NDArray[np.float64],
    period_s: float,
) -> ShortBeats | None:
    """Where a second search may shorten a diastole, or None when the chain (candidate indices
    ``peaks`` labelled ``marks``, cycle ``period_s``) is not irregular enough to search again.

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
    if np.sqrt(np.mean(np.diff(gaps) ** 2)) <= IRREGULAR_CHAIN * np.mean(gaps):
        return None
    shapes = _shapes(env, cands)
    s1_shape = np.median(shapes[peaks[is_s1]], axis=0)
    s2_shape = np.median(shapes[peaks[~is_s1]], axis=0)
    s1_like = _correlation(shapes, s1_shape) >= _correlation(shapes, s2_shape)
    clear = _clear(cands)
    widen = s1_like & (clear | _beat_ahead(peaks, marks, cands, clear & ~s1_like))
    return ShortBeats(widen, s1_like) if widen.any() else None


def kept(first: list[tuple[int, int]], second: list[tuple[int, int]], beats: ShortBeats) -> bool:
    """Whether the second search's chain replaces the first: it labels S1 some sound the first
    did not, and more than half of those are shaped like an S1 (a chain that found short beats
    rather than loud extra sounds, whose other labels may have moved with them)."""
    before = {peak for peak, mark in first if mark == S1}
    added = [peak for peak, mark in second if mark == S1 and peak not in before]
    return 2 * int(np.count_nonzero(beats.s1_like[added])) > len(added)


def _heights(cands: Candidates) -> NDArray[np.float64]:
    """Each candidate's height relative to the typical heart sound (as its reward was made)."""
    heights: NDArray[np.float64] = cands.reward / 2.0 + PEAK_FLOOR
    return heights


def _clear(cands: Candidates) -> NDArray[np.bool_]:
    """A clear sound, as the chain's dropped-beat test takes one
    (segmentation._explained_score): above the noise and at least :data:`LOUD_LEVEL`."""
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
    faint = ~cands.weak & (_heights(cands) > PEAK_FLOOR) & ~_clear(cands)
    ahead: NDArray[np.bool_] = faint & (offset <= reach)
    return ahead


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
