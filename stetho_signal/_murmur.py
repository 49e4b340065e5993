"""The murmur hint's measure: how much louder one phase of the heart cycle is than the other.

Levels are read on the murmur-band envelope between the labelled S1 and S2 (see
:func:`murmur_contrast`); whether a murmur is hinted is the triage rules' call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from stetho_signal._notes import Note
from stetho_signal._stats import median
from stetho_signal.envelope import ENVELOPE_RATE_HZ
from stetho_signal.segmentation import HeartSounds

__all__ = ["MURMUR_BAND_HZ", "SOUND_HALF_WIDTH_S", "levels_at", "murmur_contrast", "phases"]

SOUND_HALF_WIDTH_S = 0.05
"""S1/S2 last 80-140 ms; their core is +-50 ms around the centre."""
MURMUR_BAND_HZ = (100.0, 400.0)
"""Murmurs live at 100-600 Hz; S1/S2 energy mostly below 150 Hz, so this band favours them."""
# Added to both levels (fractions of the S1/S2 level) so that two near-silent phases of a clean
# recording do not make a large ratio out of nothing.
_MURMUR_FLOOR = 0.05
# A murmur that fills only part of its phase (the mid-diastolic rumble and presystolic
# accentuation of mitral stenosis, a late systolic murmur) is missed by the median of the whole
# phase; each phase is also scored by its loudest ~100 ms. A median over 110 ms (11 envelope
# samples: odd, so the median is one sample) ignores what lasts under 55 ms: clicks, an opening
# snap, S3 and S4 are transients, a murmur is a sustained sound.
_SUSTAINED_SAMPLES = 11
# Diastole's loudest stretch is sought from 150 ms after S2: past the opening snap of mitral
# stenosis (40-120 ms after A2, cardiologyoutlines.com/a2-os-interval) and the middle of the
# window of a normal S3 (130-180 ms after A2, "Current concepts of the genesis of heart sounds
# II", JAMA 1978;239:2790), so an S3 fills at most the first half of a window. Searched from
# 120 ms, the S3 of a normal Yaseen recording passed for a murmur; from 130 to 200 ms no normal
# one does and 10-11 of 20 mitral stenosis recordings are hinted. The rumble that follows the
# snap is still caught.
_EARLY_DIASTOLE_S = 0.15
# A murmur recurs at the same place of every beat; breath sounds, which swell over 40 % of each
# breath, cover a place in some beats only. Each place is scored by the level it reaches in
# three beats out of four (the median let a 44/min heart under loud breathing, three beats to a
# breath, pass for a diastolic murmur: contrast 2.2 in the simulator, against 1.46 at most from
# the whole phases).
_RECURRING_QUANTILE = 0.25
# Each beat's systole is also compared with the diastole that follows it, in the middle third of
# each (a share of the phase, so S1/S2 tails stay out at any rate), and the median over beats
# of the log ratio is kept: a murmur recurs in every systole, while breathing, the child's
# movements and the hand on the chest piece change the level of whole beats, which the ratio of
# phase medians over the recording mixes in. The floor (a fraction of the S1/S2 level, as
# _MURMUR_FLOOR) keeps two near-silent thirds of a clean recording from making a large ratio:
# with no floor 8 of 20 normal Yaseen clips are hinted, with 0.005-0.05 none. The window and
# the floor were chosen among a few (thirds, quarters, fifths x floors 0.005-0.05, with and
# without the guard below) on the shared CirCor recordings; `make eval` scores that choice
# leave one patient out (issue_17.murmur_paired_lopo; docs/accuracy.md, fifth round).
_PAIRED_WINDOW = (1.0 / 3.0, 2.0 / 3.0)
_PAIRED_FLOOR = 0.01
# The ratio counts only when the same phase is the louder in three beats out of four (as
# _RECURRING_QUANTILE): breath sounds over a faint heart make either phase louder in turns. In
# the simulator (heart at 0.03 of its level, breath at 30/min) the median alone hinted 3 of 108
# such recordings; soft murmurs of CirCor are louder in 86-96 % of their systoles.
_PAIRED_QUANTILE = _RECURRING_QUANTILE


def murmur_contrast(
    env: NDArray[np.float64], sounds: HeartSounds, notes: list[str]
) -> tuple[float, str] | None:
    """Louder of systole and diastole over the quieter, and which phase is louder.

    Levels are relative to the S1/S2 level of the murmur-band envelope. Three ratios are taken
    and the largest kept: between the medians of the whole phases (a murmur filling its phase),
    between the phases' loudest 100 ms (a murmur filling part of it; in diastole searched
    from :data:`_EARLY_DIASTOLE_S` after S2), and beat by beat between the middle thirds of
    each systole and the diastole after it (:func:`_paired_ratio`: a soft murmur under levels
    that change from beat to beat). Noise fills both phases alike (every ratio ~1), a murmur
    fills one of them.
    """
    systoles, diastoles = phases(sounds)
    sound_level = median(levels_at(env, systoles.ravel())) if systoles.size else 0.0
    edge = SOUND_HALF_WIDTH_S
    # Both phases' spans in one gather and sort (each span's median is its own row's).
    levels = _mid_levels(env, np.concatenate([systoles, diastoles]))
    measured = levels == levels  # not NaN: long enough once the cores are left out
    count = systoles.shape[0]
    whole = _phase_ratio(
        _median(levels[:count][measured[:count]]),
        _median(levels[count:][measured[count:]]),
        sound_level,
    )
    if whole is None:
        notes.append(
            Note("no_whole_cycle", "murmur hint needs a whole cycle (S1, S2 and the next S1)")
        )
        return None
    # Fast hearts leave no 100 ms of diastole past the S3 window: the whole phases decide.
    loudest = _rolling_median(env, _SUSTAINED_SAMPLES)
    sustained = _phase_ratio(
        _recurring_peak(loudest, systoles, edge, edge),
        _recurring_peak(loudest, diastoles, _EARLY_DIASTOLE_S, edge),
        sound_level,
    )
    paired = _paired_ratio(env, systoles, diastoles, sound_level)
    return max((r for r in (whole, sustained, paired) if r is not None), key=lambda r: r[0])


def _paired_ratio(
    env: NDArray[np.float64],
    systoles: NDArray[np.float64],
    diastoles: NDArray[np.float64],
    sound_level: float,
) -> tuple[float, str] | None:
    """Each systole's middle third over the middle third of the diastole after it, floored as
    :func:`_phase_ratio` does: the median over beats of the log ratio, as a ratio over 1 and its
    louder phase. None without a systole followed by a diastole or an S1/S2 level, or when
    neither phase is the louder in three beats out of four (:data:`_PAIRED_QUANTILE`)."""
    if sound_level <= 0 or diastoles.size == 0:
        return None
    # A diastole starts at the S2 that ends its systole (the last one, when two S1s share it).
    k = np.maximum(np.searchsorted(systoles[:, 1], diastoles[:, 0], side="right") - 1, 0)
    paired = systoles[k, 1] == diastoles[:, 0]
    beats = int(np.count_nonzero(paired))
    if beats == 0:
        return None
    spans = np.concatenate([systoles[k[paired]], diastoles[paired]])
    levels = _window_levels(env, spans, *_PAIRED_WINDOW) / sound_level + _PAIRED_FLOOR
    ratios = np.log(levels[:beats] / levels[beats:])
    ratios = np.sort(ratios[~np.isnan(ratios)])
    if ratios.size == 0:
        return None
    # Only a phase louder in three beats out of four speaks for a murmur (as the recurring
    # peak's quantile): breath over a faint heart makes either phase louder in turns.
    low = _sorted_quantile(ratios, _PAIRED_QUANTILE)
    high = _sorted_quantile(ratios, 1.0 - _PAIRED_QUANTILE)
    if not (low > 0 or high < 0):
        return None
    log_ratio = _sorted_quantile(ratios, 0.5)
    return round(float(np.exp(abs(log_ratio))), 3), "systolic" if log_ratio >= 0 else "diastolic"


def _sorted_quantile(values: NDArray[np.float64], q: float) -> float:
    """Quantile ``q`` (linear, as ``np.quantile``) of sorted values."""
    position = q * (values.size - 1)
    below = int(position)
    above = min(below + 1, values.size - 1)
    return float(values[below] + (values[above] - values[below]) * (position - below))


def _window_levels(
    env: NDArray[np.float64], spans_s: NDArray[np.float64], lo: float, hi: float
) -> NDArray[np.float64]:
    """Median envelope from ``lo`` to ``hi`` of each span (shares of its length); NaN where
    that stretch holds under two envelope samples. All medians in one sort (as
    :func:`_mid_levels`)."""
    length = spans_s[:, 1] - spans_s[:, 0]
    edges = np.round((spans_s[:, :1] + np.array([lo, hi]) * length[:, None]) * ENVELOPE_RATE_HZ)
    bounds: NDArray[np.intp] = np.minimum(np.maximum(edges.astype(np.intp), 0), env.size)
    start, counts = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    levels = np.full(spans_s.shape[0], np.nan)
    keep = counts >= 2
    if not keep.any():
        return levels
    start, counts = start[keep], counts[keep]
    offsets = np.arange(int(counts.max()))
    index = np.minimum(start[:, None] + offsets, env.size - 1)
    rows = np.where(offsets < counts[:, None], env[index], np.inf)
    rows.sort(axis=1)
    levels[keep] = _row_quantiles(rows, counts, 0.5)
    return levels


def phases(sounds: HeartSounds) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Systoles, each S1 to the first S2 after it, and the diastoles that follow them, that S2
    to the next S1 when it comes later: rows of (start, end) in seconds."""
    s1, s2 = sounds.s1_s, sounds.s2_s  # both sorted
    after = np.searchsorted(s2, s1, side="right")
    paired = np.flatnonzero(after < s2.size)
    systoles = np.stack([s1[paired], s2[after[paired]]], axis=1)
    followed = paired[paired + 1 < s1.size]
    starts, ends = s2[after[followed]], s1[followed + 1]
    later = ends > starts
    return systoles, np.stack([starts[later], ends[later]], axis=1)


