"""The beat-to-beat irregularity measure, one definition for the rhythm the analysis reports
(`stetho_signal.heart`) and the half-rate guard's irregular chains (`stetho_signal._half_rate`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_INTERVALS_FOR_RHYTHM", "nrmssd"]

MIN_INTERVALS_FOR_RHYTHM = 4  # irregularity needs at least five beats


def nrmssd(intervals: NDArray[np.float64]) -> float:
    """RMS of successive differences of beat intervals over their mean (unrounded)."""
    return float(np.sqrt(np.mean(np.diff(intervals) ** 2)) / np.mean(intervals))
