"""Butterworth band-pass filters for heart and lung sounds: zero-phase and streaming forms.

Bands follow where the sound lives (see docs in ``DOMAIN.md``): S1/S2 carry most energy at
20-150 Hz and murmurs reach 600 Hz, breath sounds span 100-1000 Hz and crackles reach 2 kHz.
"""

from __future__ import annotations

import functools
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_signal._band_edges import (
    BELL_BAND_HZ,
    DIAPHRAGM_BAND_HZ,
    HEART_BAND_HZ,
    LUNG_BAND_HZ,
    WIDE_BAND_HZ,
)
from stetho_signal.errors import FilterDesignError

__all__ = [
    "BELL_BAND_HZ",
    "DIAPHRAGM_BAND_HZ",
    "HEART_BAND_HZ",
    "LUNG_BAND_HZ",
    "MAX_EDGE_OF_NYQUIST",
    "MODE_BANDS_HZ",
    "WIDE_BAND_HZ",
    "Mode",
    "StreamingBandpass",
    "bandpass",
    "design_bandpass",
]

# Fraction of Nyquist a band edge may reach: a Butterworth edge at Nyquist is undefined.
MAX_EDGE_OF_NYQUIST = 0.95


class Mode(StrEnum):
    """Frequency-response modes of a stethoscope chest piece."""

    BELL = "bell"
    DIAPHRAGM = "diaphragm"
    WIDE = "wide"


MODE_BANDS_HZ: dict[Mode, tuple[float, float]] = {
    Mode.BELL: BELL_BAND_HZ,
    Mode.DIAPHRAGM: DIAPHRAGM_BAND_HZ,
    Mode.WIDE: WIDE_BAND_HZ,
}


def design_bandpass(
    fs_hz: float, band_hz: tuple[float, float], order: int = 4
) -> NDArray[np.float64]:
    """Design a Butterworth band-pass filter as second-order sections.

    Parameters
    ----------
    fs_hz : float
        Sampling rate in Hz.
    band_hz : (float, float)
        Lower and upper -3 dB edges in Hz. The upper edge is capped at 95 % of Nyquist, so
        ``LUNG_BAND_HZ`` works at 4 kHz.
    order : int
        Butterworth order of each of the low- and high-pass halves (the band-pass has twice it).

    Returns
    -------
    sos : ndarray, shape (order, 6)
        Second-order sections for :func:`scipy.signal.sosfilt`.

    Raises
    ------
    FilterDesignError
        If the rate, the order or the band (after capping) is not usable.
    """
    low, high = checked_band(fs_hz, band_hz, order)
    return _butter_sos(float(fs_hz), low, high, order).copy()


def checked_band(fs_hz: float, band_hz: tuple[float, float], order: int) -> tuple[float, float]:
    """The band's edges with the upper one capped, as :func:`design_bandpass` designs it.

    Raises
    ------
    FilterDesignError
        If the rate, the order or the band (after capping) is not usable.
    """
    low, high = float(band_hz[0]), float(band_hz[1])
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise FilterDesignError(f"sample rate must be a positive number of Hz, got {fs_hz!r}")
    if not 1 <= order <= 12:
        raise FilterDesignError(f"filter order must be 1..12, got {order}")
    high = min(high, MAX_EDGE_OF_NYQUIST * fs_hz / 2.0)
    if not (np.isfinite(low) and 0.0 < low < high):
        raise FilterDesignError(
            f"band {band_hz} Hz is empty at {fs_hz} Hz sampling (upper edge capped at {high:.1f})"
        )
    return low, high


@functools.lru_cache(maxsize=64)
def _butter_sos(fs_hz: float, low: float, high: float, order: int) -> NDArray[np.float64]:
    """Cached design: every recording uses the same few bands, and design costs more than a
    second of filtering. Read-only because the cache shares it; callers get a copy."""
    sos = dsp.butter_bandpass_sos(order, (low, high), fs_hz)
    sos.flags.writeable = False
    return sos


def bandpass(
    x: NDArray[np.floating], fs_hz: float, band_hz: tuple[float, float], order: int = 4
) -> NDArray[np.float32]:
    """Zero-phase band-pass a whole recording (forward-backward SOS filtering).

    Parameters
    ----------
    x : ndarray, shape (n,)
        Samples in any unit (output has the same unit).
    fs_hz : float
        Sampling rate in Hz.
    band_hz : (float, float)
        Pass band edges in Hz, e.g. :data:`HEART_BAND_HZ`.
    order : int
        Butterworth order of each half; the forward-backward pass squares the magnitude.

    Returns
    -------
    y : ndarray of float32, shape (n,)

    Notes
    -----
    Forward-backward filtering keeps S1/S2 timing (no group delay). The edge padding is
    shortened for short inputs so that any length, including zero, is accepted.
    """
    sos = design_bandpass(fs_hz, band_hz, order)
    data = np.asarray(x, dtype=np.float64).ravel()
    if data.size == 0:
        return np.zeros(0, dtype=np.float32)
    default_pad = 3 * (2 * sos.shape[0] + 1)
    padlen = min(default_pad, data.size - 1)
    result: NDArray[np.float32] = dsp.sosfiltfilt(sos, data, padlen=padlen).astype(np.float32)
    return result


class StreamingBandpass:
    """Causal band-pass that carries its state between blocks of a live stream.

    Feeding a signal block by block gives the same output as one call of
    ``scipy.signal.sosfilt`` over the whole signal (the state ``zi`` starts at rest).

    Parameters
    ----------
    fs_hz : float
        Sampling rate in Hz.
    band_hz : (float, float)
        Pass band edges in Hz.
    order : int
        Butterworth order of each half.
    """

    def __init__(self, fs_hz: float, band_hz: tuple[float, float], order: int = 4) -> None:
        self._sos = design_bandpass(fs_hz, band_hz, order)
        self._zi = np.zeros((self._sos.shape[0], 2), dtype=np.float64)
        self.fs_hz = float(fs_hz)

    def process(self, block: NDArray[np.floating]) -> NDArray[np.float32]:
        """Filter the next block; returns float32 samples of the same length."""
        data = np.asarray(block, dtype=np.float64).ravel()
        if data.size == 0:
            return np.zeros(0, dtype=np.float32)
        out, self._zi = dsp.sosfilt(self._sos, data, zi=self._zi)
        result: NDArray[np.float32] = out.astype(np.float32)
        return result

    def reset(self) -> None:
        """Forget the filter state, e.g. after a gap in the stream."""
        self._zi[:] = 0.0
