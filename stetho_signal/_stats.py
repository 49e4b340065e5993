"""Median and quantile of a 1-D float64 series, bit for bit ``np.median`` and ``np.quantile``
(default "linear" method), without their per-call cost.

Both spend ~15-30 us a call in Python wrappers (axis handling, ``np.mean`` of the middle pair,
index and gamma arrays, NaN checks); a heart analysis calls them some thirty times.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["median", "quantile"]


def median(values: NDArray[Any]) -> float:
    """``float(np.median(values))``, the same bits.

    Notes
    -----
    The same order statistics from one ``np.partition`` (with the largest last, as
    ``np.median`` takes it to see NaNs), by its own two steps: a copy, partitioned in place
    (its dispatch and wrapper were a third of a call, ~6,000 calls a cold heart pass). The
    middle pair's mean as ``np.mean`` forms it: the sum over two. Anything else (not 1-D
    float64, empty, NaN, an infinite mean, whose warnings ``np.median`` raises, or a zero
    median, whose sign ``np.mean`` sets by its own summation) goes to ``np.median`` itself.
    Up to :data:`_SHORT` values, a sorted list gives the same (:func:`_short_median`).
    """
    size = values.size
    if values.dtype != np.float64 or values.ndim != 1 or size == 0:
        return float(np.median(values))
    if size <= _SHORT:
        return _short_median(values)
    half = size // 2
    part = values.copy()
    if size % 2:
        part.partition((half, -1))
        middle = float(part[half])
    else:
        part.partition((half - 1, half, -1))
        middle = (float(part[half - 1]) + float(part[half])) / 2.0
    if middle == 0.0 or not math.isfinite(middle) or part[-1] != part[-1]:
        return float(np.median(values))
    return middle


# Up to this many values, a median sorts a list of Python floats: ~0.5-1.2 us a call against
# ~1.8 us for the copy and partition (most of a heart analysis's ~4,000 medians a pass are of
# 10-30 values, docs/accuracy.md, nineteenth round).
_SHORT = 32


def _short_median(values: NDArray[np.float64]) -> float:
    """:func:`median` of a short 1-D float64 series, not empty, from a sorted list: the same
    order statistics, the middle pair's mean formed alike, and the same cases to ``np.median``
    (a NaN or infinities of both signs, which make the sum NaN; an infinite or zero median)."""
    items: list[float] = values.tolist()
    total = sum(items)
    if total != total:  # a NaN, or infinities of both signs
        return float(np.median(values))
    items.sort()
    half = len(items) // 2
    middle = items[half] if len(items) % 2 else (items[half - 1] + items[half]) / 2.0
    if middle == 0.0 or not math.isfinite(middle):
        return float(np.median(values))
    return middle


def quantile(values: NDArray[Any], q: float) -> float:
    """``float(np.quantile(values, q))`` (method "linear"), the same bits.

    Notes
    -----
    NumPy's steps for a scalar ``q``: the virtual index ``(n - 1) q``, the order statistics at
    its floor and the next index from one ``np.partition``, and its ``_lerp``, which goes from
    the upper value back when the fraction is 0.5 or more. An index on or past the ends, a
    NaN, an infinite or zero result (equal zeros of either sign may swap places in another
    partition) and other dtypes go to ``np.quantile`` itself.
    """
    size = values.size
    virtual = (size - 1) * q
    if values.dtype != np.float64 or values.ndim != 1 or not 0.0 <= virtual < size - 1:
        return float(np.quantile(values, q))
    low = math.floor(virtual)
    part = values.copy()  # np.partition's two steps, without its dispatch (see median)
    part.partition((low, low + 1, -1))
    below, above = float(part[low]), float(part[low + 1])
    gamma = virtual - low
    step = above - below
    value = above - step * (1 - gamma) if gamma >= 0.5 else below + step * gamma
    if value == 0.0 or not math.isfinite(value) or part[-1] != part[-1]:
        return float(np.quantile(values, q))
    return value
