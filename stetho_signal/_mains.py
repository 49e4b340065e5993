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

Only the harmonics that carry hum are taken out (:func:`hum_lines`), and each one's phasor is
measured where its band is quiet. A notch a hertz wide answers a loud sound with a tone a
second long at its frequency: taken out at every multiple of 50 Hz to 1 kHz with a plain
mean, the heart sounds and clicks of real lung recordings left tones at 550, 600 or 1000 Hz
between them. Under hum 10 dB down, 8 of 36 ICBHI recordings changed their wheeze flag (7
new, on recordings annotated without on 5) and 5 lost their crackle flag; now none does
(docs/accuracy.md, thirteenth round, lungs).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAINS_HZ", "find_mains", "hum_lines", "without_hum"]

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
LINE_OVER_MEDIAN = 20.0
"""A found hum's harmonic is taken out when its line stands this far over the median of its
neighbours (1-4 Hz away) on either side: where there is no line, the largest of the 33-161
bins searched (+-0.15 Hz or 0.4 %) over that median is about 6-7 (exponential bins: 20 is
reached once in 6,000-30,000 harmonics). The real hum of ICBHI 130_3p2 stands 142-1392 times
over at its odd harmonics, 3-18 at its even ones (docs/accuracy.md, thirteenth round, lungs)."""
BLOCK_S = 0.1
"""A harmonic's phasor is measured per block this long: five periods of 50 Hz and six of 60 Hz,
so that in each block the other harmonics of the hum turn whole cycles and add nothing."""
ROUNDS = 2
"""Reweightings of each window's blocks (:func:`_steady_phasors`)."""
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