def _median(values: NDArray[np.float64]) -> float | None:
    return median(values) if values.size else None


def _phase_ratio(
    sys_level: float | None, dia_level: float | None, sound_level: float
) -> tuple[float, str] | None:
    """Systolic over diastolic level or the inverse, whichever is over 1."""
    if sys_level is None or dia_level is None or sound_level <= 0:
        return None
    sys_relative = sys_level / sound_level + _MURMUR_FLOOR
    dia_relative = dia_level / sound_level + _MURMUR_FLOOR
    if sys_relative >= dia_relative:
        return round(sys_relative / dia_relative, 3), "systolic"
    return round(dia_relative / sys_relative, 3), "diastolic"


def levels_at(env: NDArray[np.float64], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    # np.minimum/np.maximum: np.clip costs several times more on arrays this small.
    index = np.minimum(
        np.maximum(np.round(times_s * ENVELOPE_RATE_HZ).astype(int), 0), env.size - 1
    )
    levels: NDArray[np.float64] = env[index]
    return levels


def _mid_levels(env: NDArray[np.float64], spans_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median envelope inside each span, away from the +-50 ms cores of its bounding sounds.

    Spans shorter than two samples once the cores are left out give no level (NaN). All
    medians in one sort: rows padded with +inf, each row's median taken at its own length.
    """
    levels = np.full(spans_s.shape[0], np.nan)
    if spans_s.size == 0:
        return levels
    trim = np.array([SOUND_HALF_WIDTH_S, -SOUND_HALF_WIDTH_S])
    bounds = np.round((spans_s + trim) * ENVELOPE_RATE_HZ).astype(int)
    lo = np.minimum(np.maximum(bounds[:, 0], 0), env.size)
    hi = np.minimum(np.maximum(bounds[:, 1], 0), env.size)
    lengths = hi - lo
    keep = lengths >= 2
    if not np.any(keep):
        return levels
    lo, lengths = lo[keep], lengths[keep]
    offsets = np.arange(int(lengths.max()))
    index = np.minimum(lo[:, None] + offsets[None, :], env.size - 1)
    rows = np.where(offsets[None, :] < lengths[:, None], env[index], np.inf)
    rows.sort(axis=1)
    levels[keep] = _row_quantiles(rows, lengths, 0.5)
    return levels


def _row_quantiles(
    rows: NDArray[np.float64], lengths: NDArray[np.intp], q: float
) -> NDArray[np.float64]:
    """Quantile ``q`` of each sorted row over its first ``lengths`` entries (linear)."""
    position = q * (lengths - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, lengths - 1)
    picked = np.arange(lengths.size)
    low, high = rows[picked, below], rows[picked, above]
    quantiles: NDArray[np.float64] = low + (high - low) * (position - below)
    return quantiles


def _rolling_median(env: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """``out[k]`` is the median of ``env[k : k + window]`` (odd ``window``), ``k`` from 0 to
    ``env.size - window``."""
    if env.size < window:
        return np.zeros(0)
    half = window // 2
    medians: NDArray[np.float64] = ndimage.median_filter(env, window)[half : env.size - half]
    return medians


def _recurring_peak(
    loudest: NDArray[np.float64], spans_s: NDArray[np.float64], start_s: float, end_s: float
) -> float | None:
    """Loudest window of a phase at the same place in most cycles.

    ``loudest`` holds the rolling window medians (:func:`_rolling_median`). Windows lie from
    ``start_s`` after the start of each span to ``end_s`` before its end, and are placed at the
    same time after the span's start in every cycle, or at the same time before its end (a
    murmur is tied to S1 or S2, the phase's length varies from beat to beat). Each place is
    scored over the cycles holding it by :data:`_RECURRING_QUANTILE`: a murmur recurs there
    every cycle, breath sounds and noise do not. Places held by half of the cycles or fewer
    are left out, so that a few long phases (often around a missed sound) do not speak for
    all. None when no place is left.
    """
    if spans_s.size == 0 or loudest.size == 0:
        return None
    window = _SUSTAINED_SAMPLES
    trim = np.array([start_s, -end_s])
    bounds = np.round((spans_s + trim) * ENVELOPE_RATE_HZ).astype(int)
    lo = np.minimum(np.maximum(bounds[:, 0], 0), loudest.size)
    # Window starts k with lo <= k and k + window <= the stretch's end.
    places = np.minimum(bounds[:, 1], loudest.size + window - 1) - window + 1 - lo
    offsets = np.arange(max(int(places.max()), 0))
    count = np.sum(offsets[:, None] < places[None, :], axis=1)
    # Fewer cycles hold each further place: the places held by most form a prefix.
    offsets = offsets[2 * count > len(spans_s)]
    if offsets.size == 0:
        return None
    # Rows: places after the start, then places before the end; columns: cycles.
    both = np.concatenate([offsets, offsets])
    starts = np.concatenate([lo + offsets[:, None], lo + places - 1 - offsets[:, None]])
    held = both[:, None] < places[None, :]
    rows = np.where(held, loudest[np.minimum(np.maximum(starts, 0), loudest.size - 1)], np.inf)
    rows.sort(axis=1)
    levels = _row_quantiles(rows, np.concatenate([count[: offsets.size]] * 2), _RECURRING_QUANTILE)
    return float(np.max(levels))
