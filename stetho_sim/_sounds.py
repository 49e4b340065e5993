"""Waveform primitives for the synthetic stethoscope: heart sounds, murmurs, breath, adventitia.

Each function returns a float64 waveform in arbitrary units (peak about 1 for a loud heart sound)
that the synthesiser adds into its stream. Frequencies follow the bands in `DOMAIN.md`: S1/S2 carry
most energy at 20-150 Hz, murmurs 100-600 Hz, vesicular breath 100-1000 Hz falling off above
~200 Hz, wheezes are tonal above 100 Hz lasting over 100 ms (Sovijärvi et al., Eur Respir Rev
2000), fine crackles have a two-cycle duration under 10 ms.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp

__all__ = ["band_noise", "crackle", "heart_sound", "murmur", "wheeze"]


def _time_axis(duration_s: float, fs_hz: float) -> NDArray[np.float64]:
    return np.arange(max(1, round(duration_s * fs_hz))) / fs_hz


def _safe_band(band_hz: tuple[float, float], fs_hz: float) -> tuple[float, float]:
    # Keep the band inside (0, Nyquist) so the same scenario works at 2, 4 and 8 kHz.
    nyquist = fs_hz / 2
    low = min(band_hz[0], nyquist * 0.8)
    high = min(band_hz[1], nyquist * 0.95)
    return low, max(high, low * 1.2)


def heart_sound(
    fs_hz: float, centre_hz: float, split_s: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """One heart sound (S1 or S2): two Gaussian-windowed damped tones split by `split_s`.

    Parameters
    ----------
    fs_hz : float
        Sample rate in Hz.
    centre_hz : float
        Dominant frequency of the first component in Hz (S1 about 40-60 Hz, S2 about 60-90 Hz).
    split_s : float
        Delay of the second component in seconds (mitral-tricuspid or aortic-pulmonic split).
    rng : numpy.random.Generator
        Source of the small beat-to-beat variation.

    Returns
    -------
    numpy.ndarray
        float64 waveform of about 120 ms, peak near 1.
    """
    t = _time_axis(0.12, fs_hz)
    out = np.zeros_like(t)
    for delay_s, gain, freq_hz in ((0.0, 1.0, centre_hz), (split_s, 0.6, centre_hz * 1.3)):
        freq_hz *= 1.0 + 0.05 * rng.standard_normal()
        width_s = 0.012
        envelope = np.exp(-0.5 * ((t - 0.03 - delay_s) / width_s) ** 2)
        out += gain * envelope * np.sin(2 * np.pi * freq_hz * (t - delay_s))
    peak = float(np.max(np.abs(out)))
    return out / peak if peak > 0 else out


def band_noise(
    n_samples: int, fs_hz: float, band_hz: tuple[float, float], rng: np.random.Generator
) -> NDArray[np.float64]:
    """White Gaussian noise band-passed to `band_hz` (Hz), unit RMS."""
    if n_samples <= 0:
        return np.zeros(0)
    low, high = _safe_band(band_hz, fs_hz)
    sos = dsp.butter_bandpass_sos(2, (low, high), fs_hz)
    noise = dsp.sosfilt(sos, rng.standard_normal(n_samples + 256))[0][256:]
    rms = float(np.sqrt(np.mean(noise**2)))
    return np.asarray(noise / rms if rms > 0 else noise, dtype=np.float64)


def murmur(duration_s: float, fs_hz: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """A crescendo-decrescendo (diamond) systolic murmur: 120-500 Hz noise, peak about 1."""
    n_samples = max(1, round(duration_s * fs_hz))
    diamond = 1.0 - np.abs(np.linspace(-1.0, 1.0, n_samples))
    return band_noise(n_samples, fs_hz, (120.0, 500.0), rng) * diamond / 3.0


def wheeze(duration_s: float, fs_hz: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """A monophonic wheeze: a 300-500 Hz tone gliding down, with its second harmonic, peak ~1."""
    t = _time_axis(duration_s, fs_hz)
    start_hz = min(rng.uniform(380.0, 480.0), fs_hz * 0.2)
    freq_hz = start_hz * (1.0 - 0.15 * t / max(duration_s, 1e-3))
    phase = 2 * np.pi * np.cumsum(freq_hz) / fs_hz
    harmonic = 0.3 * np.sin(2 * phase) if 2 * start_hz < fs_hz * 0.45 else 0.0
    envelope = np.sin(np.pi * t / max(duration_s, 1e-3)) ** 0.5
    return np.asarray(envelope * (np.sin(phase) + harmonic) / 1.3, dtype=np.float64)


def crackle(fs_hz: float, two_cycle_s: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """One crackle: a sharp deflection then a quickly damped oscillation, peak 1.

    Parameters
    ----------
    fs_hz : float
        Sample rate in Hz.
    two_cycle_s : float
        Two-cycle duration (2CD) in seconds: under 10 ms for fine crackles (CORSA).
    rng : numpy.random.Generator
        Source of the polarity.
    """
    freq_hz = min(2.0 / two_cycle_s, fs_hz * 0.4)
    t = _time_axis(3.0 / freq_hz, fs_hz)
    polarity = 1.0 if rng.random() < 0.5 else -1.0
    wave = np.sin(2 * np.pi * freq_hz * t) * np.exp(-t * freq_hz * 1.2)
    peak = float(np.max(np.abs(wave)))
    return polarity * wave / peak if peak > 0 else wave


def harmonic_weights(harmonic_slope_db: float | None = None) -> list[float]:
    """The amplitudes of a voice's first 8 harmonics: 0.7**(k - 1) (about -3 dB a harmonic), or
    falling ``harmonic_slope_db`` an octave (k**(-slope / 6.02)); 12 dB an octave or more is
    voice heard through the chest wall, a low-pass."""
    if harmonic_slope_db is None:
        return [0.7 ** (k - 1) for k in range(1, 9)]
    return [k ** (-harmonic_slope_db / (20.0 * np.log10(2.0))) for k in range(1, 9)]


def syllable(
    u: NDArray[np.float64],
    length_s: float,
    pitch_hz: float,
    weights: list[float],
    fs_hz: float,
    level: float,
) -> NDArray[np.float64]:
    """One syllable at times ``u`` (s from its start) of ``length_s``: a harmonic series
    (``weights``) over a fundamental gliding down 20 % from ``pitch_hz``, swelling to ``level``
    and fading."""
    pitch = pitch_hz * (1.0 - 0.2 * u / length_s)
    phase = 2 * np.pi * np.cumsum(pitch) / fs_hz
    series = sum(w * np.sin(k * phase) for k, w in enumerate(weights, start=1))
    out: NDArray[np.float64] = level * np.sin(np.pi * u / length_s) * series
    return out
