"""Heart analysis: rate, S1/S2 times, rhythm irregularity and a murmur hint."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_signal._fast_read import beat_measures, beat_span_share, envelope_repeat
from stetho_signal._half_rate import (
    diastole_follows_cycle,
    evenly_spaced,
    guard_half_rate,
    level_ratio,
    phase_medians,
)
from stetho_signal._murmur import MURMUR_BAND_HZ, levels_at, murmur_contrast
from stetho_signal._murmur import SOUND_HALF_WIDTH_S as _SOUND_HALF_WIDTH_S
from stetho_signal._notes import Note
from stetho_signal._peaks import Candidates, sound_candidates
from stetho_signal._rhythm import MIN_INTERVALS_FOR_RHYTHM as _MIN_INTERVALS_FOR_RHYTHM
from stetho_signal._rhythm import nrmssd
from stetho_signal._snap import snap_after_s2
from stetho_signal._sound_band import high_band_share
from stetho_signal._stats import median
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import (
    ANALYTIC_RATE_HZ,
    ENVELOPE_RATE_HZ,
    HEART_RATE_HZ,
    MAX_RATE_BPM,
    MIN_INTERVALS_FOR_RATE,
    MIN_RATE_BPM,
    SOUND_BAND_HZ,
    CycleEstimate,
    estimate_cycles,
    heart_envelopes,
    periodicity_at,
)
from stetho_signal.filters import HEART_BAND_HZ
from stetho_signal.segmentation import (
    PITCH_BAND_HZ,
    HeartSounds,
    segment_doubled,
    segment_heart_sounds,
)

__all__ = ["MURMUR_BAND_HZ", "HeartResult", "analyze_heart"]

_MIN_PERIODICITY = 0.1  # below this the autocorrelation peak is chance (see quality ramp)
# A rate from the autocorrelation alone (fewer than two measured beat intervals) needs the
# pattern to repeat clearly: the middle of the quality gate's periodicity ramp. Just over 0.1,
# a one-second clip holding a single beat found a "period" between S1 and S2. Checked at the
# best lag and at the period read (docs/accuracy.md, twenty-seventh round, s46-acfperiod).
_PERIODICITY_ALONE = 0.2
_RANGE_MARGIN = 0.1
# The rates shown: a beat-to-beat median just past the searched range is still a measurement
# (a 29/min bradycardia must not lose its rate, and its alert, to a rounding of the range).
_SHOWN_BPM = (MIN_RATE_BPM * (1 - _RANGE_MARGIN), MAX_RATE_BPM * (1 + _RANGE_MARGIN))
_MIN_PROMINENCE = 2.5  # S1/S2 over the envelope median: white noise ~1.3 (see quality ramp)
# Heart sounds last 80-140 ms; on this envelope the median half-height span of the labelled
# S1/S2 is 35-90 ms in every heart recording of the shared data (loud mitral regurgitation
# widening S1 the most) and 50-70 ms in the synthetic sweeps, murmurs included. Breath sounds
# swell and fade over hundreds of ms: with no heart audible, chains of breath swells read the
# breath rate as a heart rate (30 for 30 breaths/min) at 75-200 ms. From 150 ms, not a heart;
# a synthetic murmur louder than S1 reaches 130 ms (the log envelope compresses it).
_BREATH_HALF_WIDTH_S = 0.15
_HALF_WIDTH_SPAN_S = 0.5


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
        (dimensionless, ~1 without a murmur): the largest of three such ratios, between the
        median levels of the whole phases, between their loudest 100 ms, and beat by beat
        between their middle thirds (:func:`stetho_signal._murmur.murmur_contrast`).
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
    systole_s, diastole_s : float or None
        Median S1-S2 and S2-S1 intervals of the labelled sounds, seconds (None under two of
        each). Evenly spaced sounds whose "systole" is as long as a heart's at the read rate
        may be one sound per beat of a heart twice as fast (:mod:`stetho_signal._half_rate`);
        the triage rules read them with ``s1_s2_level_ratio``.
    s1_s2_level_ratio : float or None
        Median envelope at the labelled S1s over that at the S2s (dimensionless; None without
        both). Near 1 when the two sounds are alike, as they are when a half-rate chain holds
        only S1s or only S2s.
    diastole_follows_cycle : bool or None
        True when the labelled S2-S1 phase takes most of the beat-to-beat changes of the
        cycle (as diastole does: systole holds as the rate varies), False when the S1-S2 phase
        does, None when the beats are too few or too steady to tell, or when the phases are
        not evenly spaced (only then is it measured). A chain holding one sound per beat varies
        both phases alike: the triage reads True as a true read, never half.
    sound_high_band_share : float or None
        Share of the power the labelled S1/S2 add to the background that lies at 300-1000 Hz
        rather than 25-200 Hz, median over the sounds (0..1; None without a rate, when not
        asked for that rate, see :func:`analyze_heart`, or when no sound rises above the
        background): heart sounds add little above 200 Hz, crackles and breath sounds most of
        theirs (:func:`stetho_signal._sound_band.high_band_share`).
    envelope_repeat : float or None
        Autocorrelation of the envelope over its running mean at the read period, -1..1 (None
        without a rate, when not asked for that rate, see :func:`analyze_heart`, or under two
        periods): a fast heart repeats its envelope beat after beat, a chain of breath bursts
        between slower heart sounds does not (:func:`stetho_signal._fast_read.envelope_repeat`).
    beat_span_share : float or None
        Share of the recording spanned by the beat intervals the rate stands on, 0..1 (None
        as ``envelope_repeat``): a heart beats throughout, breath sounds come and go with the
        breathing (:func:`stetho_signal._fast_read.beat_span_share`).
    beat_step : float or None
        Median step of the level from one S1 to the next, nepers (None as ``envelope_repeat``,
        without the recording, see :func:`analyze_heart`, or under eight S1s): a heart's beats
        hold their level, a chain whose every other "beat" is the background between a slower
        heart's sounds steps up and down (:func:`stetho_signal._fast_read.beat_step`).
    beat_prominence : float or None
        The quarter-faintest S1's heart-band level over the median level between the sounds
        (None as ``beat_step``, or under four S1s): a chain that counts breath sounds as beats
        holds beats that barely stand above the breath between them
        (:func:`stetho_signal._fast_read.beat_prominence`).
    clip_s : float or None
        Length of the envelope the cycle search ran on, seconds, with or without a rate (None
        only for a result made elsewhere): under
        :data:`~stetho_signal.envelope.MIN_CLIP_FOR_SLOW_S` a clip may hold too few whole
        cycles of the slowest rates to read them
        (:func:`~stetho_signal.envelope.slowest_rate_seen_bpm`), whether a rate is read or not.
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
    systole_s: float | None = None
    diastole_s: float | None = None
    s1_s2_level_ratio: float | None = None
    diastole_follows_cycle: bool | None = None
    sound_high_band_share: float | None = None
    envelope_repeat: float | None = None
    beat_span_share: float | None = None
    beat_step: float | None = None
    clip_s: float | None = None
    beat_prominence: float | None = None


def analyze_heart(
    spectrum: Spectrum,
    share_at_or_below_bpm: float | None = None,
    fast_at_or_above_bpm: float | None = None,
    band: NDArray[np.float32] | None = None,
    recording: NDArray[np.float64] | None = None,
) -> HeartResult:
    """Measure a heart recording (``spectrum``: the recording, full scale 1.0).

    Measurements only: whether the rhythm is irregular or a murmur is hinted is decided by
    the triage rules from ``rr_nrmssd`` and ``murmur_contrast``. ``sound_high_band_share``
    (a tenth of a warm analysis) is measured only for a rate shown (rounded) at or below
    ``share_at_or_below_bpm`` or at or above ``fast_at_or_above_bpm`` (None: never), the
    urgent bounds; ``envelope_repeat`` and ``beat_span_share`` at or above the latter only:
    the rules read them there only, and the lung analysis, which looks for heart sounds too,
    not at all. ``band``: the recording in :data:`~stetho_signal.filters.HEART_BAND_HZ` at
    :data:`~stetho_signal.envelope.HEART_RATE_HZ`, when the caller has it (cut from
    ``spectrum`` otherwise); the pitch of each sound is read from it. ``recording``: the
    samples at ``spectrum``'s rate as they came, before any mains hum was taken out (the beat
    step was placed on them, docs/accuracy.md, twentieth round); ``beat_step`` is measured at
    or above the urgent high bound from it only (None without it).
    """
    # The three bands' envelopes at once (one transform call each for all three: a short
    # recording costs more in calls than in transforms). The pitch and murmur envelopes are
    # used only once a cycle is found; they are made up front anyway, as every heart recording
    # of the shared data has a cycle.
    env, pitch_env, murmur_env = heart_envelopes(
        spectrum, (SOUND_BAND_HZ, PITCH_BAND_HZ, MURMUR_BAND_HZ)
    )
    cycles = estimate_cycles(env, ENVELOPE_RATE_HZ)
    clip_s = env.size / ENVELOPE_RATE_HZ
    if not cycles:
        return _no_heartbeat(
            Note("no_cycle", "clip too short or too irregular to find a repeating heartbeat"),
            clip_s,
        )
    if band is None:
        band = spectrum.band(HEART_BAND_HZ, HEART_RATE_HZ)
    # One set of candidate sounds for every chain: they do not depend on the cycle tried.
    cands = sound_candidates(env, ENVELOPE_RATE_HZ, pitch_env, (band, HEART_RATE_HZ))
    sounds, cycle = _labelled(env, cands, cycles)
    intervals = _beat_intervals(sounds, cycle)
    if _past_shown_rate(intervals):
        # That rate would not be shown, and the guard never halves a chain: the chain of the
        # models in the searched range is the reading left (a loud-sound model at 255/min won
        # over a heart at 170/min, docs/accuracy.md, twenty-eighth round).
        sounds, cycle = _labelled(env, cands, cycles, searched_only=True)
        intervals = _beat_intervals(sounds, cycle)
    prominence = _prominence(env, sounds)
    width = _half_width_s(env, sounds)
    if width is not None and width >= _BREATH_HALF_WIDTH_S:
        note = Note(
            "no_heart_sounds",
            f"heart rate needs heart sounds; the sounds found last {1000 * width:.0f} ms at half "
            "height, far longer than heart sounds: breath sounds or noise, no heartbeat",
            round(1000 * width),
        )
        return _no_heartbeat(note, clip_s, cycles[0].periodicity, prominence, width)
    # An irregular rhythm smears the autocorrelation; prominent, alternating sounds still show
    # a heartbeat (the quality gate accepts either, see quality._PROMINENCE), provided the
    # envelope repeats at all: at a heart's period it cannot anticorrelate (periodicity 0).
    periodicity = cycles[0].periodicity
    if not (
        periodicity >= _MIN_PERIODICITY or (periodicity > 0.0 and prominence >= _MIN_PROMINENCE)
    ):
        note = Note(
            "no_heartbeat", "heart rate needs a repeating heartbeat; none found in this clip"
        )
        return _no_heartbeat(note, clip_s, periodicity, prominence, width)
    notes: list[str] = []
    rate = _rate_bpm(intervals, cycle, env, notes)
    nrmssd = _nrmssd(intervals, notes)
    murmur = murmur_contrast(murmur_env, sounds, notes)
    # The murmur band's analytic envelope (cached by heart_envelopes above), at its own rate.
    murmur_magnitude = spectrum.unpad(
        spectrum.envelope(MURMUR_BAND_HZ, ANALYTIC_RATE_HZ), ANALYTIC_RATE_HZ
    )
    snap = snap_after_s2(murmur_magnitude, ANALYTIC_RATE_HZ, sounds.s2_s, sounds.s1_s)
    phases = phase_medians(sounds)
    ratio = level_ratio(env, sounds)
    # Read only with evenly spaced phases (a possible half-rate read): ~0.1 ms a recording.
    follows = (
        diastole_follows_cycle(sounds) if phases is not None and evenly_spaced(*phases) else None
    )
    share, repeat, span = _urgent_band_measures(
        spectrum, env, sounds, intervals, rate, (share_at_or_below_bpm, fast_at_or_above_bpm)
    )
    s1_s, s2_s = _rounded_ms(sounds.s1_s), _rounded_ms(sounds.s2_s)
    # What bench.fast_read_probe measured the bounds on: the sounds as reported, to the ms.
    step, beat_prominence = (
        beat_measures(recording, spectrum.fs_hz, s1_s, s2_s)
        if recording is not None and _shown_at_or_above(rate, fast_at_or_above_bpm)
        else (None, None)
    )
    return HeartResult(
        rate_bpm=rate,
        s1_s=s1_s,
        s2_s=s2_s,
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
        systole_s=None if phases is None else round(phases[0], 3),
        diastole_s=None if phases is None else round(phases[1], 3),
        s1_s2_level_ratio=None if ratio is None else round(ratio, 3),
        diastole_follows_cycle=follows,
        sound_high_band_share=share,
        envelope_repeat=repeat,
        beat_span_share=span,
        beat_step=step,
        beat_prominence=beat_prominence,
        clip_s=clip_s,
    )


def _labelled(
    env: NDArray[np.float64],
    cands: Candidates,
    cycles: list[CycleEstimate],
    searched_only: bool = False,
) -> tuple[HeartSounds, CycleEstimate]:
    """The chain of S1s and S2s and its cycle: searched (``searched_only``: see
    :func:`~stetho_signal.segmentation.segment_heart_sounds`), read at twice its rate where
    the half-rate guard says so, and then searched again under that cycle."""
    sounds, cycle = segment_heart_sounds(
        env, ENVELOPE_RATE_HZ, cands, cycles, searched_only=searched_only
    )
    guarded, faster = guard_half_rate(env, ENVELOPE_RATE_HZ, sounds, cycle)
    again = None
    if faster.period_s < cycle.period_s:  # read at twice the chain's rate: searched again
        again = segment_doubled(env, ENVELOPE_RATE_HZ, cands, guarded, faster)
    return (guarded, faster) if again is None else again


def _past_shown_rate(intervals: NDArray[np.float64]) -> bool:
    """Whether beat intervals read a rate faster than :func:`_rate_bpm` shows."""
    if intervals.size < MIN_INTERVALS_FOR_RATE:
        return False
    return 60.0 / median(intervals) > _SHOWN_BPM[1]


def _urgent_band_measures(
    spectrum: Spectrum,
    env: NDArray[np.float64],
    sounds: HeartSounds,
    intervals: NDArray[np.float64],
    rate: float | None,
    bounds_bpm: tuple[float | None, float | None],
) -> tuple[float | None, float | None, float | None]:
    """The sounds' high-band share, the envelope's repeat at the read period and the beats'
    span of the recording, each only for a rate the rules read it at (see
    :func:`analyze_heart`; ``bounds_bpm``: the urgent low and high bounds)."""
    fast = _shown_at_or_above(rate, bounds_bpm[1])
    if rate is None or not (fast or _shown_at_or_below(rate, bounds_bpm[0])):
        return None, None, None
    share = high_band_share(spectrum, np.concatenate([sounds.s1_s, sounds.s2_s]))
    if not fast:
        return share, None, None
    repeat = envelope_repeat(env, ENVELOPE_RATE_HZ, 60.0 / rate)
    return share, repeat, beat_span_share(intervals, env.size / ENVELOPE_RATE_HZ)


def _shown_at_or_below(rate: float | None, bound_bpm: float | None) -> bool:
    """Whether a rate, as shown (rounded), is at or below ``bound_bpm`` (never for None)."""
    return rate is not None and bound_bpm is not None and round(rate) <= bound_bpm


def _shown_at_or_above(rate: float | None, bound_bpm: float | None) -> bool:
    """Whether a rate, as shown (rounded), is at or above ``bound_bpm`` (never for None)."""
    return rate is not None and bound_bpm is not None and round(rate) >= bound_bpm


def _rounded_ms(times_s: NDArray[np.float64]) -> tuple[float, ...]:
    """Times rounded to the millisecond by Python's ``round`` (as printed), one map call."""
    return tuple(map(round, times_s.tolist(), itertools.repeat(3, times_s.size)))


