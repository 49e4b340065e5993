"""The median of a 1-D float64 series, bit for bit ``np.median``, without its per-call cost.

``np.median`` spends ~15 us a call in Python wrappers (axis handling, ``np.mean`` of the middle
pair, a NaN check); a heart analysis calls it some twenty times on short series.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["median"]


def median(values: NDArray[Any]) -> float:
    """``float(np.median(values))``, the same bits.

    Notes
    -----
    The same order statistics from one ``np.partition`` (with the largest last, as
    ``np.median`` takes it to see NaNs), and the middle pair's mean as ``np.mean`` forms it:
    the sum over two. Anything else (not 1-D float64, empty, NaN, an infinite mean, whose
    warnings ``np.median`` raises, or a zero median, whose sign ``np.mean`` sets by its own
    summation) goes to ``np.median`` itself.
    """
    size = values.size
    if values.dtype != np.float64 or values.ndim != 1 or size == 0:
        return float(np.median(values))
    half = size // 2
    if size % 2:
        part = np.partition(values, (half, -1))
        middle = float(part[half])
    else:
        part = np.partition(values, (half - 1, half, -1))
        middle = (float(part[half - 1]) + float(part[half])) / 2.0
    if middle == 0.0 or not math.isfinite(middle) or part[-1] != part[-1]:
        return float(np.median(values))
    return middle
