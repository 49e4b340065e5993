"""Explainable triage: plain rules over measured values, each flag saying what and why.

Decision support for a remote doctor, never a diagnosis: every flag names the measurement,
the threshold it crossed, and why that matters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

__all__ = ["LEVELS", "Findings", "Flag", "Triage", "TriageLevel", "TriageThresholds"]

TriageLevel = Literal["routine", "review", "urgent", "rerecord"]
LEVELS: tuple[TriageLevel, ...] = ("routine", "review", "urgent", "rerecord")


@dataclass(frozen=True)
class TriageThresholds:
    """Thresholds of the triage rules; the config file exposes these names as they are.

    Rates use the NEWS2 bands (Royal College of Physicians, National Early Warning Score 2,
    2017): a sub-score of 3 on any single parameter calls for an urgent review; the bands that
    score 1-2 call for a review here.

    Attributes
    ----------
    heart_rate_urgent_low_bpm : float
        At or below: urgent. NEWS2 pulse <= 40/min scores 3.
    heart_rate_review_low_bpm : float
        At or below: review. NEWS2 pulse 41-50/min scores 1.
    heart_rate_review_high_bpm : float
        At or above: review. NEWS2 pulse 111-130/min scores 2.
    heart_rate_urgent_high_bpm : float
        At or above: urgent. NEWS2 pulse >= 131/min scores 3.
    respiratory_rate_urgent_low_bpm : float
        At or below: urgent. NEWS2 respiration <= 8/min scores 3.
    respiratory_rate_review_low_bpm : float
        At or below: review. NEWS2 respiration 9-11/min scores 1.
    respiratory_rate_review_high_bpm : float
        At or above: review. NEWS2 respiration 21-24/min scores 2.
    respiratory_rate_urgent_high_bpm : float
        At or above: urgent. NEWS2 respiration >= 25/min scores 3.
    irregularity_nrmssd : float
        Normalised RMSSD of beat-to-beat intervals above which the rhythm is called irregular:
        review. 0.1 is the order of the cut-off used to screen for atrial fibrillation from
        RR intervals (Dash et al., Ann Biomed Eng 37:1701, 2009); sinus rhythm at rest stays
        well below it.
    murmur_contrast : float
        Murmur-band level of the louder of systole and diastole over the quieter (see
        :attr:`~stetho_signal.heart.HeartResult.murmur_contrast`) above which a murmur is
        hinted: review. Murmur-free real recordings sit at 1.0-1.3 (CirCor development
        recordings, noise included; Yaseen normal ones), synthetic ones 30-220/min in noise at
        up to 1.26; 1.6 keeps a margin above them rather than being fitted to the murmur
        dataset.
    wheeze_min_duration_s : float
        A tonal sound must last this long to count as a wheeze: review. CORSA (Sovijärvi et
        al., Eur Respir Rev 10:77, 2000) puts wheezes at >= 100 ms.
    crackles_min_count : int
        Crackles in one recording at or above which a review is asked. Isolated crackles are
        heard in healthy lungs too (CORSA; Piirilä & Sovijärvi, Eur Respir J 8:2139, 1995), so
        one transient is not enough.
    quality_min_score : float
        Quality score (0..1) below which the recording is sent back: rerecord. An engineering
        cut-off at the middle of the score, in line with the quality gates of Springer et al.
        (J Med Eng Technol 40:342, 2016), which reject recordings whose features look noisy.
    """

    heart_rate_urgent_low_bpm: float = 40.0
    heart_rate_review_low_bpm: float = 50.0
    heart_rate_review_high_bpm: float = 111.0
    heart_rate_urgent_high_bpm: float = 131.0
    respiratory_rate_urgent_low_bpm: float = 8.0
    respiratory_rate_review_low_bpm: float = 11.0
    respiratory_rate_review_high_bpm: float = 21.0
    respiratory_rate_urgent_high_bpm: float = 25.0
    irregularity_nrmssd: float = 0.1
    murmur_contrast: float = 1.6
    wheeze_min_duration_s: float = 0.1
    crackles_min_count: int = 3
    quality_min_score: float = 0.5

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"threshold {field.name} must be a number >= 0, got {value!r}")
        if not (
            self.heart_rate_urgent_low_bpm
            <= self.heart_rate_review_low_bpm
            < self.heart_rate_review_high_bpm
            <= self.heart_rate_urgent_high_bpm
        ):
            raise ValueError("heart-rate thresholds must rise: urgent low <= review low < ...")
        if not (
            self.respiratory_rate_urgent_low_bpm
            <= self.respiratory_rate_review_low_bpm
            < self.respiratory_rate_review_high_bpm
            <= self.respiratory_rate_urgent_high_bpm
        ):
            raise ValueError("respiratory-rate thresholds must rise: urgent low <= review low...")


@dataclass(frozen=True)
class Flag:
    """One reason behind a triage level.

    Attributes
    ----------
    code : str
        Stable machine name, e.g. ``heart_rate_high``.
    reason : str
        One sentence for the doctor (or, for quality flags, the nurse).
    value : float or None
        The measured value, in the unit the reason states.
    threshold : float or None
        The threshold it was compared with.
    """

    code: str
    reason: str
    value: float | None
    threshold: float | None


@dataclass(frozen=True)
class Findings:
    """What the thresholds make of the measurements; None where the clip cannot tell.

    Attributes
    ----------
    irregular : bool or None
        Beat-to-beat intervals vary more than ``irregularity_nrmssd`` (None: too few beats or
        not a heart recording).
    murmur_suspected : bool or None
        Murmur contrast above ``murmur_contrast`` (a hint, not a finding).
    crackles : bool or None
        At least ``crackles_min_count`` crackles (None: not a lung recording).
    """

    irregular: bool | None = None
    murmur_suspected: bool | None = None
    crackles: bool | None = None


@dataclass(frozen=True)
class Triage:
    """Overall level, the flags that set it (informational flags leave it unchanged) and the
    findings the rules read off the measurements."""

    level: TriageLevel
    flags: tuple[Flag, ...]
    findings: Findings = Findings()

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown triage level {self.level!r}")
