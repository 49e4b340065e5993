"""Whether a read chain's beats follow the breath: the twentieth round's measures.

Breathing has a 3-6 s cycle (10-20/min in adults, faster in children, DOMAIN.md). Breath
bursts read as extra beats come when the resident breathes in, so a chain that holds them
should be modulated at the breathing period, beat by beat: its sounds' amplitudes or intervals
swing with the breath, its beats crowd the loud phase, and in the quiet phase only the heart's
own sounds are left, every other "beat" faint. A fast heart's beats vary little with
respiration. Measured by bench.fast_read_probe only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal

from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import ANALYTIC_RATE_HZ, SOUND_BAND_HZ

ENV_RATE_HZ = 50.0  # 20 ms steps: a heart sound lasts 80-140 ms, a breath 2 s or more
HEART_HZ = (25.0, 150.0)  # S1 and S2 (DOMAIN.md)
BREATH_HZ = (200.0, 800.0)  # breath sounds, above most of the heart's power (DOMAIN.md)
BREATH_SMOOTH_S = 0.5  # longer than any beat at 120/min or over, shorter than a breath phase
RESP_HZ = (0.1, 0.6)  # 6-36 breaths/min: adults to small children (DOMAIN.md, Fleming 2011)
SOUND_HALF_S = 0.05
MIN_BEATS = 8
MIN_SPAN_S = 6.0  # one breath at 10/min, the slowest adult rate NEWS2 scores 0 or 1 over

NAMES = (
    "amp_resp_share", "ibi_resp_share", "amp_breath_corr", "loud_phase_beats",
    "quiet_alternation", "alternation_contrast", "breath_resp_share", "beat_step",
    "sound_band_step",
)  # fmt: skip


def envelopes(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Heart-band (25-150 Hz) and breath-band (200-800 Hz, capped under Nyquist) Hilbert
    envelopes, block means at :data:`ENV_RATE_HZ`; the breath one smoothed over 0.5 s, in dB."""
    y = np.asarray(x, dtype=np.float64)
    y = y - np.mean(y)
    step = max(round(fs / ENV_RATE_HZ), 1)
    n = y.size // step * step

    def band(lo: float, hi: float) -> np.ndarray:
        sos = signal.butter(4, (lo, min(hi, 0.45 * fs)), "bandpass", fs=fs, output="sos")
        env = np.abs(signal.hilbert(signal.sosfiltfilt(sos, y)))
        return np.asarray(env[:n].reshape(-1, step).mean(axis=1))

    heart = band(*HEART_HZ)
    breath = band(*BREATH_HZ)
    width = max(round(BREATH_SMOOTH_S * ENV_RATE_HZ), 1)
    breath = np.convolve(breath**2, np.ones(width) / width, "same")
    return heart, 10.0 * np.log10(breath + max(float(np.max(breath)) * 1e-9, 1e-30))


def resp_share(times_s: np.ndarray, values: np.ndarray) -> float | None:
    """Share of a beat series' variance at breathing frequencies, 0.1-0.6 Hz, over that from
    0.1 Hz up to half the beats' own rate: the series' periodogram taken beat by beat (linear
    trend removed, Hann window), each beat one median interval apart (a chain is near even)."""
    if times_s.size < MIN_BEATS or times_s[-1] - times_s[0] < MIN_SPAN_S:
        return None
    series = signal.detrend(np.asarray(values, dtype=np.float64), type="linear")
    if float(np.std(series)) <= 1e-9 * max(float(np.max(np.abs(values))), 1e-30):
        return None
    f, p = signal.periodogram(series, 1.0 / float(np.median(np.diff(times_s))), window="hann")
    whole = float(np.sum(p[f >= RESP_HZ[0]]))
    if whole <= 0:
        return None
    return round(float(np.sum(p[(f >= RESP_HZ[0]) & (f <= RESP_HZ[1])])) / whole, 3)


def _at(env: np.ndarray, times_s: np.ndarray, half: int) -> np.ndarray:
    idx = np.clip(np.round(times_s * ENV_RATE_HZ).astype(int), 0, env.size - 1)
    return np.array([np.max(env[max(i - half, 0) : i + half + 1]) for i in idx])


def _alternation(log_amp: np.ndarray, keep: np.ndarray) -> float | None:
    """Median |difference| of successive beats' log amplitudes, both kept."""
    pairs = keep[:-1] & keep[1:]
    if np.count_nonzero(pairs) < 3:
        return None
    return float(np.median(np.abs(np.diff(log_amp))[pairs]))