def _no_heartbeat(
    note: str,
    clip_s: float,
    periodicity: float = 0.0,
    prominence: float = 0.0,
    width: float | None = None,
) -> HeartResult:
    return HeartResult(
        None, (), (), None, None, None, periodicity, prominence, (note,),
        sound_half_width_s=width, heartbeat_found=False, clip_s=clip_s,
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
    centres = np.round(times * ENVELOPE_RATE_HZ).astype(np.intp)
    centres = np.minimum(np.maximum(centres, 0), env.size - 1)
    # Rows read off the envelope padded with -inf by the reach at each end: one copy of the
    # envelope instead of a mask, a clip and a choice over every row's samples.
    outside = np.full(reach, -np.inf)
    rows = np.concatenate([outside, env, outside])[centres[:, None] + np.arange(2 * reach + 1)]
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
    return round(median(levels_at(env, times)) / background, 3)


def _beat_intervals(sounds: HeartSounds, cycle: CycleEstimate) -> NDArray[np.float64]:
    """Consecutive S1-S1 intervals, leaving out those that span a missed beat; S2-S2 when the
    S2s are found in more beats (by more than the chain's ends: the faint S1s of a base site,
    found by the half-rate guard in some beats only, see :mod:`stetho_signal._half_rate`).

    A sound heard in every beat gives the rate of all beats; one heard in some gives the rate
    of those, and a faint S1 is heard most where the cycle, and so the diastole before it, is
    short (CirCor made faster to 170/min, bench.heart_faster: 6-7 bpm fast).
    """
    beats = sounds.s2_s if sounds.s2_s.size > sounds.s1_s.size + 1 else sounds.s1_s
    if beats.size < 2:
        return np.zeros(0)
    intervals = np.diff(beats)
    # An irregular fast rhythm has single intervals shorter than 60/220 s: bound by the cycle.
    keep = (intervals >= 0.5 * cycle.period_s) & (intervals <= 1.6 * cycle.period_s)
    return intervals[keep]


def _rate_bpm(
    intervals: NDArray[np.float64],
    cycle: CycleEstimate,
    env: NDArray[np.float64],
    notes: list[str],
) -> float | None:
    if intervals.size >= MIN_INTERVALS_FOR_RATE:
        period = median(intervals)
    elif (
        env.size / ENVELOPE_RATE_HZ >= 2.0 * cycle.period_s
        and cycle.periodicity >= _PERIODICITY_ALONE
        # cycle.periodicity is the best lag's: a derived cycle may not repeat at all.
        and periodicity_at(env, ENVELOPE_RATE_HZ, cycle.period_s) >= _PERIODICITY_ALONE
    ):
        period = cycle.period_s
    else:
        notes.append(
            Note("too_few_beats", "heart rate needs at least two beats; the clip holds fewer")
        )
        return None
    rate = 60.0 / period
    if not _SHOWN_BPM[0] <= rate <= _SHOWN_BPM[1]:
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
    return normalised_rmssd(intervals)


def normalised_rmssd(intervals: NDArray[np.float64]) -> float:
    """RMS of successive differences of beat intervals over their mean (4 places)."""
    return round(nrmssd(intervals), 4)
