"""Synthetic phonocardiograms and lung sounds with known answers."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_sim._sounds import harmonic_weights, syllable

FS_HZ = 4000.0
S3_DELAY_S = 0.15  # S3 130-180 ms after A2 (JAMA 1978;239:2790)


def systole_s(period_s: float) -> float:
    """S1-S2 interval from Weissler's QS2 = 546 - 2.1 HR ms, minus ~50 ms from Q to S1."""
    return max(0.496 - 0.0021 * 60.0 / period_s, min(0.4 * period_s, 0.35))


def burst(
    n: int, centre_s: float, freq_hz: float, sigma_s: float, fs_hz: float
) -> NDArray[np.float64]:
    t = np.arange(n) / fs_hz - centre_s
    return np.exp(-0.5 * (t / sigma_s) ** 2) * np.sin(2 * np.pi * freq_hz * t)


def beat_times(
    period_s: float, duration_s: float, jitter: float = 0.0, seed: int = 0
) -> list[float]:
    """S1 times every period, optionally with random interval jitter (fraction of the period)."""
    rng = np.random.default_rng(seed)
    times, t = [], 0.2
    while t < duration_s - period_s * 0.7:
        times.append(t)
        t += period_s * (1.0 + jitter * rng.uniform(-1.0, 1.0))
    return times


def pcg(
    rate_bpm: float,
    duration_s: float = 10.0,
    fs_hz: float = FS_HZ,
    jitter: float = 0.0,
    murmur: float = 0.0,
    noise: float = 0.01,
    seed: int = 0,
    s3: float = 0.0,
    s2: float = 0.3,
) -> tuple[NDArray[np.float64], list[float], list[float]]:
    """A phonocardiogram with S1 (50 Hz, loud) and S2 (90 Hz, softer); returns x, S1, S2 times.

    ``s2`` is the amplitude of S2 (S1's is 0.5): a small one makes the faint S2 of a site
    where S1 dominates.

    ``s3`` adds a third heart sound (35 Hz) of that amplitude 150 ms after each S2 (S1 is 0.5,
    S2 0.3): a ventricular gallop.
    """
    period = 60.0 / rate_bpm
    n = int(duration_s * fs_hz)
    x = np.zeros(n)
    s1_times = beat_times(period, duration_s, jitter, seed)
    sys = systole_s(period)
    s2_times = [t + sys for t in s1_times if t + sys < duration_s - 0.05]
    for t in s1_times:
        x += 0.5 * burst(n, t, 50.0, 0.02, fs_hz)
    for t in s2_times:
        x += s2 * burst(n, t, 90.0, 0.015, fs_hz)
    for t in s2_times if s3 > 0 else []:
        x += s3 * burst(n, t + S3_DELAY_S, 35.0, 0.02, fs_hz)
    rng = np.random.default_rng(seed + 1)
    if murmur > 0:
        tt = np.arange(n) / fs_hz
        hiss = _band_noise(n, fs_hz, rng)
        gate = np.zeros(n)
        for a, b in zip(s1_times, s2_times, strict=False):
            gate[(tt > a + 0.05) & (tt < b - 0.04)] = 1.0
        x += murmur * hiss * gate
    x += noise * rng.standard_normal(n)
    return x, s1_times, s2_times


def _band_noise(n: int, fs_hz: float, rng: np.random.Generator) -> NDArray[np.float64]:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / fs_hz)
    spectrum[(f < 120) | (f > 400)] = 0
    out = np.fft.irfft(spectrum, n)
    return out / np.std(out) * 0.1


