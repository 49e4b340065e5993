"""Recording quality: is this recording worth a doctor's time, and if not, what should change.

Each check maps one measure to a sub-score in 0..1 with a linear ramp between a value that is
clearly bad and one that is clearly fine; the score is the lowest sub-score, so the report
names the check that sank it. Measures after Springer et al. 2016 (J Med Eng Technol) and
Tang et al. 2021: periodicity of the envelope, plus clipping, level and spectral flatness, and
for heart recordings the thumps of a chest piece that slips or is lifted (handling noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stetho_signal._masks import run_lengths
from stetho_signal._problems import PROBLEM_TEXT as PROBLEM_TEXT  # also named here
from stetho_signal._stats import median

__all__ = [
    "FAINT_BELOW_DBFS",
    "HANDLING_BAND_HZ",
    "HANDLING_RATE_HZ",
    "Quality",
    "QualityMeasures",
    "QualityScores",
    "assess_quality",
    "grade_quality",
    "handling_burst_s",
]

# (bad, good) ends of each ramp.
_CLIPPED_FRACTION = (0.01, 0.0005)  # 1 % of samples on flat tops is audibly distorted
# The usual level of a band in contact: over it the level alone shows sound; under it the sound
# must also be clear (below), or the recording is "no signal".
_LEVEL_DBFS = (-80.0, -65.0)
FAINT_BELOW_DBFS = _LEVEL_DBFS[1]
"""A band level under this is faint: the nurse is told to raise the gain, even when the
sound is clear enough to analyse (see :func:`assess_quality`)."""
# Rounding a recording to 16 bits leaves white noise at -101 dBFS, -102 dBFS in the lung band
# at the analysis's 4 kHz and less from a faster device (-112 dBFS from 44.1 kHz). A band at
# least 10 dB over it holds sound, not rounding, and is judged by that sound when it is clear.
_FLOOR_DBFS = (-100.0, -90.0)
# In the lung band white noise reaches ~0.99 while breath sounds on contact stay below ~0.5
# (ICBHI: 0.001-0.5). Heart-band flatness of real recordings is too close to that of white
# noise (CirCor: 0.74-0.93) to tell them apart, so heart recordings use periodicity instead.
_FLATNESS = (0.9, 0.6)
_PERIODICITY = (0.1, 0.3)  # autocorrelation at the beat period
# How much a lung band swells with the breathing, dB (lung.breath_swell_db): steady noise
# spreads under 2 dB, ICBHI breath sounds 11.5 dB and more (all but one, 2.5 dB, crackles in
# every cycle and none found). Room noise fills the pauses between breaths: pink noise 10 dB
# under the recording brings 11 of the 36 under 3 dB, and hides crackles found without it.
_BREATH_SWELL_DB = (3.0, 6.0)
# How far the loudest quarter of the whole lung band stands over its floor, dB
# (lung.band_over_floor_db): a steady floor raises the crackle detector's bound there by 3 dB at
# 3 (over three quarters of the crackles it finds in a quiet room lost) and 1.3 dB at 6 (under
# half). ICBHI unchanged: 7.4 dB and more but 130_3p2 (1.1, its breath unheard); under pink
# room noise 10 dB down, 0.5-11.2 dB, and the annotated crackle flags the noise hid 0.6-6.4.
_BAND_OVER_FLOOR_DB = (3.0, 6.0)
# Heart sounds over the envelope median: white noise ~1.2-1.4, real CirCor recordings 2-4. An
# irregular rhythm (atrial fibrillation) has little periodicity but prominent sounds, so either
# measure is enough to show a heartbeat.
_PROMINENCE = (1.5, 2.5)
# Longest burst of sub-audible (5-25 Hz) energy far above its usual level, in seconds. Heart
# sounds and their low-frequency tails last 0.1-0.3 s (real CirCor and Yaseen recordings:
# 0-0.23 s; simulated rhythms at 30-220/min: up to 0.29 s); lifting or sliding the chest piece
# thumps for 0.5 s or more (the simulator's slipping chest piece: 0.75-1.2 s), and the beats
# left between thumps were read at half the rate, a false urgent bradycardia.
_HANDLING_BURST_S = (0.6, 0.4)
HANDLING_BAND_HZ = (5.0, 25.0)
"""Thumps of a slipping or lifted chest piece: below the heart sounds, at 5-25 Hz."""
HANDLING_RATE_HZ = 200.0
"""Rate of the handling band: four times its top edge, two samples per 10 ms frame."""
_HANDLING_FRAME_S = 0.01
_HANDLING_WINDOW_FRAMES = 10  # 100 ms moving RMS: a heart sound spreads to ~0.1-0.2 s
_HANDLING_OVER_MEDIAN = 4.0


@dataclass(frozen=True)
class QualityMeasures:
    """Raw quality measures (units in the names).

    ``mains_hum_hz`` holds the fundamental of each mains hum found in the recording and taken
    out of its samples before every other measure (:mod:`stetho_signal._mains`); empty without
    hum. It is reported, never scored: what was taken out no longer sinks the recording, but
    the nurse can move the cable away from what hums and the doctor hears the hum in the audio.
    """

    clipped_fraction: float
    level_dbfs: float
    spectral_flatness: float | None
    periodicity: float | None
    sound_prominence: float | None
    handling_burst_s: float | None = None
    mains_hum_hz: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not all(math.isfinite(hz) and hz > 0.0 for hz in self.mains_hum_hz):
            raise ValueError(
                f"mains hum frequencies must be finite and above 0 Hz, got {self.mains_hum_hz!r}"
            )


@dataclass(frozen=True)
class Quality:
    """Quality verdict: score 0..1, whether it is acceptable, and what went wrong."""

    score: float
    acceptable: bool
    problems: tuple[str, ...]
    problem_codes: tuple[str, ...]
    measures: QualityMeasures

    @property
    def faint(self) -> bool:
        """The band is under the usual level (:data:`FAINT_BELOW_DBFS`), yet holds sound: a
        stethoscope at low gain. Never a problem: the nurse is told to raise the gain next
        time, and the doctor to turn the volume up. A band with no sound says ``no_signal``."""
        return self.measures.level_dbfs < FAINT_BELOW_DBFS and "no_signal" not in self.problem_codes


@dataclass(frozen=True)
class QualityScores:
    """Sub-scores in 0..1 by problem code (see :data:`PROBLEM_TEXT`), before any threshold."""

    subscores: dict[str, float]
    measures: QualityMeasures

    @property
    def score(self) -> float:
        """The lowest sub-score: the check that sank the recording names the problem."""
        return min(self.subscores.values())


def grade_quality(scores: QualityScores, min_score: float) -> Quality:
    """The verdict: sub-scores below ``min_score`` are problems, and any makes it unacceptable."""
    codes = tuple(code for code, value in scores.subscores.items() if value < min_score)
    return Quality(
        score=round(scores.score, 3),
        acceptable=scores.score >= min_score,
        problems=tuple(PROBLEM_TEXT[c] for c in codes),
        problem_codes=codes,
        measures=scores.measures,
    )


def _ramp(value: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either direction)."""
    position = (value - bad) / (good - bad)
    return float(min(max(position, 0.0), 1.0))


