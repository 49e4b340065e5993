"""A second sound shortly after S2 in every beat: the opening snap of mitral stenosis."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from stetho_signal._stats import median

__all__ = ["SNAP_DELAY_S", "SnapMeasure", "snap_after_s2"]

SNAP_DELAY_S = (0.04, 0.12)
"""Where an opening snap follows A2, seconds: the A2-OS interval is 40-120 ms
(cardiologyoutlines.com/a2-os-interval; shorter the tighter the stenosis)."""
_S2_REACH_S = 0.04  # the labelled S2 centre may sit off the murmur band's own peak
_SMOOTH_S = 0.01  # smooths the magnitude's ripple; a snap lasts 20-40 ms
# Two sounds are distinct when the envelope between them falls under half the later one (the
# half-height convention used for every sound's extent here); a snap is a loud sound, at least
# 0.4 of S2 in the murmur band. Over 0.3-0.5 and 0.4-0.6 for these two, no murmur-free
# recording of the shared data (20 Yaseen N, 36 CirCor without murmur, children's split S2
# included) shows a recurring second sound; see docs/accuracy.md.
_SNAP_LEVEL = 0.4
_DIP_LEVEL = 0.5
# A snap is a sound in its own right: as prominent over the recording's median as S1/S2 must
# be (heart._MIN_PROMINENCE; white noise ~1.3). Noise bumps after S2 reach 0.4 of a faint S2
# with a dip between; they stand 1.4-1.7 over the median.
_SNAP_PROMINENCE = 2.5
_NEXT_S1_MARGIN_S = 0.05  # the search must end this far before the next S1's centre
_MIN_S2 = 2


class SnapMeasure(NamedTuple):
    """How often a distinct sound followed S2 within :data:`SNAP_DELAY_S`.

    ``fraction`` of the ``examined`` S2s (0..1); ``delay_s`` is the median S2-to-snap time over
    those followed by one (None when none was).
    """

    fraction: float
    delay_s: float | None
    examined: int


def snap_after_s2(
    magnitude: NDArray[np.floating],
    rate_hz: float,
    s2_s: NDArray[np.float64],
    s1_s: NDArray[np.float64],
) -> SnapMeasure | None:
    """Whether each S2 is followed, 40-120 ms later, by a second, distinct sound.

    Parameters
    ----------
    magnitude : ndarray, shape (n,)
        Magnitude of the murmur band's analytic signal (100-400 Hz, where the snap is louder
        than S1/S2's low components) at ``rate_hz``, covering the recording.
    rate_hz : float
        Its sampling rate, Hz (at least a few hundred: the snap is 40 ms from S2).
    s2_s, s1_s : ndarray
        Labelled S2 and S1 centres, seconds, sorted.

    Returns
    -------
    SnapMeasure or None
        None when fewer than two S2s have a whole search window before the next S1.

    Notes
    -----
    The opening snap is a short, high-pitched sound 40-120 ms after A2, heard in every beat
    at an interval that does not change with breathing; a physiologically split S2 is under
    40 ms apart and widens and narrows with each breath, a third sound (S3) comes later
    (130-180 ms). Per S2: its peak is the loudest sample within 40 ms of its centre; the
    snap is the loudest sample 40-120 ms after that peak, counted when it is a local peak
    inside the window (not the tail of S2 nor the rise of a later sound), at least 0.4 of
    S2's peak and 2.5 times the recording's median, with the envelope between them falling
    under half of it.
    """
    if s2_s.size < _MIN_S2:
        return None
    env = ndimage.uniform_filter1d(
        np.asarray(magnitude, dtype=np.float64), max(1, round(_SMOOTH_S * rate_hz))
    )
    reach = round(_S2_REACH_S * rate_hz)
    first, last = (round(d * rate_hz) for d in SNAP_DELAY_S)
    centres = np.round(s2_s * rate_hz).astype(np.intp)
    search = np.clip(centres[:, None] + np.arange(-reach, reach + 1), 0, env.size - 1)
    peaks = search[np.arange(centres.size), np.argmax(env[search], axis=1)]
    # Each S2 is examined when its window lies inside the recording and before the next S1.
    after = np.searchsorted(s1_s, s2_s, side="right")
    next_s1 = np.append(s1_s, np.inf)[after]
    window_end_s = peaks / rate_hz + SNAP_DELAY_S[1]
    examined = (peaks + last < env.size) & (window_end_s <= next_s1 - _NEXT_S1_MARGIN_S)
    if np.count_nonzero(examined) < _MIN_S2:
        return None
    peaks = peaks[examined]
    spans = env[peaks[:, None] + np.arange(last + 1)]  # the S2 peak, then up to 120 ms on
    snap = first + np.argmax(spans[:, first:], axis=1)
    rows = np.arange(peaks.size)
    level = spans[rows, snap]
    inside = (snap > first) & (snap < last)
    before = np.arange(last + 1)[None, :] <= snap[:, None]
    dip = np.where(before, spans, np.inf).min(axis=1)
    found = inside & (level >= _SNAP_LEVEL * spans[:, 0]) & (dip <= _DIP_LEVEL * level)
    if found.any():  # the median of the whole envelope only when a candidate is left
        found &= level >= _SNAP_PROMINENCE * median(env)
    delays = snap[found] / rate_hz
    return SnapMeasure(
        fraction=round(float(np.mean(found)), 3),
        delay_s=round(median(delays), 3) if delays.size else None,
        examined=int(peaks.size),
    )
