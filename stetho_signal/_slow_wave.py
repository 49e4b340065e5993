"""Crackle candidates that are the sharpest bend of a larger slow wave, not sounds of their own."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SLOW_WAVE_BAND_HZ",
    "SLOW_WAVE_OVER_DEFLECTION",
    "UPPER_OCTAVES_FALL_DB",
    "keeps_upper_octaves",
    "off_slow_waves",
]

# Under 60 Hz a crackle puts little: it lasts under 20 ms (CORSA, Sovijärvi et al., Eur Respir
# Rev 2000), so its lowest component is about 100 Hz. S1 and S2 carry most of their energy at
# 20-150 Hz (DOMAIN.md), chest and limb movements lower still.
SLOW_WAVE_BAND_HZ = (5.0, 60.0)
# A transient whose 5-60 Hz waveform is this many times its own deflection in the lung band is
# the high-frequency edge of a larger slow event. Placed by looking at the 36 ICBHI recordings
# (docs/accuracy.md, eighteenth and twentieth rounds): the three crackle-free recordings it
# unflags (161, 165: children's chests; 104_1b1_Pr) keep their flag from 7.0, 6.9 and 3.5 up;
# the one crackle recording it comes near (174_1p3) loses its flag at 2.4 and under. Chosen on
# the other patients (bounds 2-8), it holds out at Se 0.818, Sp 0.68 (0.909 / 0.56 without).
SLOW_WAVE_OVER_DEFLECTION = 3.0
_DEFLECTION_HALF_S = 0.005  # the deflection's own span: a fine crackle's 2CD is about 5 ms
_SLOW_HALF_S = 0.01  # half a cycle at 50 Hz: the slow wave's excursion around the transient
# The comparison reads the transient's high components against its low ones, so it holds only
# while the chest piece passes the crackle's band. A bell (or a diaphragm held lightly) takes
# 12-24 dB off 500-1000 Hz and keeps what is under 250 Hz: crackles heard through it are small
# deflections on the breath's and the heart's low band. The breath sound itself shows the
# chest piece: how far its 600-1200 Hz octave falls under its 150-300 Hz one. The unchanged
# ICBHI recordings fall -18.4 to 18.8 dB (32 of 36; the other four 26.3-29.1 dB, the one
# flagged, 106_2b1_Pl, on candidates at 0.2-0.8 times), the same through the lung bench's
# bell-like response 23.1-47.0 dB (33 of 36; its crackle flag on 104_1b1_Ll at 28.4 dB, lost
# to the gate without this guard): from 20 dB the gate stands aside and the detector's count
# stands as it was.
UPPER_OCTAVES_FALL_DB = 20.0


def keeps_upper_octaves(octave_energy: NDArray[np.floating]) -> bool:
    """Whether the breath sound's 600-1200 Hz octave lies within 20 dB of its 150-300 Hz one.

    Parameters
    ----------
    octave_energy : ndarray, shape (4, frames)
        Energy of the breath octaves (150-300, 300-600, 600-1200, 1200-1800 Hz) per frame, as
        :func:`stetho_signal.lung.breath_envelopes` takes it before its logarithm.

    Returns
    -------
    bool
        True when the chest piece passed the crackles' band (:data:`UPPER_OCTAVES_FALL_DB`);
        False for a bell-like response, or for no sound at all in the lowest octave.
    """
    lowest, upper = float(np.sum(octave_energy[0])), float(np.sum(octave_energy[2]))
    if lowest <= 0.0:
        return False
    return upper > 0.0 and bool(10.0 * np.log10(lowest / upper) < UPPER_OCTAVES_FALL_DB)


def off_slow_waves(
    times_s: tuple[float, ...],
    slow: NDArray[np.floating],
    band: NDArray[np.floating],
    fs_hz: float,
) -> tuple[float, ...]:
    """The transients at ``times_s`` (s) that are not the bend of a larger slow wave.

    Parameters
    ----------
    times_s : tuple of float
        Crackle candidates, s.
    slow : ndarray, shape (n,)
        The recording's 5-60 Hz band (:data:`SLOW_WAVE_BAND_HZ`) at ``fs_hz``.
    band : ndarray, shape (n,)
        The lung band the candidates were found in, at ``fs_hz``.
    fs_hz : float
        Sampling rate of both, Hz.

    Returns
    -------
    tuple of float
        The candidates whose largest 5-60 Hz excursion within +-10 ms stays under
        :data:`SLOW_WAVE_OVER_DEFLECTION` times their largest lung-band deflection within
        +-5 ms.

    Notes
    -----
    On a child's chest a 5-60 Hz wave (a heart sound the heart analysis does not find as a clear
    heartbeat, a movement) can be 3-18 times the lung band's deflection where the detector
    fires: time-expanded, the trace is a slow swing and the band sees its sharpest bend. Such
    kinks made every detection of two healthy children's recordings and four of another's
    (ICBHI 161, 165, 115; docs/accuracy.md, eighteenth round). The crackle-like detections in
    annotated crackle cycles stand 0.46, 0.81 and 1.44 times (quartiles).
    """
    if not times_s:
        return times_s
    half, wide = round(_DEFLECTION_HALF_S * fs_hz), round(_SLOW_HALF_S * fs_hz)
    kept = [
        _largest(slow, i, wide) < SLOW_WAVE_OVER_DEFLECTION * _largest(band, i, half)
        for i in (round(t * fs_hz) for t in times_s)
    ]
    return tuple(itertools.compress(times_s, kept))


def _largest(x: NDArray[np.floating], i: int, half: int) -> float:
    """The largest magnitude of ``x`` within ``half`` samples of sample ``i``, 0 outside it."""
    part = x[max(i - half, 0) : i + half + 1]
    return float(np.max(np.abs(part))) if part.size else 0.0