def breathing(
    rate_bpm: float, duration_s: float = 20.0, fs_hz: float = FS_HZ, seed: int = 0
) -> NDArray[np.float64]:
    """Vesicular-like noise (150-600 Hz) whose loudness follows inspiration and expiration."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs_hz)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / fs_hz)
    spectrum[(f < 150) | (f > 600)] = 0
    hiss = np.fft.irfft(spectrum, n)
    hiss /= np.std(hiss)
    t = np.arange(n) / fs_hz
    phase = (t * rate_bpm / 60.0) % 1.0
    # Inspiration (first 40 %) louder than expiration.
    loudness = np.where(
        phase < 0.4, np.sin(np.pi * phase / 0.4), 0.3 * np.sin(np.pi * (phase - 0.4) / 0.6)
    )
    return 0.02 * hiss * (0.05 + loudness)


def add_wheeze(
    x: NDArray[np.float64],
    start_s: float,
    end_s: float,
    freq_hz: float = 400.0,
    fs_hz: float = FS_HZ,
) -> None:
    t = np.arange(x.size) / fs_hz
    gate = (t >= start_s) & (t < end_s)
    x[gate] += 0.05 * np.sin(2 * np.pi * freq_hz * t[gate])


def add_crackles(x: NDArray[np.float64], times_s: list[float], fs_hz: float = FS_HZ) -> None:
    """Fine-crackle-like transients: a sharp deflection then a damped 400-600 Hz ring (~8 ms)."""
    t = np.arange(int(0.015 * fs_hz)) / fs_hz
    wave = np.exp(-t / 0.002) * np.sin(2 * np.pi * 500.0 * t)
    for time in times_s:
        i = int(time * fs_hz)
        x[i : i + wave.size] += 0.3 * wave[: x.size - i]


def median_rate_bpm(s1_times: list[float]) -> float:
    """The true rate of a synthetic recording: 60 over its median S1-S1 interval."""
    return 60.0 / float(np.median(np.diff(s1_times)))


def add_rumble(
    x: NDArray[np.float64],
    s1_times: list[float],
    s2_times: list[float],
    level: float = 1.0,
    mid_s: tuple[float, float] | None = (0.12, 0.3),
    presystolic_s: float = 0.0,
    fs_hz: float = FS_HZ,
    seed: int = 0,
) -> None:
    """Add a mitral-stenosis-like diastolic rumble in place: low-pitched noise (60-200 Hz).

    In each diastole (an S2 and the next S1): a decrescendo from ``mid_s[0]`` to ``mid_s[1]``
    seconds after S2 (the mid-diastolic rumble after the opening snap; None for none), and a
    crescendo over the last ``presystolic_s`` seconds before the S1 core (presystolic
    accentuation). ``level`` 1.0 gives the rumble the loudness of ``pcg(murmur=1.0)``.
    """
    rng = np.random.default_rng(seed + 2)
    spectrum = np.fft.rfft(rng.standard_normal(x.size))
    f = np.fft.rfftfreq(x.size, 1 / fs_hz)
    spectrum[(f < 60) | (f > 200)] = 0
    hiss = np.fft.irfft(spectrum, x.size)
    hiss *= 0.1 / np.std(hiss)
    t = np.arange(x.size) / fs_hz
    gain = np.zeros(x.size)
    for s2 in s2_times:
        later = [s1 for s1 in s1_times if s1 > s2]
        if not later:
            continue
        end = later[0] - 0.04  # stop short of the S1 core
        if mid_s is not None:
            a, b = s2 + mid_s[0], min(s2 + mid_s[1], end)
            inside = (t >= a) & (t < b)
            gain[inside] = 1.0 - 0.5 * (t[inside] - a) / (mid_s[1] - mid_s[0])
        if presystolic_s > 0:
            a = end - presystolic_s
            inside = (t >= a) & (t < end)
            gain[inside] = np.maximum(gain[inside], 0.4 + 0.6 * (t[inside] - a) / presystolic_s)
    x += level * hiss * gain


def voice(
    duration_s: float, level: float, seed: int = 0, harmonic_slope_db: float | None = None
) -> NDArray[np.float64]:
    """Speech-like syllables: a glottal-like series of 8 harmonics over a 110-220 Hz fundamental,
    the pitch gliding down (a resident or someone in the room talking); the harmonics fall as
    :func:`stetho_sim._sounds.harmonic_weights` says for ``harmonic_slope_db``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * FS_HZ)) / FS_HZ
    x = np.zeros(t.size)
    weights = harmonic_weights(harmonic_slope_db)
    start = 0.5
    while start < duration_s - 0.5:
        length = rng.uniform(0.2, 0.45)
        inside = (t >= start) & (t < start + length)
        u = t[inside] - start
        x[inside] = syllable(u, length, rng.uniform(110.0, 220.0), weights, FS_HZ, level)
        start += length + rng.uniform(0.2, 0.6)
    return x
