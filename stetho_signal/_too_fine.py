"""Crackle candidates too fine to be crackles: the band filter's own ringing after a click."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

__all__ = ["FINEST_TWO_CYCLE_S", "not_too_fine", "two_cycle_s"]

# CORSA gives a fine crackle a two-cycle duration (2CD) of about 5 ms and a coarse one 10 ms or
# more (Sovijärvi et al., Eur Respir Rev 2000); half the finest crackle's is a transient shorter
# than the 150-1800 Hz band can shape, which then rings at the band's upper part: a click, not
# the lung. Pre-registered at half of 5 ms (docs/accuracy.md, twenty-second round), not placed
# between the two ICBHI detections it takes out (130_1p4, 1.4 and 1.5 ms) and the crackles'
# finest (3.75 ms, 104_1b1_Ll); every bound from 2 to 3.5 ms gives the same flags there.
FINEST_TWO_CYCLE_S = 0.0025
_ONSET_SEARCH_S = 0.005  # the initial deflection sought this far before the largest one
_CRACKLE_S = 0.02  # CORSA: a crackle lasts under 20 ms
_ONSET_SHARE = 0.25  # the initial deflection reaches a quarter of the largest
_PEAK_REACH_S = 0.001  # the largest deflection sought within 1 ms of the candidate


def two_cycle_s(fine: NDArray[np.floating], peak: int, fs_hz: float) -> float:
    """Two-cycle duration (s) of the transient whose largest deflection is at sample ``peak``.

    Parameters
    ----------
    fine : ndarray, shape (n,)
        The lung band as the crackle detector reads it
        (:func:`stetho_signal.crackles.crackle_band`).
    peak : int
        Index of the transient's largest deflection.
    fs_hz : float
        Sampling rate, Hz.

    Returns
    -------
    float
        From the start of the first whole half-cycle within 5 ms before ``peak`` (one that
        begins with a zero crossing inside that window) that reaches a quarter of its
        height, four half-cycles on (zero crossing to zero crossing); NaN when the recording
        ends first.
    """
    # A half-cycle counts from a zero crossing seen inside the window, so one that the
    # window's edge cuts is never taken as the first: counted as whole, it read a steady
    # 400 Hz tone's 5 ms as 4.1-4.5 ms. Hence the one sample before the window, to see a
    # crossing at its very first sample.
    start = max(peak - round(_ONSET_SEARCH_S * fs_hz), 1) - 1
    segment = np.asarray(fine[start : min(peak + round(_CRACKLE_S * fs_hz), fine.size)])
    flips = np.flatnonzero(np.signbit(segment[1:]) != np.signbit(segment[:-1])) + 1
    height = abs(float(fine[peak]))
    for k, (a, b) in enumerate(itertools.pairwise(flips)):
        if float(np.max(np.abs(segment[a:b]))) >= _ONSET_SHARE * height:
            if k + 4 < flips.size:
                return float(flips[k + 4] - a) / fs_hz
            break
    return float("nan")


def not_too_fine(
    times_s: tuple[float, ...], fine: NDArray[np.floating], fs_hz: float
) -> tuple[float, ...]:
    """The candidates at ``times_s`` (s) whose 2CD is not under :data:`FINEST_TWO_CYCLE_S`.

    Parameters
    ----------
    times_s : tuple of float
        Crackle candidates, s.
    fine : ndarray, shape (n,)
        The band they were found in, as the detector read it
        (:func:`stetho_signal.crackles.crackle_band`).
    fs_hz : float
        Its sampling rate, Hz.

    Notes
    -----
    A candidate the recording's end cuts before two cycles (NaN) is kept: too little is left
    to say it is not a crackle.
    """
    reach = round(_PEAK_REACH_S * fs_hz)
    kept = []
    for t in times_s:
        i = min(round(t * fs_hz), fine.size - 1)
        low = max(i - reach, 0)
        peak = low + int(np.argmax(np.abs(fine[low : i + reach + 1])))
        if not two_cycle_s(fine, peak, fs_hz) < FINEST_TWO_CYCLE_S:
            kept.append(t)
    return tuple(kept)
