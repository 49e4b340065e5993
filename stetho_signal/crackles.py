"""Crackles (CORSA): explosive, rapidly dampening transients in the lung band."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from stetho_common import dsp

__all__ = ["crackle_band", "crackles_in", "find_crackles"]

_CRACKLE_RATIO = 6.0  # peak over the local RMS of the breath sound
_CRACKLE_MAX_WIDTH_S = 0.02  # CORSA: crackles last under 20 ms
_CRACKLE_BACKGROUND_S = 0.1
_CRACKLE_BACKGROUND_BLOCKS = 10  # the background level is taken in 10 ms steps
_CRACKLE_RING_S = 0.01  # ringing looked for after a crackle's largest deflection
_CRACKLE_MAX_RINGS = 2  # half-cycles there reaching half its height (see find_crackles)
# A deflection's peak falls between samples: at 4 kHz a 1 kHz half-cycle can read 29 % low
# (cos(pi f / fs)) and a 1.5 kHz one 62 % low, so the 6x test saw fine crackles by luck of
# phase. Twice the rate reads them within 8 % and 17 %; the band (under 1.8 kHz) is held
# whole by its 4 kHz samples, so interpolating restores the waveform that was there.
_CRACKLE_UPSAMPLE = 2


def find_crackles(
    band: NDArray[np.floating], fs_hz: float, signal_s: tuple[float, float] | None = None
) -> tuple[float, ...]:
    """Crackle times (s): explosive, quickly damped transients in the lung band.

    Parameters
    ----------
    band : ndarray, shape (n,)
        The lung band (:func:`stetho_signal.lung.lung_band`) at ``fs_hz``.
    fs_hz : float
        Sampling rate in Hz.
    signal_s : (float, float), optional
        Where the recording holds signal, s (``PreparedAudio.signal_span_s``); the whole band
        when left out.

    Notes
    -----
    A candidate stands at least 6x over the local RMS of the breath sound (0.1 s around it, in
    10 ms steps, never under half the recording's median). CORSA describes a crackle as a rapidly
    dampening deflection lasting under 20 ms: within 10 ms after its largest deflection at
    most two more half-cycles reach half its height (simulated fine and coarse crackles: one
    or two; an impulse through the band filter: none). A burst that keeps ringing is a
    resonance or a tone onset (friction on the chest piece, a voice), not a crackle. The
    first and last half window of the signal are skipped: the local level there sees one side
    only, and a recording's first samples hold the placement and filter start-up transient (or
    the step out of a recorder's leading digital silence).

    The same as ``crackles_in(*crackle_band(band, fs_hz), signal_s)``.
    """
    return crackles_in(*crackle_band(band, fs_hz), signal_s)


def crackle_band(band: NDArray[np.floating], fs_hz: float) -> tuple[NDArray[np.float32], float]:
    """The lung band as the crackle detector reads it: at twice its rate, single precision.

    Parameters
    ----------
    band : ndarray, shape (n,)
        The lung band (:func:`stetho_signal.lung.lung_band`) at ``fs_hz``.
    fs_hz : float
        Its sampling rate, Hz.

    Returns
    -------
    samples : ndarray of float32, shape (2 n,)
        The band interpolated to twice its rate: a deflection's peak falls between samples.
    rate_hz : float
        ``2 * fs_hz``.

    Notes
    -----
    Polyphase interpolation with a windowed sinc: ``stetho_common.dsp``'s resampler, not
    ``scipy.signal``'s (importing that costs ~48 MiB). Single precision halves the memory
    traffic over the whole recording; the detector's 6x ratio and half-height tests need far
    less than its 1e-7 relative precision. Made once per recording and shared by the
    detector (:func:`crackles_in`) and the ringing rule that judges its candidates after.
    """
    finer = dsp.resample_poly(np.asarray(band, dtype=np.float32), _CRACKLE_UPSAMPLE, 1)
    return np.asarray(finer, dtype=np.float32), fs_hz * _CRACKLE_UPSAMPLE


def crackles_in(
    band: NDArray[np.float32], fs_hz: float, signal_s: tuple[float, float] | None = None
) -> tuple[float, ...]:
    """Crackle times (s) in a band :func:`crackle_band` has made: :func:`find_crackles`
    without the interpolation, for a caller that reads that band again.

    Parameters
    ----------
    band : ndarray of float32, shape (n,)
        The lung band at the detector's rate (:func:`crackle_band`).
    fs_hz : float
        Its sampling rate, Hz.
    signal_s : (float, float), optional
        Where the recording holds signal, s; the whole band when left out.
    """
    window = max(1, int(_CRACKLE_BACKGROUND_S * fs_hz))
    magnitude = np.abs(band)
    background = _background(band, window)
    ratio = magnitude / background
    if not np.any(ratio >= _CRACKLE_RATIO):
        return ()
    peaks = dsp.find_peaks(
        ratio,
        height=_CRACKLE_RATIO,
        distance=int(0.01 * fs_hz),
        width=(None, _CRACKLE_MAX_WIDTH_S * fs_hz),
        rel_height=0.5,
    )
    edge = window // 2
    low, high = edge, band.size - edge
    if signal_s is not None:
        low += max(0, round(signal_s[0] * fs_hz))
        high -= max(0, band.size - round(signal_s[1] * fs_hz))
    peaks = peaks[(peaks >= low) & (peaks < high)]
    peaks = peaks[_damped(magnitude, peaks, int(_CRACKLE_RING_S * fs_hz))]
    return tuple(round(float(p) / fs_hz, 4) for p in peaks)


def _background(band: NDArray[np.float32], window: int) -> NDArray[np.float32]:
    """RMS of ``band`` over ``window`` samples around each sample, never under half its median.

    Taken in blocks of a tenth of the window and held over each block: the level moves over
    the whole window, and a running mean at every sample cost a filter pass over the recording
    (a third of the detector's time when nothing stands out).
    """
    block = max(1, window // _CRACKLE_BACKGROUND_BLOCKS)
    count = -(-band.size // block)
    padded = np.zeros(count * block, dtype=np.float32)
    padded[: band.size] = band
    power = np.square(padded).reshape(count, block).mean(axis=1)
    power[-1] *= block / (band.size - (count - 1) * block)  # the last block's zeros left out
    # The running mean of squares can dip a hair below zero in floating point: clamp it.
    mean_square = ndimage.uniform_filter1d(power, size=_CRACKLE_BACKGROUND_BLOCKS, mode="nearest")
    level = np.sqrt(np.maximum(mean_square, 0.0))
    level = np.maximum(level, max(float(np.median(level)) * 0.5, 1e-12))
    background: NDArray[np.float32] = np.repeat(level, block)[: band.size]
    return background


def _damped(
    magnitude: NDArray[np.float32], peaks: NDArray[np.intp], span: int
) -> NDArray[np.bool_]:
    """Whether at most two half-cycles within ``span`` samples after each peak reach half it."""
    if peaks.size == 0 or span < 1:
        return np.ones(peaks.size, dtype=bool)
    # Samples peak+1 .. peak+span+1 and one on each side, to find local maxima among them.
    at = np.minimum(peaks[:, None] + np.arange(span + 2)[None, :], magnitude.size - 1)
    after = magnitude[at]
    middle = after[:, 1:-1]
    crest = (middle > after[:, :-2]) & (middle >= after[:, 2:])
    high = middle >= 0.5 * magnitude[peaks][:, None]
    rings = np.count_nonzero(crest & high, axis=1)
    damped: NDArray[np.bool_] = rings <= _CRACKLE_MAX_RINGS
    return damped