def assess_quality(
    band: NDArray[np.floating],
    clipped_fraction: float,
    heartbeat: tuple[float, float] | None,
    flatness: float | None,
    handling: float | None = None,
    mains_hum_hz: tuple[float, ...] = (),
    breath_swell_db: float | None = None,
    band_over_floor_db: float | None = None,
) -> QualityScores:
    """Score a recording from its band-passed samples.

    Parameters
    ----------
    band : ndarray, shape (n,)
        Band-passed samples (heart or lung band), full scale 1.0.
    clipped_fraction : float
        Fraction of input samples on flat tops at the peak.
    heartbeat : (float, float) or None
        For heart recordings, the envelope autocorrelation at the beat period and the S1/S2
        prominence (see :class:`~stetho_signal.heart.HeartResult`); None for lung ones.
    flatness : float or None
        Spectral flatness of the lung band (see :class:`~stetho_signal.lung.LungResult`);
        None for heart recordings.
    handling : float or None
        Longest handling-noise burst in seconds (see :func:`handling_burst_s`); None to skip
        the check (lung recordings).
    mains_hum_hz : tuple of float, optional
        Fundamentals of the mains hum taken out of ``band`` before this call, Hz
        (:meth:`~stetho_signal.bands.Spectrum.mains_hum`). Kept in the measures only: hum
        taken out changes no sub-score.
    breath_swell_db : float or None
        For lung recordings, how much the breath sound swells (see
        :func:`~stetho_signal.lung.breath_swell_db`); None for heart ones.
    band_over_floor_db : float or None
        For lung recordings, how far the loudest quarter of the lung band stands over its
        floor (see :func:`~stetho_signal.lung.band_over_floor_db`); None for heart ones, and
        for lungs in which crackles or a wheeze were heard through it (the analysis sends no
        finding back for the noise).

    Notes
    -----
    A band under the usual level (:data:`FAINT_BELOW_DBFS`) still counts as sound when it is
    clear: a heartbeat for a heart recording, a coloured band that swells with the breathing
    for a lung one, and at least 10 dB over what 16-bit rounding leaves. A stethoscope at low
    gain is then analysed (and the nurse told to raise the gain), not sent back as out of
    contact.
    """
    rms = float(np.sqrt(np.mean(np.square(band), dtype=np.float64))) if band.size else 0.0
    level = 20.0 * float(np.log10(max(rms, 1e-12)))
    periodicity, prominence = heartbeat if heartbeat is not None else (None, None)
    measures = QualityMeasures(
        clipped_fraction, level, flatness, periodicity, prominence, handling, mains_hum_hz
    )
    subscores = {"clipping": _ramp(clipped_fraction, *_CLIPPED_FRACTION)}
    # What the sound holds: a heartbeat, or breath sounds rather than noise.
    clear: dict[str, float] = {}
    if flatness is not None:
        clear["noise"] = _ramp(flatness, *_FLATNESS)
    if heartbeat is not None:
        clear["no_heartbeat"] = max(
            _ramp(heartbeat[0], *_PERIODICITY), _ramp(heartbeat[1], *_PROMINENCE)
        )
    # A faint band is a sound when it is clear: breath sounds lie 20-30 dB under the heart's
    # (ICBHI at 30 dB lower gain: lung band -73 to -77 dBFS, the analysis unchanged), and a
    # stethoscope at low gain is not one out of contact. Breath sounds must swell: brown noise
    # is as coloured as they are.
    if breath_swell_db is not None:
        clear["breath_unheard"] = _ramp(breath_swell_db, *_BREATH_SWELL_DB)
    sound = min(_ramp(level, *_FLOOR_DBFS), *clear.values()) if clear else 0.0
    subscores["no_signal"] = max(_ramp(level, *_LEVEL_DBFS), sound)
    if subscores["no_signal"] > 0.0:
        # Flatness and periodicity mean nothing when there is no sound at all. Breath sounds
        # that do not swell over the background leave crackles and wheezes unheard too.
        subscores.update(clear)
        if handling is not None:
            subscores["handling"] = _ramp(handling, *_HANDLING_BURST_S)
        # A breath heard over the background may still leave crackles under it: they are
        # sought over the whole band, where a steady floor can rise to the breath's level.
        if band_over_floor_db is not None:
            subscores["background_noise"] = _ramp(band_over_floor_db, *_BAND_OVER_FLOOR_DB)
    return QualityScores(subscores, measures)


def handling_burst_s(sub: NDArray[np.floating], fs_hz: float) -> float:
    """Longest burst of handling noise: sub-audible thumps of a slipping or lifted chest piece.

    Parameters
    ----------
    sub : ndarray, shape (n,)
        The recording's :data:`HANDLING_BAND_HZ` band (order-2 band-pass) at ``fs_hz``, any
        unit.
    fs_hz : float
        Sampling rate in Hz, at least 100 Hz.

    Returns
    -------
    float
        Longest time, in seconds, that the 100 ms RMS of the 5-25 Hz band stays above four
        times its median; 0.0 when it never does.
    """
    frame = max(round(_HANDLING_FRAME_S * fs_hz), 1)
    n_frames = sub.size // frame
    if n_frames < _HANDLING_WINDOW_FRAMES:
        return 0.0
    power = np.mean(sub[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1)
    window = np.ones(_HANDLING_WINDOW_FRAMES) / _HANDLING_WINDOW_FRAMES
    rms = np.sqrt(np.convolve(power, window, mode="same"))
    loud = rms > _HANDLING_OVER_MEDIAN * max(median(rms), 1e-12)
    runs = run_lengths(loud)
    longest = int(np.max(runs)) if runs.size else 0
    return longest * frame / fs_hz
