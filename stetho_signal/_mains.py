"""Mains hum found in a recording's spectrum and taken out of its samples.

A stethoscope on a USB sound card beside mains wiring, or a motor on the mains, adds hum: a
tone at 50 Hz (60 Hz in the Americas) and its harmonics, steady over the whole recording. At
50-250 Hz it sits inside the heart-sound band; 10 dB under a heart recording's power it moved
5 of 65 CirCor rate reads, two of them to a wrong ``urgent`` (docs/accuracy.md, twelfth
round). No heart or lung sound holds a tone that steady: over a recording of seconds its
power falls in a fraction of a hertz at a multiple of the mains frequency, and the bin there
stands far above every bin near it (:func:`find_mains`).

It is taken out in the samples, not by clearing bins (:func:`without_hum`): each harmonic is
followed as a slowly turning phasor, its mean over a second, and subtracted. Clearing bins
leaves the hum's leakage, which the transform's window puts at the recording's ends: a tone
that starts and stops there, as a wheeze does (a simulated breath under hum was flagged
``lung_wheeze`` that way, and not with the hum left in).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAINS_HZ", "find_mains", "without_hum"]

MAINS_HZ = (50.0, 60.0)
HIGHEST_HZ = 1000.0
"""Harmonics are taken out up to here: the heart's high band (300-1000 Hz) ends there."""
SEARCHED_HZ = 500.0
"""Harmonics are looked for up to here: a hum's are clearest in its first few (both real hums
of the shared data stand out at 50 or 150 Hz), and each one searched costs time."""
DRIFT = 0.004
"""A harmonic is looked for within this share of its frequency: grids hold 50 Hz within
0.2 Hz (0.4 %) outside emergencies (ENTSO-E, Continental Europe operation handbook, P1)."""
MIN_SEARCH_HZ = 0.15
NEIGHBOURS_HZ = (1.0, 4.0)
"""The line is compared with the largest bin from 1 to 4 Hz away on both sides: a hum stands
over all of them; a heart's harmonic at that frequency does not, since a heart puts a line at
every multiple of its rate (0.5-4 Hz apart) and the ones beside it are as strong."""
LINE_OVER_NEIGHBOURS = 20.0
"""13 dB over the largest neighbour. The 146 heart recordings of the shared data reach at most
10.6 at any mains harmonic, the simulator's exactly periodic hearts and breaths 2.5; CirCor with
50 Hz hum 10 dB under it reaches it in nine of ten recordings (docs/accuracy.md, twelfth
round)."""
MIN_RATE_HZ = 2.0 * (HIGHEST_HZ + 1.0)
"""Hum is found and taken out at rates over twice :data:`HIGHEST_HZ` (the analysis runs at
4 kHz): every harmonic it names is then below the Nyquist frequency."""
_SHARED_HZ = 300.0
FOLLOW_S = 1.0
"""A harmonic's tone is its mean over this long: short enough to follow the grid's drift
(well under 0.1 Hz over a recording), long enough to leave a heart's beat-to-beat sound in."""


def find_mains(bins: NDArray[np.complexfloating], fs_hz: float, length: int) -> tuple[float, ...]:
    """The mains frequencies whose hum is in a recording, as measured, Hz.

    Parameters
    ----------
    bins : ndarray of complex
        The ``length``-point real transform of the recording (any padding) at ``fs_hz``.
    fs_hz : float
        Sampling rate, Hz.
    length : int
        Transform length.

    Returns
    -------
    tuple of float
        One fundamental per mains frequency (:data:`MAINS_HZ`) one of whose harmonics stands
        over its neighbours by :data:`LINE_OVER_NEIGHBOURS`: the clearest harmonic's peak over
        its order. Empty for a recording without hum.
    """
    _check_rate(fs_hz)
    return tuple(_hum(bins, fs_hz, length))


