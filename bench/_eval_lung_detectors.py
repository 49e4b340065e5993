"""Crackle detectors of other families than the shipped one, for the sixth-round probe.

All read the lung band interpolated to 8 kHz, as ``stetho_signal.crackles`` does, and
return event times (s) per member parameter; the probe gates heart sounds as shipped.

- :func:`nonstationary_events`: in the spirit of Hadjileontiadis et al.'s wavelet
  stationary/non-stationary filter (COMPEL 1998;17:649), with a local level.
- :func:`kurtosis_events`: the band's kurtosis over 10 ms (3 for Gaussian breath sound).
- :func:`fractal_events`: Katz's waveform fractal dimension over 10 ms (crackle detection
  by fractal dimension: Pinho et al., Int J Reliable Qual E-Healthc 2016;5(4):34).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import ndimage

from stetho_signal import crackles
from stetho_signal._audio import ANALYSIS_RATE_HZ

FINE_HZ = ANALYSIS_RATE_HZ * crackles._CRACKLE_UPSAMPLE
NST_RULES = tuple(itertools.product((4.0, 5.0), (2, 3), (3, 10, 20)))  # k, scales, events
KURTOSIS_RULES = tuple(itertools.product((8.0, 12.0, 16.0), (3, 10, 20)))  # K, events
FRACTAL_RULES = tuple(itertools.product((1.15, 1.2, 1.25, 1.3), (3, 10, 20)))  # FD, events
_SCALES = (1, 2, 3, 4)  # a trous details at 8 kHz: ~1-2 kHz, 0.5-1, 250-500, 125-250 Hz
_NST_LEVEL_S, _NST_REACH_S, _NST_EDGE_S = 0.2, 0.002, 0.05
_KURTOSIS_S, _KURTOSIS_GAP_S = 0.01, 0.02


def _a_trous(x: NDArray[np.float64], levels: int) -> list[NDArray[np.float64]]:
    """Detail signals of the undecimated B3-spline wavelet transform (they sum back to x
    less its coarsest approximation)."""
    kernel = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    approx, details = x, []
    for j in range(levels):
        holes = np.zeros(4 * 2**j + 1)
        holes[:: 2**j] = kernel
        smoother = ndimage.convolve1d(approx, holes, mode="reflect")
        details.append(approx - smoother)
        approx = smoother
    return details


def _nonstationary(w: NDArray[np.float64], k: float, window: int) -> NDArray[np.bool_]:
    """Coefficients over k times the local RMS of the unmarked ones, iterated to a fixed set.

    The local RMS is taken over ``window`` samples in 10 ms blocks (as the shipped detector's
    background level), held over each block.
    """
    block = round(0.01 * FINE_HZ)
    count = w.size // block
    head = w[: count * block]
    marked = np.zeros(head.size, dtype=bool)
    for _ in range(8):
        kept = (~marked).reshape(count, block)
        power = np.where(kept, np.square(head.reshape(count, block)), 0.0).sum(axis=1)
        share = kept.sum(axis=1).astype(np.float64)
        size = max(window // block, 1)
        level = np.sqrt(
            ndimage.uniform_filter1d(power, size)
            / np.maximum(ndimage.uniform_filter1d(share, size), 1e-3)
        )
        now = np.abs(head) > k * np.repeat(level, block)
        if np.array_equal(now, marked):
            break
        marked = now
    return np.concatenate([marked, np.zeros(w.size - head.size, dtype=bool)])


def nonstationary_events(fine: NDArray[np.float64]) -> dict[tuple[float, int], list[float]]:
    """Per (k, m), times (s) where at least m wavelet scales hold non-stationary coefficients."""
    details = _a_trous(fine, max(_SCALES) + 1)
    window, reach = round(_NST_LEVEL_S * FINE_HZ), round(_NST_REACH_S * FINE_HZ)
    events = {}
    for k in sorted({k for k, _, _ in NST_RULES}):
        marks = [
            ndimage.binary_dilation(_nonstationary(details[j], k, window), iterations=reach)
            for j in _SCALES
        ]
        marked = np.sum(marks, axis=0)
        for m in sorted({m for _, m, _ in NST_RULES}):
            events[k, m] = _event_times(marked >= m, fine.size, 0.01)
    return events


def kurtosis_events(fine: NDArray[np.float64]) -> dict[float, list[float]]:
    """Per K, times (s) where the band's kurtosis over 10 ms reaches K."""
    n = round(_KURTOSIS_S * FINE_HZ)
    square = fine * fine
    m1, m2, m3, m4 = (
        ndimage.uniform_filter1d(v, n) for v in (fine, square, square * fine, square * square)
    )
    variance = m2 - m1**2
    central4 = m4 - 4.0 * m1 * m3 + 6.0 * m1**2 * m2 - 3.0 * m1**4
    kurtosis = central4 / np.maximum(variance**2, 1e-30)
    return {
        k: _event_times(kurtosis >= k, fine.size, _KURTOSIS_GAP_S)
        for k in sorted({k for k, _ in KURTOSIS_RULES})
    }


def fractal_events(fine: NDArray[np.float64]) -> dict[float, list[float]]:
    """Per D, times (s) where the band's Katz fractal dimension over 10 ms falls to D.

    Katz's waveform dimension log(n) / (log(n) + log(d / L)) (n steps, L the summed absolute
    steps, d the largest distance from the window's first sample) is scale-free; breath
    sound's is ~1.5-2.5, a window holding one large deflection nears 1.
    """
    n, hop = round(_KURTOSIS_S * FINE_HZ), round(0.001 * FINE_HZ)
    windows = sliding_window_view(fine, n + 1)[::hop]
    length = np.abs(np.diff(windows, axis=1)).sum(axis=1)
    reach = np.abs(windows - windows[:, :1]).max(axis=1)
    ratio = np.maximum(reach, 1e-30) / np.maximum(length, 1e-30)
    dimension = np.log10(n) / (np.log10(n) + np.log10(ratio))
    # Window k covers samples k * hop .. k * hop + n: place its value at its centre.
    at = np.full(fine.size, np.inf)
    centres = np.arange(dimension.size) * hop + n // 2
    for shift in range(hop):
        at[np.minimum(centres + shift, fine.size - 1)] = dimension
    return {
        d: _event_times(at <= d, fine.size, _KURTOSIS_GAP_S)
        for d in sorted({d for d, _ in FRACTAL_RULES})
    }


def _event_times(on: NDArray[np.bool_], size: int, gap_s: float) -> list[float]:
    """Centres of the runs of ``on``, at least ``gap_s`` apart, away from the ends."""
    labels, count = ndimage.label(on)
    times: list[float] = []
    if count == 0:
        return times
    for found in ndimage.find_objects(labels):
        t = 0.5 * (found[0].start + found[0].stop) / FINE_HZ
        if not _NST_EDGE_S <= t <= size / FINE_HZ - _NST_EDGE_S:
            continue
        if times and t - times[-1] < gap_s:
            continue
        times.append(t)
    return times
