"""Crackle candidates in a handling episode: a chest piece rubbed or moved on the skin."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["HANDLING_JUMP_DB", "handling_episodes", "off_handling"]

# Pre-registered (docs/accuracy.md, twenty-seventh round), none placed on the recordings.
# Three candidates: the crackle flag's own count. 0.1 s: the detector's background window
# (crackles._CRACKLE_BACKGROUND_S); closer than that, each transient stands inside the others'
# background, so the detector cannot see them as separate events.
_MIN_CANDIDATES = 3
_GAP_S = 0.1
# Breath sound power grows about as the square of airflow (Gavriely & Cugell, J Appl Physiol
# 1996): 6 dB is the flow doubling within a quarter second and halving again in the next.
HANDLING_JUMP_DB = 6.0
_BLOCK_S = 0.01  # the detector's own level step (crackles._CRACKLE_BACKGROUND_BLOCKS)
_MARGIN_S = 0.05  # the episode's level is read from this far before its first candidate
_SIDE_S = 0.25  # each neighbour the episode's level is compared with


def handling_episodes(
    candidates_s: tuple[float, ...], fine: NDArray[np.floating], fs_hz: float
) -> list[tuple[float, float]]:
    """Spans (first, last candidate, s) of the detector's bursts whose level jumps.

    Parameters
    ----------
    candidates_s : tuple of float
        Every candidate the crackle detector found, before any gate, s, in time order.
    fine : ndarray, shape (n,)
        The band they were found in (:func:`stetho_signal.crackles.crackle_band`).
    fs_hz : float
        Its sampling rate, Hz.

    Returns
    -------
    list of (float, float)
        One span per run of at least three candidates, each within 0.1 s of the previous, whose
        level (50 ms either side included) stands :data:`HANDLING_JUMP_DB` or more over both
        the 0.25 s before and the 0.25 s after it.

    Notes
    -----
    A level is the median of the stretch's 10 ms RMS blocks: the transients themselves fill a
    few blocks and do not raise it, the continuous sound of a chest piece sliding or rubbing
    on the skin does. A run whose neighbour the recording cuts is not judged.
    """
    episodes = []
    for run in _runs(candidates_s):
        if len(run) < _MIN_CANDIDATES:
            continue
        first, last = run[0] - _MARGIN_S, run[-1] + _MARGIN_S
        level = _level(fine, fs_hz, first, last)
        before = _level(fine, fs_hz, first - _SIDE_S, first)
        after = _level(fine, fs_hz, last, last + _SIDE_S)
        if level is None or before is None or after is None:
            continue
        if level >= 10.0 ** (HANDLING_JUMP_DB / 20.0) * max(before, after):
            episodes.append((run[0], run[-1]))
    return episodes


def off_handling(
    times_s: tuple[float, ...],
    candidates_s: tuple[float, ...],
    fine: NDArray[np.floating],
    fs_hz: float,
) -> tuple[float, ...]:
    """The crackles at ``times_s`` (s) outside every :func:`handling_episodes` span of
    ``candidates_s``, the detector's candidates before any gate."""
    if not times_s:
        return times_s
    episodes = handling_episodes(candidates_s, fine, fs_hz)
    return tuple(t for t in times_s if not any(a <= t <= b for a, b in episodes))


def _runs(times_s: tuple[float, ...]) -> list[list[float]]:
    """``times_s`` split where two successive times are more than 0.1 s apart."""
    runs: list[list[float]] = []
    for t in times_s:
        if runs and t - runs[-1][-1] <= _GAP_S:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def _level(fine: NDArray[np.floating], fs_hz: float, start_s: float, end_s: float) -> float | None:
    """Median RMS of the 10 ms blocks from ``start_s`` to ``end_s``; None when the recording
    holds no whole block there."""
    block = max(1, round(_BLOCK_S * fs_hz))
    a, b = round(start_s * fs_hz), round(end_s * fs_hz)
    count = (b - a) // block
    if a < 0 or b > fine.size or count < 1:
        return None
    blocks = np.asarray(fine[a : a + count * block], dtype=np.float64).reshape(count, block)
    return float(np.median(np.sqrt(np.mean(np.square(blocks), axis=1))))
