"""Lung analysis: respiratory rate, wheezes (CORSA) and crackles, heart sounds kept out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from stetho_common import dsp
from stetho_signal._heart_gate import away_from_heartbeat
from stetho_signal._masks import half_peak_span
from stetho_signal._notes import Note
from stetho_signal._over_breath import over_the_breath
from stetho_signal._ringing import beside_ringing
from stetho_signal._slow_wave import SLOW_WAVE_BAND_HZ, keeps_upper_octaves, off_slow_waves
from stetho_signal._spectra import Spectrogram, frame_power
from stetho_signal._too_fine import not_too_fine
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band, crackles_in, find_crackles
from stetho_signal.envelope import (
    ANALYTIC_RATE_HZ,
    ENVELOPE_RATE_HZ,
    SOUND_BAND_HZ,
    autocorrelation,
    heart_envelope,
)
from stetho_signal.heart import analyze_heart
from stetho_signal.wheezes import (
    HEART_GATE_S,
    WHEEZE_NPERSEG,
    WheezeSearch,
    find_wheezes,
)

__all__ = [
    "LUNG_ANALYSIS_BAND_HZ",
    "LungResult",
    "analyze_lung",
    "find_crackles",
    "find_wheezes",
    "lung_band",
    "shortest_breath_s",
]

# Heart sounds carry little energy above 150 Hz; starting the lung analysis band there keeps
# S1/S2 out of the breath envelope and out of the crackle detector.
LUNG_ANALYSIS_BAND_HZ = (150.0, 1800.0)
# Breath sound spans 100-1000 Hz and more (DOMAIN.md), but which octave shows the breathing
# best depends on the site, the device and the patient: on some chests clicks and heart sounds
# swamp the lower octaves while the upper ones rise and fall with each breath, on others the
# upper octaves hold only the microphone's floor. Each octave's envelope is searched for a
# repeat and their autocorrelations pooled, as multi-band tempo trackers do. Band edges in Hz:
# three octaves from 150 Hz, then up to the lung band's edge.
_BREATH_EDGES_HZ = (150.0, 300.0, 600.0, 1200.0, 1800.0)
_BREATH_SMOOTH_S = 0.4  # breath envelope smoothing: longer than a click, shorter than a breath
_MIN_BREATH_S, _MAX_BREATH_S = 1.0, 15.0  # 60 down to 4 breaths/min (shorter: see below)
_FASTEST_BREATH_S = 0.6  # 100/min: the search's ceiling for any band (shortest_breath_s)
_SWELL_PERCENTILES = (10.0, 90.0)  # the quiet and the loud parts of the breathing
# The floor and the loudest quarter of the whole lung band (band_over_floor_db): inspiration
# takes about a third of each breath (I:E about 1:2), and crackles are heard mostly there.
_FLOOR_PERCENTILES = (10.0, 75.0)
_HEART_SOUND_PROMINENCE = 4.0  # envelope peaks this far over the median are heart sounds
_HEART_SOUND_MAX_S = 0.2  # envelope width at half height
# A heart sound gates crackles only when its low-band energy lasts longer than a crackle can
# (CORSA: crackles last under 20 ms, Sovijärvi et al., Eur Respir Rev 2000).
_CRACKLE_MAX_S = 0.02
_SOUND_SMOOTH_S = 0.005  # smooths the magnitude's ripple, well under a crackle's length
_SOUND_PEAK_SEARCH_S = 0.03  # the 100 Hz envelope's peak may sit off the sound's own peak


@dataclass(frozen=True)
class LungResult:
    """What the lung analysis measured; None where the clip cannot tell.

    Attributes
    ----------
    respiratory_rate_bpm : float or None
        Breaths per minute.
    wheeze : bool
        At least one wheeze interval was found.
    wheeze_intervals_s : tuple of (start, end)
        Wheeze intervals in seconds.
    wheeze_frequency_hz : float or None
        Dominant frequency of the longest wheeze, Hz.
    crackle_times_s : tuple of float
        Crackle times in seconds.
    spectral_flatness : float
        Wiener entropy of the lung band, 0..1 (near 1: white noise; for the quality check).
    notes : tuple of str
        Why a value is None.
    breaths : float or None
        Breaths the clip holds at the measured rate (None without a rate).
    breath_swell_db : float
        How much the breath sound swells: the largest spread, over the breath octaves, between
        the 10th and 90th percentiles of the smoothed envelope, dB (:func:`breath_swell_db`).
    band_over_floor_db : float
        How far the loudest quarter of the whole lung band stands over its floor, where the
        crackles are sought, dB (:func:`band_over_floor_db`).
    voice_sounds : int
        Tones left out of the wheeze search as voice (speech, moaning): from
        :data:`~stetho_signal.wheezes.VOICE_HEARD_MIN_SOUNDS` on, someone spoke.
    """

    respiratory_rate_bpm: float | None
    wheeze: bool
    wheeze_intervals_s: tuple[tuple[float, float], ...]
    wheeze_frequency_hz: float | None
    crackle_times_s: tuple[float, ...]
    spectral_flatness: float
    notes: tuple[str, ...]
    breaths: float | None = None
    breath_swell_db: float = 0.0
    band_over_floor_db: float = 0.0
    voice_sounds: int = 0


def lung_band(spectrum: Spectrum) -> NDArray[np.float32]:
    """The lung analysis band (150-1800 Hz) at the recording's rate: breath sounds with S1/S2
    mostly filtered out."""
    return spectrum.band(LUNG_ANALYSIS_BAND_HZ, spectrum.fs_hz)


def analyze_lung(
    x: NDArray[np.float64],
    spectrum: Spectrum,
    band: NDArray[np.float32],
    wheeze_min_duration_s: float,
    signal_s: tuple[float, float] | None = None,
    shortest_breath: float = _MIN_BREATH_S,
) -> LungResult:
    """Measure a lung recording ``x`` (the canonical 4 kHz), full scale 1.0.

    ``spectrum`` is the :class:`Spectrum` of ``x`` and ``band`` its :func:`lung_band`, shared
    with the quality check. ``wheeze_min_duration_s`` is part of what a wheeze is (CORSA,
    see :class:`~stetho_signal.triage.TriageThresholds`); whether the crackles found are
    enough for a flag is the triage rules' decision. ``signal_s``: where the recording holds
    signal (the crackle detector skips its edges from there). ``shortest_breath`` (s): how
    fast a breathing the rate is sought up to (:func:`shortest_breath_s`).
    """
    fs_hz = spectrum.fs_hz
    notes: list[str] = []
    spectrogram = frame_power(x, fs_hz, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    energy, size = _octave_energy(spectrogram)
    envelopes = _smoothed_db(energy, size)
    rate = respiratory_rate(spectrogram, notes, envelopes, signal_s, shortest_breath)
    # The unfiltered spectrum: a band edge would itself look like a spectral peak.
    wheezes = WheezeSearch(x, spectrogram)
    intervals, frequency = wheezes.find(wheeze_min_duration_s)
    # The crackle detector's 8 kHz band, made once: the ringing rule reads it again.
    fine, fine_hz = crackle_band(band, fs_hz)
    crackle_times = crackles_in(fine, fine_hz, signal_s)
    whole = _smoothed_db(energy.sum(axis=0, keepdims=True), size)  # the crackles' band
    if intervals or crackle_times:
        # Heart sounds cost a second envelope: only looked for when they could matter.
        heart_sounds = heart_sound_times(spectrum)
        intervals, frequency = wheezes.find(wheeze_min_duration_s, heart_sounds)
        lasting = heart_sounds[_longer_than_a_crackle(heart_sounds, spectrum)]
        crackle_times = _away_from(crackle_times, lasting)
    if crackle_times:
        crackle_times = _away_from_heartbeat(crackle_times, spectrum)
    if crackle_times and keeps_upper_octaves(energy):
        slow = spectrum.band(SLOW_WAVE_BAND_HZ, fs_hz)
        crackle_times = off_slow_waves(crackle_times, slow, band, fs_hz)
    crackle_times = beside_ringing(crackle_times, fine, fine_hz)
    crackle_times = not_too_fine(crackle_times, fine, fine_hz)
    crackle_times = over_the_breath(crackle_times, fine, fine_hz)
    return LungResult(
        respiratory_rate_bpm=rate,
        wheeze=bool(intervals),
        wheeze_intervals_s=intervals,
        wheeze_frequency_hz=frequency,
        crackle_times_s=crackle_times,
        spectral_flatness=band_flatness(spectrogram, LUNG_ANALYSIS_BAND_HZ),
        notes=tuple(notes),
        breaths=None if rate is None else round(rate * x.size / fs_hz / 60.0, 1),
        breath_swell_db=breath_swell_db(envelopes),
        band_over_floor_db=band_over_floor_db(whole),
        voice_sounds=wheezes.voice_sounds(wheeze_min_duration_s),
    )


def breath_envelopes(spectrogram: Spectrogram) -> NDArray[np.float64]:
    """Log energy of each breath octave (150-300, 300-600, 600-1200 Hz, and 1200-1800 Hz up to
    the lung band's edge) per frame, smoothed over 0.4 s.

    Parameters
    ----------
    spectrogram : Spectrogram
        Short-time power of the recording (:func:`stetho_signal._spectra.frame_power`).

    Returns
    -------
    ndarray, shape (4, frames)
        dB (arbitrary reference), one row per octave, at the spectrogram's frame rate.
    """
    return _smoothed_db(*_octave_energy(spectrogram))


def _octave_energy(spectrogram: Spectrogram) -> tuple[NDArray[np.float64], int]:
    """Energy of each breath octave per frame, and the frames in 0.4 s (at least one)."""
    freqs, centres, power = spectrogram
    edges = np.searchsorted(freqs, _BREATH_EDGES_HZ)
    # One pass over the bins: each row sums the bins from one edge up to the next.
    energy = np.add.reduceat(power[edges[0] : edges[-1]], edges[:-1] - edges[0], axis=0)
    return energy.astype(np.float64), max(round(_BREATH_SMOOTH_S * _frame_rate(centres)), 1)


def _smoothed_db(energy: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Each row of ``energy`` in dB (a floor 90 dB under its peak), smoothed over ``size``."""
    floor = np.maximum(energy.max(axis=1, keepdims=True, initial=0.0) * 1e-9, 1e-20)
    log_energy = 10.0 * np.log10(energy + floor)
    smooth: NDArray[np.float64] = ndimage.uniform_filter1d(
        log_energy, size=size, axis=1, mode="nearest"
    )
    return smooth


def breath_swell_db(envelopes: NDArray[np.float64]) -> float:
    """How much the breath sound swells and fades, dB: over each breath octave's envelope
    (:func:`breath_envelopes`), the spread between its 10th and 90th percentiles; the largest.

    Notes
    -----
    Breath sounds are loud on inspiration and fade in the pause after expiration: ICBHI
    recordings swell by 11.5-39 dB in their liveliest octave, at any gain. Steady noise, white
    to brown, spreads 0.6-1.8 dB over 0.4 s frames. One ICBHI recording (a still chest, heard
    faintly: 2.5 dB) swells no more than noise.
    """
    if envelopes.shape[1] == 0:
        return 0.0
    low, high = np.percentile(envelopes, _SWELL_PERCENTILES, axis=1)
    return float(np.max(high - low))


def band_over_floor_db(envelope: NDArray[np.float64]) -> float:
    """How far the loudest quarter of the lung band stands over its floor, dB: the spread
    between the 10th and 75th percentiles of the whole band's smoothed envelope.

    Parameters
    ----------
    envelope : ndarray, shape (1, frames)
        dB, the whole lung band (the breath octaves' energy summed) smoothed over 0.4 s as
        :func:`breath_envelopes` smooths each octave.

    Notes
    -----
    The crackle detector (:func:`~stetho_signal.crackles.find_crackles`) wants a transient 6x
    over the RMS of the whole band around it, and the crackles it finds in a quiet room stand
    close to that bound (ICBHI, the 209 found on the 36 recordings: 6.0-12.3x, half within
    1.5 dB of it, three quarters within 2.4 dB). A steady floor of power N raises that RMS,
    where the breath alone has power B, by 10 log10(1 + N / B) dB; the quiet moments show the
    floor. Where the band stands D dB over it, the rise is -10 log10(1 - 10**(-D / 10)): 3 dB
    at D = 3 (over three quarters of those crackles lost), 1.9 dB at 4.5, 1.3 dB at 6. The
    liveliest octave (:func:`breath_swell_db`) can swell well over a floor that the whole
    band, most of its power in the lowest octave, does not. Pink room noise 10 dB under a
    recording's power hid crackles found without it on 6 of 11 annotated recordings, 4 of
    which kept their breath's swell over 5 dB.
    """
    if envelope.size == 0:
        return 0.0
    low, high = np.percentile(envelope, _FLOOR_PERCENTILES)
    return float(high - low)


def respiratory_rate(
    spectrogram: Spectrogram,
    notes: list[str],
    envelopes: NDArray[np.float64] | None = None,
    signal_s: tuple[float, float] | None = None,
    shortest_breath: float = _MIN_BREATH_S,
) -> float | None:
    """Breaths per minute from the autocorrelations of the breath octaves' envelopes.

    ``envelopes`` are the spectrogram's :func:`breath_envelopes` when already computed.
    ``signal_s``: where the recording holds signal (``PreparedAudio.signal_span_s``); the
    frames whose smoothed envelope reaches a recorder's digital silence are left out.
    Breaths are sought from ``shortest_breath`` (s, at most 1 s: :func:`shortest_breath_s`)
    to 15 s.

    Notes
    -----
    Each octave's autocorrelation is weighted by the square of its highest peak between the
    shortest breath and 15 s: the share of that octave's envelope variance that repeats at a
    breath length. An octave swamped by clicks or heart sounds repeats weakly, or at a chance
    lag, and counts little; one with the microphone's floor alone repeats not at all and
    counts nothing.

    Digital silence (the AKG C417L files open with 93 ms of zeros) sits 40-55 dB under the
    breath in every octave's log envelope: one deep dip whose product with the rest of the
    envelope adds a copy of the envelope itself to the autocorrelation, which under room
    noise outweighs the breath's repeat and decides between a rate and its half (accuracy.md,
    twentieth round, s37-breathrate). Those frames are not breathing and are left out.
    """
    if not 0.0 < shortest_breath <= _MIN_BREATH_S:
        raise ValueError(f"shortest breath must be in (0, 1] s, got {shortest_breath!r}")
    if envelopes is None:
        envelopes = breath_envelopes(spectrogram)
    env_rate = _frame_rate(spectrogram[1])
    envelopes = envelopes[:, _sounding_frames(spectrogram[1], signal_s)]
    frames = envelopes.shape[1]
    min_lag = int(shortest_breath * env_rate)
    max_lag = min(int(_MAX_BREATH_S * env_rate), int(frames * 0.6))
    if max_lag <= min_lag + 2:
        notes.append(
            Note(
                "clip_too_short_for_breaths",
                "respiratory rate needs at least two breaths; the clip is too short",
            )
        )
        return None
    # The heart analysis's estimator (FFT, biased, 1 at lag 0; all zeros for a flat envelope).
    acs = autocorrelation(envelopes)[:, : max_lag + 1]
    if not np.any(acs[:, 0] > 0):
        notes.append(Note("no_breathing", "no breathing pattern in the recording"))
        return None
    weights = np.array([_highest_peak(ac, min_lag) for ac in acs]) ** 2
    ac = weights @ acs / max(float(weights.sum()), 1e-12)  # all zeros when nothing repeats
    peaks = dsp.find_peaks(ac)
    peaks = peaks[peaks >= min_lag]
    if peaks.size == 0 or ac[peaks].max() < 0.1:
        notes.append(Note("no_repeating_breathing", "no repeating breathing pattern found"))
        return None
    lag = int(peaks[np.argmax(ac[peaks])])
    return round(60.0 / (lag / env_rate), 1)


def shortest_breath_s(urgent_high_bpm: float) -> float:
    """The shortest breath (s) the rate is sought down to, in a band whose breathing is urgent
    from ``urgent_high_bpm`` (per minute): 1 s (60/min), or half an urgent breath if shorter.

    A breathing faster than the search's ceiling can only be read at a lag of two breaths or
    more, at half its rate or less. With the ceiling at twice the urgent bound, that half is
    still urgent (R > 2U gives R/2 > U). At 60/min an infant breathing at 72 was read at 35.4,
    normal under 1 year, where fast breathing is urgent from 50 (WHO IMCI; ICBHI 115, a
    7-month-old: docs/accuracy.md, twenty-third round). Adults and children from 5 years (U
    25-30) keep 60/min; 1-5 years (U 40) reach 80/min, under 1 year (U 50) 100/min (0.6 s,
    still longer than the envelope's 0.4 s smoothing). A configured bound over 50/min does
    not push the search further: under 0.6 s a breath nears what that smoothing blurs.
    """
    if not urgent_high_bpm > 0.0:
        raise ValueError(f"urgent breathing rate must be over 0/min, got {urgent_high_bpm!r}")
    return max(_FASTEST_BREATH_S, min(_MIN_BREATH_S, 60.0 / (2.0 * urgent_high_bpm)))


def _sounding_frames(centres_s: NDArray[np.float64], signal_s: tuple[float, float] | None) -> slice:
    """The frames whose smoothed breath envelope holds none of a recording's leading or
    trailing digital silence: a frame reaches one step either side of its centre (50 %
    overlap), and the smoothing half of 0.4 s further. Every frame when the recording sounds
    from its first frame to its last, or ``signal_s`` is None."""
    if signal_s is None or centres_s.size < 2:
        return slice(None)
    step = float(centres_s[1] - centres_s[0])
    reach = step + _BREATH_SMOOTH_S / 2.0
    start, end = signal_s
    lo = int(np.searchsorted(centres_s, start + reach)) if start > centres_s[0] - step else 0
    hi = centres_s.size
    if end < centres_s[-1] + step:
        hi = int(np.searchsorted(centres_s, end - reach, side="right"))
    return slice(lo, max(hi, lo))


def _highest_peak(ac: NDArray[np.float64], min_lag: int) -> float:
    """Height of the highest autocorrelation peak at ``min_lag`` or later, 0 if none is over 0."""
    peaks = dsp.find_peaks(ac)
    peaks = peaks[peaks >= min_lag]
    return max(float(ac[peaks].max()), 0.0) if peaks.size else 0.0


def _frame_rate(centres_s: NDArray[np.float64]) -> float:
    """Frames per second of a spectrogram (1 for fewer than two frames)."""
    return 1.0 / float(centres_s[1] - centres_s[0]) if centres_s.size > 1 else 1.0


def band_flatness(spectrogram: Spectrogram, band_hz: tuple[float, float]) -> float:
    """Wiener entropy (geometric over arithmetic mean) of the mean spectrum in a band, 0..1."""
    freqs, _, power = spectrogram
    inside = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    psd = power[inside].mean(axis=1) if power.shape[1] else np.zeros(0)
    if psd.size < 2:
        return 1.0
    floor = max(float(np.max(psd)) * 1e-12, 1e-30)
    geometric = float(np.exp(np.mean(np.log(psd + floor))))
    return min(geometric / (float(np.mean(psd)) + floor), 1.0)


def heart_sound_times(spectrum: Spectrum) -> NDArray[np.float64]:
    """Times (s) of prominent heart sounds: peaks of the 25-200 Hz envelope well over its median.

    Valve sounds are clicks (not crackles) with tonal low components (not wheezes); on a
    recording where they are faint, none are returned. Bumps wider than 200 ms at half
    height are not heart sounds (a low-pitched wheeze fills this band too).
    """
    env = heart_envelope(spectrum)
    # Heart sounds last 80-140 ms; a longer bump in the low band is a low-pitched wheeze.
    level = float(np.median(env))
    peaks = dsp.find_peaks(
        env,
        height=_HEART_SOUND_PROMINENCE * level,
        prominence=(_HEART_SOUND_PROMINENCE - 1.0) * level,
        distance=8,
        width=(None, _HEART_SOUND_MAX_S * ENVELOPE_RATE_HZ),
    )
    return np.asarray(peaks / ENVELOPE_RATE_HZ, dtype=np.float64)


def _longer_than_a_crackle(sounds_s: NDArray[np.float64], spectrum: Spectrum) -> NDArray[np.bool_]:
    """Whether each heart sound's 25-200 Hz energy stays over half its peak for over 20 ms.

    Parameters
    ----------
    sounds_s : ndarray
        Heart sound times in seconds (:func:`heart_sound_times`).
    spectrum : Spectrum
        The recording.

    Notes
    -----
    A coarse crackle rings at 100-200 Hz (two-cycle duration 10-20 ms, CORSA), in the band
    where heart sounds are looked for, and a loud one makes a peak there of its own. Its
    energy stays over half height for about 10 ms (simulated crackles, 2CD 8-18 ms: 8-10 ms);
    an S1 or S2 lasts 80-140 ms (see :func:`heart_sound_times`; simulated ones: 34-49 ms over
    half height). Only sounds longer than a crackle can be (20 ms, CORSA) gate crackles, so
    a crackle no longer gates itself out. Wheezes keep the plain heart sound gate: a tone
    lasts 100 ms, a crackle cannot mask one.
    """
    if sounds_s.size == 0:
        return np.zeros(0, dtype=bool)
    # The analytic signal the heart-sound envelope was made from: computed once per recording.
    rate = ANALYTIC_RATE_HZ
    env = spectrum.unpad(spectrum.envelope(SOUND_BAND_HZ, rate), rate)
    env = ndimage.uniform_filter1d(env, max(1, round(_SOUND_SMOOTH_S * rate)))
    reach = round(_SOUND_PEAK_SEARCH_S * rate)
    span = round(_HEART_SOUND_MAX_S * rate)  # far enough to see a sound's end
    longer = np.zeros(sounds_s.size, dtype=bool)
    for n, t in enumerate(sounds_s):
        i = round(float(t) * rate)
        a = max(i - reach, 0)
        k = a + int(np.argmax(env[a : i + reach + 1]))
        begin, end = half_peak_span(env, k, max(k - span, 0), min(k + span, env.size))
        longer[n] = (end - begin) / rate > _CRACKLE_MAX_S
    return longer


def _away_from_heartbeat(times_s: tuple[float, ...], spectrum: Spectrum) -> tuple[float, ...]:
    """Transients away from the S1 and S2 of a clear heartbeat (see
    :func:`stetho_signal._heart_gate.away_from_heartbeat`)."""
    return away_from_heartbeat(times_s, analyze_heart(spectrum))


def _away_from(times_s: tuple[float, ...], sounds_s: NDArray[np.float64]) -> tuple[float, ...]:
    """Transients further than 60 ms from every heart sound."""
    if not times_s or sounds_s.size == 0:
        return times_s
    return tuple(t for t in times_s if float(np.min(np.abs(sounds_s - t))) > HEART_GATE_S)
