"""Peak picking over SciPy's compiled ``_peak_finding_utils`` kernel.

:func:`find_peaks` takes the steps of ``scipy.signal.find_peaks`` (SciPy 1.17) for the
conditions we use (height, distance, prominence, width), in the same order, so it keeps the
same peaks; ``tests/stetho_common/test_dsp.py`` compares the two.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stetho_common.dsp import _kernels

__all__ = ["find_peaks"]

Bound = float | None
Interval = float | tuple[Bound, Bound] | None


def _bounds(interval: float | tuple[Bound, Bound]) -> tuple[Bound, Bound]:
    if isinstance(interval, tuple):
        return interval
    return interval, None


def _within(
    values: NDArray[np.float64], interval: float | tuple[Bound, Bound]
) -> NDArray[np.bool_]:
    low, high = _bounds(interval)
    keep = np.ones(values.size, dtype=bool)
    if low is not None:
        keep &= low <= values
    if high is not None:
        keep &= values <= high
    return keep


def find_peaks(
    x: ArrayLike,
    *,
    height: Interval = None,
    distance: float | None = None,
    prominence: Interval = None,
    width: Interval = None,
    rel_height: float = 0.5,
) -> NDArray[np.intp]:
    """Indices of the local maxima of `x` that meet every given condition.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Signal, any unit.
    height, prominence, width : float or (min, max), optional
        Bounds on the peak's value, prominence (unit of `x`) and width (samples, measured at
        `rel_height` of the prominence below the peak); None leaves a side open.
    distance : float, optional
        Minimum samples between neighbouring peaks; the lower of two close peaks goes.
    rel_height : float
        Where the width is measured, as a fraction of the prominence.

    Returns
    -------
    peaks : ndarray of intp
        ``scipy.signal.find_peaks(x, ...)[0]`` for the same arguments.
    """
    kernel = _kernels.peak_finding
    values = np.asarray(x, order="C", dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {values.shape}")
    if distance is not None and distance < 1:
        raise ValueError("distance must be at least 1")
    peaks, _, _ = kernel._local_maxima_1d(values)
    if height is not None:
        peaks = peaks[_within(values[peaks], height)]
    if distance is not None:
        peaks = peaks[kernel._select_by_peak_distance(peaks, values[peaks], distance)]
    if prominence is None and width is None:
        return np.asarray(peaks, dtype=np.intp)
    # No window: -1 asks the kernel to search the whole signal for each base.
    prominences, left_bases, right_bases = kernel._peak_prominences(values, peaks, -1)
    if prominence is not None:
        keep = _within(prominences, prominence)
        peaks, prominences = peaks[keep], prominences[keep]
        left_bases, right_bases = left_bases[keep], right_bases[keep]
    if width is not None:
        widths = kernel._peak_widths(
            values, peaks, rel_height, prominences, left_bases, right_bases
        )[0]
        peaks = peaks[_within(widths, width)]
    return np.asarray(peaks, dtype=np.intp)