def without_hum(
    x: NDArray[np.float64], fs_hz: float, fundamentals: tuple[float, ...]
) -> NDArray[np.float64]:
    """``x`` less every harmonic of each fundamental up to :data:`HIGHEST_HZ`.

    Notes
    -----
    Each harmonic is brought to 0 Hz (``x`` times ``exp(-2 pi i k f t)``), averaged over
    :data:`FOLLOW_S` (fewer samples at the ends, never zeros), and its tone subtracted: a
    notch about 1/``FOLLOW_S`` wide that follows the grid's slow drift and has no transient at
    the recording's ends. A heart or breath sound loses only what lies within that width of a
    mains harmonic.
    """
    _check_rate(fs_hz)
    if not fundamentals:
        return x
    n = x.size
    t = np.arange(n) / fs_hz
    half = round(FOLLOW_S * fs_hz / 2)
    starts = np.maximum(np.arange(n) - half, 0)
    ends = np.minimum(np.arange(n) + half + 1, n)
    out = x.copy()
    for f in fundamentals:
        for k in range(1, int(HIGHEST_HZ // f) + 1):
            turn = np.exp(-2j * np.pi * k * f * t)
            sums = np.concatenate(([0.0], np.cumsum(x * turn)))
            phasor = (sums[ends] - sums[starts]) / (ends - starts)
            out -= 2.0 * np.real(phasor * np.conj(turn))
    return out


def _check_rate(fs_hz: float) -> None:
    if not fs_hz >= MIN_RATE_HZ:
        raise ValueError(f"mains hum is looked for at {MIN_RATE_HZ:.0f} Hz or more, not {fs_hz} Hz")


def _hum(bins: NDArray[np.complexfloating], fs_hz: float, length: int) -> list[float]:
    """The measured fundamental of each hum whose clearest harmonic stands over its
    neighbours by :data:`LINE_OVER_NEIGHBOURS`."""
    table = _windows(fs_hz, length)
    power = np.square(np.abs(bins[table.search]))
    rows = np.arange(table.search.shape[0])
    at = np.argmax(power, axis=1)
    peak = table.search[rows, at]
    neighbours = np.square(np.abs(bins[peak[:, None] + table.ring]))
    over = power[rows, at] / np.maximum(np.max(neighbours, axis=1), np.finfo(np.float32).tiny)
    out = []
    for mains in MAINS_HZ:
        mine = np.flatnonzero(table.mains == mains)
        best = mine[np.argmax(over[mine])]
        if over[best] > LINE_OVER_NEIGHBOURS:
            out.append(float(peak[best]) * fs_hz / length / float(table.order[best]))
    return out


class _Table(NamedTuple):
    search: NDArray[np.intp]  # rows of bins searched per harmonic
    ring: NDArray[np.intp]  # offsets of the neighbours around a peak
    mains: NDArray[np.float64]  # each row's nominal mains frequency
    order: NDArray[np.intp]  # and harmonic order


@functools.lru_cache(maxsize=16)
def _windows(fs_hz: float, length: int) -> _Table:
    """The bins searched for each harmonic of both mains frequencies, and the neighbours'
    offsets: per transform length, the same for every recording of that length."""
    per_hz = length / fs_hz
    # Not the multiples of 300 Hz: both grids' hums have them, and a 60 Hz hum's fifth
    # harmonic would read as a 50 Hz hum's sixth.
    harmonics = [
        (f, k)
        for f in MAINS_HZ
        for k in range(1, int(SEARCHED_HZ // f) + 1)
        if (f * k) % _SHARED_HZ
    ]
    rows = []
    for f, k in harmonics:
        centre = round(f * k * per_hz)
        half = max(1, round(max(MIN_SEARCH_HZ, DRIFT * f * k) * per_hz))
        rows.append(np.arange(centre - half, centre + half + 1))
    # Rows padded to one width by repeating their last bin: the maximum is the same.
    width = max(r.size for r in rows)
    near, far = (max(1, round(h * per_hz)) for h in NEIGHBOURS_HZ)
    side = np.arange(near, far + 1, dtype=np.intp)
    table = _Table(
        search=np.array([np.pad(r, (0, width - r.size), mode="edge") for r in rows], dtype=np.intp),
        ring=np.concatenate([-side[::-1], side]),
        mains=np.array([f for f, _ in harmonics], dtype=np.float64),
        order=np.array([k for _, k in harmonics], dtype=np.intp),
    )
    for array in table:
        array.flags.writeable = False  # shared by the cache
    return table
