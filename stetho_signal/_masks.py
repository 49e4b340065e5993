"""Runs of consecutive True values in a boolean mask (clipped plateaus, handling thumps), and the
run above half height around a peak (how long a sound lasts)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def run_lengths(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Length of each run of True in ``mask``, in order; empty when there is none.

    From the True positions alone: a mask is mostly False (clipped samples, loud frames), so
    one pass to find them is all the full length costs.
    """
    where = np.flatnonzero(mask)
    if where.size == 0:
        return where
    # A run ends where the next True is not the next sample, and at the last True.
    ends = np.flatnonzero(np.diff(where) != 1) + 1
    lengths: NDArray[np.intp] = np.diff(ends, prepend=0, append=where.size)
    return lengths


def half_peak_span(
    amplitude: NDArray[np.floating], peak: int, start: int, stop: int
) -> tuple[int, int]:
    """The samples ``begin:end`` around ``peak`` where ``amplitude`` stays at or over half its
    value at ``peak``, looked for within ``start:stop`` (the span ends there if it does)."""
    below = start + np.flatnonzero(amplitude[start:stop] < 0.5 * amplitude[peak])
    before, after = below[below < peak], below[below > peak]
    begin = int(before[-1]) + 1 if before.size else start
    end = int(after[0]) if after.size else stop
    return begin, end
