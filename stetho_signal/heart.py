"""Heart analysis: rate, S1/S2 times, rhythm irregularity and a murmur hint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from stetho_signal._half_rate import guard_half_rate
from stetho_signal._notes import Note
from stetho_signal._snap import snap_after_s2
from stetho_signal._stats import median
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import (
    ANALYTIC_RATE_HZ,
    ENVELOPE_RATE_HZ,
    MAX_RATE_BPM,
    MIN_RATE_BPM,
    CycleEstimate,
    estimate_cycles,
    heart_envelope,
)
from stetho_signal.segmentation import PITCH_BAND_HZ, HeartSounds, segment_heart_sounds

__all__ = ["MURMUR_BAND_HZ", "HeartResult", "analyze_heart"]

_MIN_PERIODICITY = 0.1  # below this the autocorrelation peak is chance (see quality ramp)
# A rate from the autocorrelation alone (fewer than two measured beat intervals) needs the
# pattern to repeat clearly: the middle of the quality gate's periodicity ramp. Just over 0.1,
# a one-second clip holding a single beat found a "period" between S1 and S2.
_PERIODICITY_ALONE = 0.2
_RANGE_MARGIN = 0.1
_MIN_PROMINENCE = 2.5  # S1/S2 over the envelope median: white noise ~1.3 (see quality ramp)
_MIN_INTERVALS_FOR_RHYTHM = 4  # irregularity needs at least five beats
_SOUND_HALF_WIDTH_S = 0.05  # S1/S2 last 80-140 ms; their core is +-50 ms around the centre
# Heart sounds last 80-140 ms; on this envelope the median half-height span of the labelled
# S1/S2 is 35-90 ms in every heart recording of the shared data (loud mitral regurgitation
# widening S1 the most) and 50-70 ms in the synthetic sweeps, murmurs included. Breath sounds
# swell and fade over hundreds of ms: with no heart audible, chains of breath swells read the
# breath rate as a heart rate (30 for 30 breaths/min) at 75-200 ms. From 150 ms, not a heart;
# a synthetic murmur louder than S1 reaches 130 ms (the log envelope compresses it).
_BREATH_HALF_WIDTH_S = 0.15
_HALF_WIDTH_SPAN_S = 0.5
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


@dataclass(frozen=True)
class HeartResult:
    """What the heart analysis measured; None where the clip cannot tell.

    Attributes
    ----------
    rate_bpm : float or None
        Heart rate in beats per minute (median S1-S1 interval).
    s1_s, s2_s : tuple of float
        Centres of the first and second heart sounds, seconds from the start.
    rr_nrmssd : float or None
        RMS of successive S1-S1 differences over the mean interval (dimensionless).
    murmur_contrast : float or None
        Murmur-band level of the louder of systole and diastole over the quieter
        (dimensionless, ~1 without a murmur): the larger of two such ratios, one between the
        median levels of the whole phases, one between their loudest 100 ms.
    murmur_phase : {"systolic", "diastolic"} or None
        The louder phase, by the ratio that gave the contrast.
    periodicity : float
        Autocorrelation at the cardiac period, 0..1.
    sound_prominence : float
        Median envelope at the labelled S1/S2 over the median envelope (dimensionless): about
        1.3 for white noise, 2-4 for real recordings, far more for clean ones.
    notes : tuple of str
        Why a value is None.
    sound_half_width_s : float or None
        Median span of the labelled S1/S2 where the envelope stays above half its peak,
        seconds (None when no sound was labelled).
    heartbeat_found : bool
        False when nothing heart-like repeats: no cycle at all, or "sounds" as wide as breaths
        (the quality gate then asks for a new recording).
    beat_intervals : int
        S1-S1 intervals the rate was measured on (0: from the autocorrelation alone).
    snap_fraction, snap_delay_s : float or None
        Share of S2s followed 40-120 ms later by a distinct sound (an opening snap or a wide
        split) and its median delay, s (:func:`stetho_signal._snap.snap_after_s2`).
    """

    rate_bpm: float | None
    s1_s: tuple[float, ...]
    s2_s: tuple[float, ...]
    rr_nrmssd: float | None
    murmur_contrast: float | None
    murmur_phase: str | None
    periodicity: float
    sound_prominence: float
    notes: tuple[str, ...]
    sound_half_width_s: float | None = None
    heartbeat_found: bool = True
    beat_intervals: int = 0
    snap_fraction: float | None = None
    snap_delay_s: float | None = None


def analyze_heart(spectrum: Spectrum) -> HeartResult:
    """Measure a heart recording (``spectrum``: the recording, full scale 1.0).

    Measurements only: whether the rhythm is irregular or a murmur is hinted is decided by
    the triage rules from ``rr_nrmssd`` and ``murmur_contrast``.
    """
    env = heart_envelope(spectrum)
    cycles = estimate_cycles(env, ENVELOPE_RATE_HZ)
    if not cycles:
        return _no_heartbeat(
            Note("no_cycle", "clip too short or too irregular to find a repeating heartbeat")
        )
    pitch_env = heart_envelope(spectrum, PITCH_BAND_HZ)
    sounds, cycle = segment_heart_sounds(env, ENVELOPE_RATE_HZ, cycles, pitch_env)
    sounds, cycle = guard_half_rate(env, ENVELOPE_RATE_HZ, sounds, cycle)
    prominence = _prominence(env, sounds)
    width = _half_width_s(env, sounds)
    if width is not None and width >= _BREATH_HALF_WIDTH_S:
        note = Note(
            "no_heart_sounds",
            f"heart rate needs heart sounds; the sounds found last {1000 * width:.0f} ms at half "
            "height, far longer than heart sounds: breath sounds or noise, no heartbeat",
            round(1000 * width),
        )
        return _no_heartbeat(note, cycles[0].periodicity, prominence, width)
    notes: list[str] = []
    intervals = _beat_intervals(sounds, cycle)
    # An irregular rhythm smears the autocorrelation; prominent, alternating sounds still show
    # a heartbeat (the quality gate accepts either, see quality._PROMINENCE).
    heartbeat = cycles[0].periodicity >= _MIN_PERIODICITY or prominence >= _MIN_PROMINENCE
    rate = _rate_bpm(intervals, cycle, heartbeat, env.size / ENVELOPE_RATE_HZ, notes)
    nrmssd = _nrmssd(intervals, notes)
    murmur = _murmur_contrast(heart_envelope(spectrum, MURMUR_BAND_HZ), sounds, notes)
    band = spectrum.unpad(spectrum.envelope(MURMUR_BAND_HZ, ANALYTIC_RATE_HZ), ANALYTIC_RATE_HZ)
    snap = snap_after_s2(band, ANALYTIC_RATE_HZ, sounds.s2_s, sounds.s1_s)
    return HeartResult(
        rate_bpm=rate,
        s1_s=tuple(round(float(t), 3) for t in sounds.s1_s),
        s2_s=tuple(round(float(t), 3) for t in sounds.s2_s),
        rr_nrmssd=nrmssd,
        murmur_contrast=None if murmur is None else murmur[0],
        murmur_phase=None if murmur is None else murmur[1],
        periodicity=cycles[0].periodicity,
        sound_prominence=prominence,
        notes=tuple(notes),
        sound_half_width_s=width,
        beat_intervals=int(intervals.size) if rate is not None else 0,
        snap_fraction=None if snap is None else snap.fraction,
        snap_delay_s=None if snap is None else snap.delay_s,
    )


def _no_heartbeat(
    note: str, periodicity: float = 0.0, prominence: float = 0.0, width: float | None = None
) -> HeartResult:
    return HeartResult(
        None, (), (), None, None, None, periodicity, prominence, (note,),
        sound_half_width_s=width, heartbeat_found=False,
    )  # fmt: skip


def _half_width_s(env: NDArray[np.float64], sounds: HeartSounds) -> float | None:
    """Median time the envelope stays above half of each labelled sound's peak (the peak
    sought within +-50 ms of the sound's centre; spans capped at +-0.5 s of the centre).

    All sounds at once (as :func:`~stetho_signal._masks.half_peak_span` for each): one row of
    +-0.5 s per sound, samples past the recording's ends set below any level.
    """
    times = np.concatenate([sounds.s1_s, sounds.s2_s])
    if times.size == 0:
        return None
    reach = round(_HALF_WIDTH_SPAN_S * ENVELOPE_RATE_HZ)
    core = round(_SOUND_HALF_WIDTH_S * ENVELOPE_RATE_HZ)
    centres = np.clip(np.round(times * ENVELOPE_RATE_HZ).astype(np.intp), 0, env.size - 1)
    index = centres[:, None] + np.arange(-reach, reach + 1)
    inside = (index >= 0) & (index < env.size)
    rows = np.where(inside, env[np.clip(index, 0, env.size - 1)], -np.inf)
    peak = reach - core + np.argmax(rows[:, reach - core : reach + core + 1], axis=1)
    below = rows < 0.5 * rows[np.arange(centres.size), peak][:, None]
    columns = np.arange(2 * reach + 1)
    begin = np.where(below & (columns < peak[:, None]), columns, -1).max(axis=1) + 1
    end = np.where(below & (columns > peak[:, None]), columns, 2 * reach + 1).min(axis=1)
    widths = (end - begin).astype(np.float64)
    return round(median(widths) / ENVELOPE_RATE_HZ, 3)


def _prominence(env: NDArray[np.float64], sounds: HeartSounds) -> float:
    times = np.concatenate([sounds.s1_s, sounds.s2_s])
    background = median(env)
    if times.size == 0 or background <= 0:
        return 0.0
    return round(median(_levels_at(env, times)) / background, 3)


def _beat_intervals(sounds: HeartSounds, cycle: CycleEstimate) -> NDArray[np.float64]:
    """Consecutive S1-S1 intervals, leaving out those that span a missed beat."""
    if sounds.s1_s.size < 2:
        return np.zeros(0)
    intervals = np.diff(sounds.s1_s)
    # An irregular fast rhythm has single intervals shorter than 60/220 s: bound by the cycle.
    keep = (intervals >= 0.5 * cycle.period_s) & (intervals <= 1.6 * cycle.period_s)
    return intervals[keep]


def _rate_bpm(
    intervals: NDArray[np.float64],
    cycle: CycleEstimate,
    heartbeat: bool,
    duration_s: float,
    notes: list[str],
) -> float | None:
    if not heartbeat:
        notes.append(
            Note("no_heartbeat", "heart rate needs a repeating heartbeat; none found in this clip")
        )
        return None
    if intervals.size >= 2:
        period = median(intervals)
    elif duration_s >= 2.0 * cycle.period_s and cycle.periodicity >= _PERIODICITY_ALONE:
        period = cycle.period_s
    else:
        notes.append(
            Note("too_few_beats", "heart rate needs at least two beats; the clip holds fewer")
        )
        return None
    rate = 60.0 / period
    # A beat-to-beat median just past the searched range is still a measurement (a 29/min
    # bradycardia must not lose its rate, and its alert, to a rounding of the range).
    if not MIN_RATE_BPM * (1 - _RANGE_MARGIN) <= rate <= MAX_RATE_BPM * (1 + _RANGE_MARGIN):
        notes.append(
            Note(
                "heart_rate_out_of_range",
                f"heart rate {rate:.0f} bpm is outside the measurable 30-220 bpm",
                round(rate),
            )
        )
        return None
    return round(rate, 1)


def _nrmssd(intervals: NDArray[np.float64], notes: list[str]) -> float | None:
    if intervals.size < _MIN_INTERVALS_FOR_RHYTHM:
        notes.append(
            Note(
                "too_few_beats_for_rhythm",
                "rhythm needs at least five consecutive beats; the clip holds fewer",
            )
        )
        return None
    successive = np.diff(intervals)
    return round(float(np.sqrt(np.mean(successive**2)) / np.mean(intervals)), 4)


def _murmur_contrast(
    env: NDArray[np.float64], sounds: HeartSounds, notes: list[str]
) -> tuple[float, str] | None:
    """Louder of systole and diastole over the quieter, and which phase is louder.

    Levels are relative to the S1/S2 level of the murmur-band envelope. Two ratios are taken
    and the larger kept: between the medians of the whole phases (a murmur filling its phase),
    and between the phases' loudest 100 ms (a murmur filling part of it; in diastole searched
    from :data:`_EARLY_DIASTOLE_S` after S2). Noise fills both phases alike (both ratios ~1),
    a murmur fills one of them.
    """
    systoles, diastoles = _phases(sounds)
    sound_level = median(_levels_at(env, systoles.ravel())) if systoles.size else 0.0
    edge = _SOUND_HALF_WIDTH_S
    whole = _phase_ratio(
        _median(_mid_levels(env, systoles)), _median(_mid_levels(env, diastoles)), sound_level
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
    return whole if sustained is None or whole[0] >= sustained[0] else sustained


def _phases(sounds: HeartSounds) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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


def _levels_at(env: NDArray[np.float64], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    index = np.clip(np.round(times_s * ENVELOPE_RATE_HZ).astype(int), 0, env.size - 1)
    levels: NDArray[np.float64] = env[index]
    return levels


def _mid_levels(env: NDArray[np.float64], spans_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median envelope inside each span, away from the +-50 ms cores of its bounding sounds.

    Spans shorter than two samples once the cores are left out give no level. All medians in
    one sort: rows padded with +inf, each row's median taken at its own length.
    """
    if spans_s.size == 0:
        return np.zeros(0)
    trim = np.array([_SOUND_HALF_WIDTH_S, -_SOUND_HALF_WIDTH_S])
    bounds = np.round((spans_s + trim) * ENVELOPE_RATE_HZ).astype(int)
    lo = np.clip(bounds[:, 0], 0, env.size)
    hi = np.clip(bounds[:, 1], 0, env.size)
    lengths = hi - lo
    keep = lengths >= 2
    if not np.any(keep):
        return np.zeros(0)
    lo, lengths = lo[keep], lengths[keep]
    offsets = np.arange(int(lengths.max()))
    index = np.minimum(lo[:, None] + offsets[None, :], env.size - 1)
    rows = np.where(offsets[None, :] < lengths[:, None], env[index], np.inf)
    rows.sort(axis=1)
    return _row_quantiles(rows, lengths, 0.5)


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
