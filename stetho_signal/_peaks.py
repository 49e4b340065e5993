"""Candidate heart sounds: the envelope's local maxima, scored against the typical sound, and
the cycle models read off the loud ones alone (see :mod:`stetho_signal.segmentation`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_signal._sound_band import spectral_centroids_hz
from stetho_signal._stats import median, quantile
from stetho_signal.envelope import CycleEstimate, expected_systole_s

_MIN_SOUND_SPACING_S = 0.08  # S2 to the next S1 is ~90 ms at 220 bpm
_CANDIDATE_FLOOR = 0.05  # peaks under 5 % of the loudest are noise, never worth a link
_TYPICAL_QUANTILE = 0.9
PEAK_FLOOR = 0.3  # a peak below 30 % of the typical heart sound earns nothing
LOUD_LEVEL = 0.5  # a clear sound: at least half the typical heart sound
_LOUD_REWARD = 2.0 * (LOUD_LEVEL - PEAK_FLOOR)
# A peak no higher than noise alone reaches: the envelope of white noise has 90 % of its peaks
# under 1.9x its lower quartile (measured on this envelope); between sounds, even at 220 bpm,
# the lower quartile is background.
_BACKGROUND_QUANTILE = 0.25
_NOISE_PEAK_LEVEL = 2.0
# A sound is low-pitched when its share of the pitch band is under a tenth of the share of the
# recording's highest-pitched sounds (their 90th percentile, most often the S2s): an order of
# magnitude, where S2s of real recordings (CirCor, Springer's example) reach down to a fifth.
_LOW_PITCH_SHARE = 0.1
# The pitch band's own peak may lie off the sound's peak: the brief high-pitched A2 of a split
# S2 comes up to ~40 ms before P2, so the band's highest level within +-20 ms counts.
_PITCH_REACH_S = 0.02


@dataclass(frozen=True)
class Candidates:
    times_s: NDArray[np.float64]
    reward: NDArray[np.float64]
    weak: NDArray[np.bool_]  # no higher than a peak of the background noise
    low: NDArray[np.bool_]  # low-pitched: a third or fourth heart sound rather than an S2
    pitch: NDArray[np.float64] | None = None  # share of the pitch band (None: not measured)
    step_s: float = 0.0  # the times' grid step (0: exact times)
    # The heart band's spectral centroid (Hz) at given times, seconds (None: no band given); S2
    # the higher. Measured only for the chains that need it (a fast one, see segmentation).
    centroids: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None


def sound_candidates(
    env: NDArray[np.float64],
    fs_hz: float,
    pitch_env: NDArray[np.float64] | None = None,
    band: tuple[NDArray[np.float32], float] | None = None,
) -> Candidates:
    """The envelope's local maxima, scored against the typical heart sound: the one set of
    candidates every chain of a recording is searched over (each cycle model, and the search
    again at twice the rate the half-rate guard found, :mod:`stetho_signal.segmentation`).

    Parameters
    ----------
    env : ndarray, shape (m,)
        Heart-band envelope (see :func:`stetho_signal.envelope.heart_envelope`).
    fs_hz : float
        Envelope sampling rate in Hz.
    pitch_env : ndarray, shape (m,), optional
        Envelope of :data:`~stetho_signal.segmentation.PITCH_BAND_HZ` on the same time base:
        each candidate's share of it (``pitch``) and whether it is low-pitched (``low``).
    band : (ndarray, float), optional
        The recording in the heart band and its rate in Hz: each candidate's spectral centroid,
        read on demand (``centroids``).

    Returns
    -------
    Candidates
        Peak times in seconds, on a grid of ``1 / fs_hz`` (none when ``env`` has no peak).
    """
    distance = max(1, int(_MIN_SOUND_SPACING_S * fs_hz))
    peaks = dsp.find_peaks(env, distance=distance)
    if peaks.size == 0:
        none = np.zeros(0, dtype=bool)
        return Candidates(np.zeros(0), np.zeros(0), none, none)
    peaks = peaks[env[peaks] >= _CANDIDATE_FLOOR * float(np.max(env[peaks]))]
    heights = env[peaks]
    # Typical heart-sound height: a high quantile of all peaks, independent of the cycle being
    # tried so that chains under different cycle models score on the same scale.
    typical = quantile(heights, _TYPICAL_QUANTILE)
    relative = np.minimum(heights / max(typical, 1e-12), 1.5)
    weak = heights < _NOISE_PEAK_LEVEL * quantile(env, _BACKGROUND_QUANTILE)
    # A peak no higher than noise alone reaches is no evidence of a sound: it may carry a chain
    # (a missed sound costs a skip anyway) but earns nothing. Rewarded, the noise peaks of a
    # slow heart's long diastole paid a chain at three times its rate (docs/accuracy.md,
    # fourteenth round).
    reward = 2.0 * (relative - PEAK_FLOOR)
    reward = np.where(weak, np.minimum(reward, 0.0), reward)
    low = np.zeros(peaks.size, dtype=bool)
    sounds = ~weak & (relative >= PEAK_FLOOR)
    share = None
    if pitch_env is not None:
        reach = round(_PITCH_REACH_S * fs_hz)
        near = np.clip(peaks[:, None] + np.arange(-reach, reach + 1), 0, env.size - 1)
        share = np.max(pitch_env[near], axis=1) / np.maximum(heights, 1e-12)
        if np.sum(sounds) >= 3:
            typical_share = quantile(share[sounds], _TYPICAL_QUANTILE)
            low = sounds & (share < _LOW_PITCH_SHARE * typical_share)
    centroids = None if band is None else functools.partial(spectral_centroids_hz, *band)
    return Candidates(
        peaks / fs_hz, reward, weak, low, pitch=share, step_s=1.0 / fs_hz, centroids=centroids
    )


def cycle_from_sounds(cands: Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    """Cycle from the loud sounds alone, blind to the autocorrelation (irregular rhythms).

    When every loud peak is a heart sound, the sounds alternate S1, S2, S1, ... so the time
    from one loud sound to the next but one is a whole cycle whatever the phase; its median
    holds against a minority of missed or extra sounds. An irregular rhythm smears the
    envelope's autocorrelation (its best lag may be two or three beats) but not this.
    """
    times = cands.times_s[cands.reward >= _LOUD_REWARD]
    if times.size < 5:
        return None
    gaps = np.diff(times)
    period = median(times[2:] - times[:-2])
    shorter = np.minimum(gaps[:-1], gaps[1:])
    systole = min(median(shorter), 0.5 * period)
    return CycleEstimate(period_s=period, systole_s=systole, periodicity=cycle.periodicity)


def gallop_cycle(cands: Candidates, cycle: CycleEstimate) -> CycleEstimate | None:
    """Cycle of a triple rhythm: three loud sounds a beat (S1, S2 and a loud S3 or S4).

    Then the time from one loud sound to the third after it is a whole cycle, steadier than the
    time to the second after it (which takes turns between S1-S3, S2-S1 and S3-S2); in a
    rhythm of two sounds a beat it is the other way round, and no model is offered.
    """
    times = cands.times_s[cands.reward >= _LOUD_REWARD]
    if times.size < 7:
        return None
    spans2, spans3 = times[2:] - times[:-2], times[3:] - times[:-3]
    period = median(spans3)
    if _relative_spread(spans3) >= _relative_spread(spans2):
        return None
    # Weissler's systole is always under half the cycle (expected_systole_s).
    return CycleEstimate(period, expected_systole_s(period), cycle.periodicity)


def _relative_spread(x: NDArray[np.float64]) -> float:
    """Median absolute deviation over the median."""
    centre = median(x)
    return median(np.abs(x - centre)) / max(centre, 1e-12)