def hum_lines(
    bins: NDArray[np.complexfloating],
    fs_hz: float,
    length: int,
    fundamentals: tuple[float, ...],
) -> tuple[float, ...]:
    """The harmonics of each found hum that carry it, Hz: the ones to take out.

    Parameters
    ----------
    bins : ndarray of complex
        The ``length``-point real transform of the recording at ``fs_hz``, as for
        :func:`find_mains`.
    fs_hz : float
        Sampling rate, Hz.
    length : int
        Transform length.
    fundamentals : tuple of float
        The hums found (:func:`find_mains`), Hz.

    Returns
    -------
    tuple of float
        Each harmonic ``k * f`` up to :data:`HIGHEST_HZ` whose largest bin within
        :data:`DRIFT` of it stands over the median of its neighbours' on either side (1-4 Hz
        away) by :data:`LINE_OVER_MEDIAN`, in increasing order, no two within
        1/:data:`FOLLOW_S` of each other (a 60 Hz hum's fifth harmonic is a 50 Hz hum's
        sixth).

    Notes
    -----
    A hum found at one harmonic (over the largest neighbour, :func:`find_mains`) usually shows
    at others, less clearly: 9979_TV's hum under a CirCor heart stood out only at 250 Hz, its
    50 Hz line 4.5 times its largest neighbour. Over the median of the neighbours a line is
    told from a recording's own sound at any harmonic; the others are left as they are.
    """
    _check_rate(fs_hz)
    per_hz = length / fs_hz
    near, far = (max(1, round(h * per_hz)) for h in NEIGHBOURS_HZ)
    side = np.arange(near, far + 1, dtype=np.intp)
    found: list[float] = []
    for f in fundamentals:
        for k in range(1, int(HIGHEST_HZ // f) + 1):
            centre = round(k * f * per_hz)
            half = max(1, round(max(MIN_SEARCH_HZ, DRIFT * k * f) * per_hz))
            line = float(np.max(np.square(np.abs(bins[centre - half : centre + half + 1]))))
            # Each side's median, the larger: at a steep edge of a sound's band one side holds
            # next to nothing, and a line must stand over the other side too.
            level = max(
                float(np.median(np.square(np.abs(bins[centre - side])))),
                float(np.median(np.square(np.abs(bins[centre + side])))),
            )
            if line > LINE_OVER_MEDIAN * max(level, float(np.finfo(np.float32).tiny)):
                found.append(k * f)
    lines: list[float] = []
    for hz in sorted(found):
        if not lines or hz - lines[-1] >= 1.0 / FOLLOW_S:
            lines.append(hz)
    return tuple(lines)


def without_hum(
    x: NDArray[np.float64], fs_hz: float, lines_hz: tuple[float, ...]
) -> NDArray[np.float64]:
    """``x`` less the steady tone at each of ``lines_hz`` (:func:`hum_lines`).

    Notes
    -----
    Each line is brought to 0 Hz (``x`` times ``exp(-2 pi i f t)``) and averaged per block of
    :data:`BLOCK_S`; its tone, the phasor of each window of :data:`FOLLOW_S` (fewer blocks at
    the ends, never zeros), is subtracted: a notch about 1/``FOLLOW_S`` wide that follows the
    grid's slow drift and has no transient at the recording's ends.

    A plain mean over the window would be the tone plus everything else in the recording
    within that notch, and a loud sound (a heart sound, a click, a crackle) holds some of it:
    subtracted, it leaves a tone a second long around that sound. The hum's phasor is the
    same in every block of a window, a loud sound's is not, so each window's phasor is an
    M-estimate of its blocks' (Cauchy weights, the scale the median departure of the blocks
    of the recording, :data:`ROUNDS` rounds from the plain mean): a block that departs from
    it counts less. The hum goes; a sound keeps what lies at the line in its own blocks.
    """
    _check_rate(fs_hz)
    if not lines_hz:
        return x
    n = x.size
    size = min(max(1, round(BLOCK_S * fs_hz)), n)
    count = -(-n // size)
    # Whole blocks only: the last one ends with the recording and overlaps the one before.
    starts = np.minimum(np.arange(count) * size, n - size)
    centres = starts + (size - 1) / 2.0
    at = np.arange(n)
    span = max(1, round(FOLLOW_S / BLOCK_S))
    out = x.copy()
    for hz in lines_hz:
        turn = np.exp(-2j * np.pi * hz / fs_hz * at)
        sums = np.concatenate(([0.0], np.cumsum(x * turn)))
        phasors = _steady_phasors((sums[starts + size] - sums[starts]) / size, span)
        phasor = np.interp(at, centres, phasors.real) + 1j * np.interp(at, centres, phasors.imag)
        out -= 2.0 * np.real(phasor * np.conj(turn))
    return out


def _steady_phasors(blocks: NDArray[np.complex128], span: int) -> NDArray[np.complex128]:
    """Each block's window (``span`` blocks around it, fewer at the ends): the M-estimate of
    its blocks' phasors, Cauchy weights ``1 / (1 + r**2 / c**2)`` with ``r`` a block's
    departure from the window's estimate and ``c**2`` the median ``r**2`` of the recording."""
    count = blocks.size
    at = np.arange(count)
    lo = np.maximum(at - span // 2, 0)
    hi = np.minimum(at - span // 2 + span, count)

    def windowed(weights: NDArray[np.float64]) -> NDArray[np.complex128]:
        total = np.concatenate(([0.0], np.cumsum(weights)))
        weighted = np.concatenate(([0.0], np.cumsum(weights * blocks)))
        mean: NDArray[np.complex128] = (weighted[hi] - weighted[lo]) / (total[hi] - total[lo])
        return mean

    estimate = windowed(np.ones(count))
    for _ in range(ROUNDS):
        departure = np.square(np.abs(blocks - estimate))
        scale = max(float(np.median(departure)), np.finfo(np.float64).tiny)
        estimate = windowed(1.0 / (1.0 + departure / scale))
    return estimate


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
    centre = np.array([round(f * k * per_hz) for f, k in harmonics], dtype=np.intp)
    half = np.array(
        [max(1, round(max(MIN_SEARCH_HZ, DRIFT * f * k) * per_hz)) for f, k in harmonics],
        dtype=np.intp,
    )
    # Rows padded to one width by repeating their last bin: the maximum is the same. Built in
    # one expression (a cold pass meets a new length every other recording).
    steps = np.minimum(np.arange(2 * int(np.max(half)) + 1), 2 * half[:, None])
    near, far = (max(1, round(h * per_hz)) for h in NEIGHBOURS_HZ)
    side = np.arange(near, far + 1, dtype=np.intp)
    table = _Table(
        search=(centre - half)[:, None] + steps,
        ring=np.concatenate([-side[::-1], side]),
        mains=np.array([f for f, _ in harmonics], dtype=np.float64),
        order=np.array([k for _, k in harmonics], dtype=np.intp),
    )
    for array in table:
        array.flags.writeable = False  # shared by the cache
    return table
