"""Median and quantile of a small 1-D array, as NumPy computes them, without the cost of its
general wrappers (axes, NaN checks, ``out``): tens of microseconds a call, where the heart
analysis takes about twenty medians of a few dozen values each."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def median(x: NDArray[np.floating]) -> float:
    """``float(np.median(x))`` of a non-empty 1-D array without NaN, to the same bit."""
    half = x.size // 2
    if x.size % 2:
        return float(np.partition(x, half)[half])
    part = np.partition(x, (half - 1, half))
    # NumPy averages the two middle values as a mean does: their sum, halved, in x's dtype.
    return float((part[half - 1] + part[half]) / 2)


def quantile(x: NDArray[np.float64], q: float) -> float:
    """``float(np.quantile(x, q))`` (linear interpolation) of a non-empty 1-D float64 array
    without NaN, to the same bit."""
    index = q * (x.size - 1)
    below = int(index)
    above = min(below + 1, x.size - 1)
    part = np.partition(x, (below, above))
    a, b, t = float(part[below]), float(part[above]), index - below
    # NumPy interpolates from the nearer end.
    return b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t