def breath_rhythm(
    heart_env: np.ndarray, breath_db: np.ndarray, s1_s: tuple[float, ...]
) -> dict[str, Any]:
    """The measures on one read chain (None each when the chain is too short).

    - ``amp_resp_share`` / ``ibi_resp_share``: :func:`resp_share` of the beats' log heart-band
      amplitude (the highest envelope within 50 ms of the S1) and of their intervals.
    - ``amp_breath_corr``: correlation of the beats' log amplitude with the breath envelope
      (dB) at the beat.
    - ``loud_phase_beats``: share of the beats where the breath envelope is over its median
      between the first and last beat (0.5 when the beats ignore the breath).
    - ``quiet_alternation``: median |log amplitude step| between successive beats in the
      breath's quiet half (every other "beat" faint when the chain is read twice too fast);
      ``alternation_contrast`` that less the same in the loud half; ``beat_step`` the same
      over every pair of successive beats, whatever the breath.
    - ``breath_resp_share``: :func:`resp_share` of the breath envelope itself, sampled at the
      beats (is there a breathing rhythm at all).
    """
    out: dict[str, Any] = dict.fromkeys(NAMES[:-1])
    times = np.asarray(s1_s, dtype=np.float64)
    times = times[(times >= 0) & (times * ENV_RATE_HZ < heart_env.size)]
    if times.size < MIN_BEATS:
        return out
    half = round(SOUND_HALF_S * ENV_RATE_HZ)
    log_amp = np.log(np.maximum(_at(heart_env, times, half), 1e-12))
    breath = _at(breath_db, times, 0)
    intervals = np.diff(times)
    steady = intervals < 1.5 * float(np.median(intervals))  # not across a restart of the chain
    out["amp_resp_share"] = resp_share(times, log_amp)
    out["ibi_resp_share"] = resp_share(times[1:][steady], intervals[steady])
    out["breath_resp_share"] = resp_share(times, breath)
    if np.std(log_amp) > 0 and np.std(breath) > 0:
        out["amp_breath_corr"] = round(float(np.corrcoef(log_amp, breath)[0, 1]), 3)
    lo, hi = (round(t * ENV_RATE_HZ) for t in (times[0], times[-1]))
    middle = float(np.median(breath_db[lo : hi + 1]))
    loud = breath > middle
    out["loud_phase_beats"] = round(float(np.mean(loud)), 3)
    out["beat_step"] = round(float(np.median(np.abs(np.diff(log_amp)))), 3)
    quiet_alt, loud_alt = _alternation(log_amp, ~loud), _alternation(log_amp, loud)
    if quiet_alt is not None:
        out["quiet_alternation"] = round(quiet_alt, 3)
        if loud_alt is not None:
            out["alternation_contrast"] = round(quiet_alt - loud_alt, 3)
    return out


def sound_band_step(
    x: np.ndarray, fs: float, s1_s: tuple[float, ...], s2_s: tuple[float, ...]
) -> float | None:
    """``beat_step`` as the analysis could measure it: on the magnitude of the analytic signal
    of its heart-sound band (25-200 Hz at 500 Hz, the band its chain is searched in), the
    highest within 50 ms of each beat the rate stands on (its S2s where found in more beats,
    as ``stetho_signal.heart._beat_intervals``). None under five beats."""
    beats = np.asarray(s2_s if len(s2_s) > len(s1_s) + 1 else s1_s, dtype=np.float64)
    if beats.size < 5:
        return None
    spectrum = Spectrum(prepare(x, fs).samples, ANALYSIS_RATE_HZ)
    magnitude = spectrum.envelope(SOUND_BAND_HZ, ANALYTIC_RATE_HZ)
    magnitude = np.asarray(spectrum.unpad(magnitude, ANALYTIC_RATE_HZ), dtype=np.float64)
    half = round(SOUND_HALF_S * ANALYTIC_RATE_HZ)
    idx = np.clip(np.round(beats * ANALYTIC_RATE_HZ).astype(int), 0, magnitude.size - 1)
    levels = np.array([np.max(magnitude[max(i - half, 0) : i + half + 1]) for i in idx])
    steps = np.abs(np.diff(np.log(np.maximum(levels, 1e-12))))
    return round(float(np.median(steps)), 3)


def measured(
    x: np.ndarray, fs: float, s1_s: tuple[float, ...], s2_s: tuple[float, ...]
) -> dict[str, Any]:
    """:func:`breath_rhythm` and :func:`sound_band_step` on a recording."""
    out = breath_rhythm(*envelopes(x, fs), s1_s)
    out["sound_band_step"] = sound_band_step(x, fs, s1_s, s2_s)
    return out
