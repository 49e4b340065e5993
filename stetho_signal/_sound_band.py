"""Where the labelled heart sounds' power lies: in the heart-sound band, or above it."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_signal._stats import median
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import ANALYTIC_RATE_HZ, SOUND_BAND_HZ

__all__ = [
    "CENTROID_WINDOW_S", "HEART_PITCH_HZ", "HIGH_BAND_HZ", "high_band_share",
    "spectral_centroids_hz",
]  # fmt: skip

HIGH_BAND_HZ = (300.0, 1000.0)
"""Above the heart sounds: S1 and S2 carry most of their energy at 20-150 Hz and little above
200 Hz, while crackles (explosive, under 20 ms) reach 2 kHz and breath sounds 100-1000 Hz
(docs DOMAIN.md, "Where the sound lives"; Sovijärvi et al., Eur Respir Rev 2000). 1 kHz is the
Nyquist frequency of the slowest accepted recording (2 kHz)."""
_HIGH_RATE_HZ = 1000.0  # an analytic signal at 1 kHz holds the band up to 1 kHz
_WINDOW_S = 0.1  # a heart sound lasts 80-140 ms: its power is the mean over 100 ms
CENTROID_WINDOW_S = 0.08
"""Window of :func:`spectral_centroids_hz`: the core of a heart sound (80-140 ms long)."""
HEART_PITCH_HZ = 200.0
"""Sounds whose median spectral centroid (:func:`spectral_centroids_hz`) is this or over are no
S1 or S2: those carry most of their energy at 20-150 Hz and little above 200 Hz (DOMAIN.md), and
a chain of breath or noise bursts has no higher-pitched S2 to find. The labelled sounds of every
CirCor recording, original and made faster to 170-190/min, have median centroids of 176 Hz at
most; a chain of breath bursts read at 190/min under a faint heart
(tests/stetho_signal/test_fast_read.py) 204-239 Hz."""


def high_band_share(spectrum: Spectrum, times_s: NDArray[np.float64]) -> float | None:
    """Median share, over the sounds at ``times_s``, of the power each adds to the recording's
    background that lies in :data:`HIGH_BAND_HZ` rather than the heart-sound band.

    Parameters
    ----------
    spectrum : Spectrum
        The recording (full scale 1.0).
    times_s : ndarray, shape (k,)
        Centres of the labelled sounds, seconds from the start.

    Returns
    -------
    share : float or None
        0..1 (dimensionless): near 0 for heart sounds, near 1 for sounds made of crackles or
        breath; None without sounds, or when no sound rises above the background in either
        band.

    Notes
    -----
    Per band, the power is the squared magnitude of the analytic signal (the heart-sound band,
    :data:`~stetho_signal.envelope.SOUND_BAND_HZ`, at 500 Hz, the envelope the segmentation
    already used; the high band at 1 kHz), averaged over 100 ms: centred on each sound, and
    over consecutive 100 ms blocks of the recording, whose median is the background. What a
    sound adds is its power over the background (none when under it), so steady noise of any
    colour adds nothing to either band; the share is the high band's part of the sum.
    """
    if times_s.size == 0:
        return None
    low = _added_power(spectrum, SOUND_BAND_HZ, ANALYTIC_RATE_HZ, times_s)
    high = _added_power(spectrum, HIGH_BAND_HZ, _HIGH_RATE_HZ, times_s)
    total = low + high
    rising = total > 0.0
    if not np.any(rising):
        return None
    return round(median(high[rising] / total[rising]), 3)


def _added_power(
    spectrum: Spectrum, band_hz: tuple[float, float], rate_hz: float, times_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Mean power over :data:`_WINDOW_S` centred on each time, less the median such mean over
    the recording's consecutive blocks; 0 where it is less."""
    magnitude = spectrum.unpad(spectrum.envelope(band_hz, rate_hz), rate_hz)
    power = np.square(magnitude, dtype=np.float64)
    width = max(round(_WINDOW_S * rate_hz), 1)
    blocks = power[: power.size // width * width].reshape(-1, width)
    background = median(blocks.mean(axis=1)) if blocks.size else 0.0
    running = np.concatenate(([0.0], np.cumsum(power)))
    centres = np.round(times_s * rate_hz).astype(np.intp)
    start = np.clip(centres - width // 2, 0, power.size)
    end = np.clip(start + width, 0, power.size)
    spans = np.maximum(end - start, 1)
    level = (running[end] - running[start]) / spans
    added: NDArray[np.float64] = np.maximum(level - background, 0.0)
    return added


def spectral_centroids_hz(
    band: NDArray[np.float32], rate_hz: float, times_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Power-weighted mean frequency of ``band`` around each of ``times_s``, Hz.

    Parameters
    ----------
    band : ndarray, shape (n,)
        The recording band-passed to the heart band (25-400 Hz), at ``rate_hz``.
    rate_hz : float
        Sampling rate of ``band`` in Hz.
    times_s : ndarray, shape (k,)
        Centres of the sounds, seconds from the start.

    Returns
    -------
    centroid : ndarray, shape (k,)
        Hz; 0 where the window holds no power.

    Notes
    -----
    A Hann window of :data:`CENTROID_WINDOW_S` (the core of a heart sound, which lasts 80-140
    ms; ``round(0.08 * rate_hz)`` samples, starting half of them, rounded down, before the
    sample nearest each time), zero-padded to the next power of two at least as long, all
    windows in one transform; a window past either end of the recording repeats the end
    sample. S2 is the higher-pitched of the two heart sounds (its valves close faster and
    tenser, DOMAIN.md): on the CirCor recordings, unmodified and made faster to 170/min, the
    median centroid of the annotated S2s exceeds that of the S1s in 103 of 111 records (the
    envelope share of :data:`~stetho_signal.segmentation.PITCH_BAND_HZ` in 88); at every rate
    of bench.heart_faster in 272 of 292 (the share in 232).
    """
    if times_s.size == 0 or band.size == 0:
        return np.zeros(times_s.size)
    width = round(CENTROID_WINDOW_S * rate_hz)
    start = np.round(times_s * rate_hz).astype(np.intp) - width // 2
    index = np.clip(start[:, None] + np.arange(width), 0, band.size - 1)
    windows = band[index] * np.hanning(width)
    length = 1 << (width - 1).bit_length()
    power = np.abs(np.fft.rfft(windows, length)) ** 2  # along each window (the last axis)
    freqs = np.fft.rfftfreq(length, 1.0 / rate_hz)
    total = np.sum(power, axis=1)
    weighted = power @ freqs
    centroid: NDArray[np.float64] = np.divide(
        weighted, total, out=np.zeros(times_s.size), where=total > 0
    )
    return centroid
