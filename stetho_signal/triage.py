"""Explainable triage: plain rules over measured values, each flag saying what and why.

Decision support for a remote doctor, never a diagnosis: every flag names the measurement,
the threshold it crossed, and why that matters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Final, Literal

from stetho_signal._notes import NOTE_CODES

__all__ = [
    "AGE_BANDS",
    "FLAG_DETAILS",
    "LEVELS",
    "AgeBand",
    "DetailKind",
    "Details",
    "Findings",
    "Flag",
    "Triage",
    "TriageLevel",
    "TriageThresholds",
    "age_band_for",
    "check_details",
]

TriageLevel = Literal["routine", "review", "urgent", "rerecord"]
LEVELS: tuple[TriageLevel, ...] = ("routine", "review", "urgent", "rerecord")

AgeBand = Literal["adult", "under_1", "1_to_2", "2_to_5", "5_to_12", "12_to_16"]
"""Age bands in years (lower bound included): the adult band is 16 and over (NEWS2's scope)."""
AGE_BANDS: tuple[AgeBand, ...] = ("adult", "under_1", "1_to_2", "2_to_5", "5_to_12", "12_to_16")

# Per child band: heart rate (urgent low, review low, review high, urgent high), then the same
# for the respiratory rate, per minute. Review bounds: the APLS normal ranges. Urgent bounds:
# the wider PALS/EPLS ranges for awake children where they lie outside APLS's; fast breathing
# under 5 years by the WHO IMCI cut-offs (50/min from 2 to 12 months, 40/min from 1 to 5
# years); from 12 years NEWS2's urgent bands (Fleming et al. 2011, Web Box 1, tabulates APLS,
# PALS, EPLS and WHO side by side). Slow breathing has no published urgent bound for children
# in these references: NEWS2's 8/min is kept, and the APLS review bound catches the rest (the
# lower PALS bounds are the edges of normal ranges, and read ICBHI's healthy infants, whose
# rates we measure a few breaths low, as urgent).
_Rates = tuple[float, float, float, float]
_CHILD_RATES: dict[AgeBand, tuple[_Rates, _Rates]] = {
    "under_1": ((100.0, 110.0, 160.0, 190.0), (8.0, 30.0, 40.0, 50.0)),
    "1_to_2": ((100.0, 100.0, 150.0, 190.0), (8.0, 25.0, 35.0, 40.0)),
    "2_to_5": ((60.0, 95.0, 140.0, 140.0), (8.0, 25.0, 30.0, 40.0)),
    "5_to_12": ((60.0, 80.0, 120.0, 140.0), (8.0, 20.0, 25.0, 30.0)),
    "12_to_16": ((40.0, 60.0, 100.0, 131.0), (8.0, 15.0, 20.0, 25.0)),
}


def age_band_for(age_years: float) -> AgeBand:
    """The band an age in years falls in (16 and over: adult)."""
    if age_years < 0:
        raise ValueError(f"age must be >= 0 years, got {age_years!r}")
    for limit, band in ((1.0, "under_1"), (2.0, "1_to_2"), (5.0, "2_to_5"), (12.0, "5_to_12")):
        if age_years < limit:
            return band  # type: ignore[return-value]
    return "12_to_16" if age_years < 16.0 else "adult"


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
        At or below: what NEWS2 respiration <= 8/min scores 3 for at rest. Measured during
        auscultation, where the resident breathes deeply through the open mouth, it is not the
        resting rate NEWS2 scores: review, asking for a resting count over one minute
        (docs/accuracy.md, "Breathing rate during auscultation").
    respiratory_rate_review_low_bpm : float
        At or below: review. NEWS2 respiration 9-11/min scores 1.
    respiratory_rate_review_high_bpm : float
        At or above: review. NEWS2 respiration 21-24/min scores 2.
    respiratory_rate_urgent_high_bpm : float
        At or above: NEWS2 respiration >= 25/min scores 3 at rest; measured during
        auscultation, review (as the low bound).
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
    opening_snap_fraction : float
        Share of S2s followed 40-120 ms later by a distinct sound (see
        :attr:`~stetho_signal.heart.HeartResult.snap_fraction`) at or above which an opening
        snap is hinted: review. Three beats out of four, as a murmur must recur; no
        murmur-free recording of the shared data reaches it (docs/accuracy.md).
    half_rate_systole_ratio : float
        With the S1s and S2s evenly spaced and alike, the chain's systole over the expected
        systole for the read rate (Weissler, see
        :func:`~stetho_signal._half_rate.systole_if_half_rate`) at or above which the rate may
        be twice the read one: review, when twice the rate would reach the review band. The
        expected value itself: at or over it, such a chain is at least as long in systole as a
        heart at that rate, and as long as one sound per beat of a heart twice as fast makes
        it (issue 17: a fast child's heart read at half rate and called normal). Correct reads
        of evenly spaced, alike sounds in the shared data reach 0.974 (CirCor 85029_TV at
        102/min) and 0.998 (the same made faster to 110/min); the half-rate reads of CirCor
        made faster to 170-190/min 1.05-1.12 (docs/accuracy.md, seventh round).
    wheeze_min_duration_s : float
        A tonal sound must last this long to count as a wheeze: review. CORSA (Sovijärvi et
        al., Eur Respir Rev 10:77, 2000) puts wheezes at >= 100 ms.
    crackles_min_count : int
        Crackles in one recording at or above which a review is asked. Isolated crackles are
        heard in healthy lungs too (CORSA; Piirilä & Sovijärvi, Eur Respir J 8:2139, 1995), so
        one transient is not enough.
    urgent_min_beat_intervals : int
        An urgent heart rate must stand on at least this many measured S1-S1 intervals (five
        beats, the rhythm's own minimum); from fewer, or from the autocorrelation alone, it
        raises a review that asks for a new recording instead: a doctor stops trusting alerts
        after a few false ones.
    urgent_low_max_high_band_share : float
        A heart rate in the urgent low band must stand on heart sounds: when more than this
        share of the power its labelled sounds add lies at 300-1000 Hz rather than 25-200 Hz
        (see :attr:`~stetho_signal.heart.HeartResult.sound_high_band_share`), it raises a
        review that says so instead. S1 and S2 carry most of their energy at 20-150 Hz and
        little above 200 Hz; crackles and breath sounds carry theirs above (docs DOMAIN.md):
        with no heart audible, crackles recurring with each breath at 30/min were read as a
        heart at 30/min, urgent. Placed by the benches (docs/accuracy.md, eleventh round):
        every read at or under 45/min of a real or simulated heart sits at 0.30 or under,
        every true read at any rate at 0.57 or under (a murmur beside fast sounds), every
        no-heart read at or under 45/min at 0.71 or over.
    urgent_high_min_envelope_repeat, urgent_high_min_sound_prominence : float
        A heart rate in the urgent high band must be borne out by the recording: when its
        sounds' envelope repeats at the read period less than the first (see
        :attr:`~stetho_signal.heart.HeartResult.envelope_repeat`) and its sounds stand out
        from the background less than the second (``sound_prominence``), nothing confirms it
        and it raises a review that says so instead. A fast heart repeats its envelope beat
        after beat; atrial fibrillation repeats at no period but its sounds stand out. Heard
        through breathing as loud as the heart, a child's heart at 130/min was read at 200/min
        from its S1s and S2s with breath bursts between them (repeat -0.09, prominence 2.6).
        Placed by two probes of over 2,000 true reads at or over 131/min each
        (docs/accuracy.md, thirteenth round; ``python -m bench.fast_read_probe``): every true
        read with prominence under 3.5 repeats at 0.12 or more, every one repeating under 0.1
        stands out at 4.0 or more (AF under breathing).
    urgent_high_max_high_band_share, urgent_high_min_beat_span : float
        Nor may it stand on breath sounds: when more than the first share of its sounds' added
        power lies at 300-1000 Hz (see ``urgent_low_max_high_band_share``) and its beat
        intervals span less than the second share of the recording (see
        :attr:`~stetho_signal.heart.HeartResult.beat_span_share`), it raises a review: a heart
        beats throughout, breath sounds come and go with the breathing (a faint heart under
        breath sounds read at 210/min, share 0.77, span 0.63). Placed by the same probes:
        every true read whose share is over 0.6 spans 0.76 of its recording or more, and no
        true read spans under 0.67 at any share.
    urgent_high_max_beat_step : float
        Nor may it stand on beats whose level steps up and down from one to the next: when
        the median step between successive S1s' heart-band level exceeds this (nepers, see
        :attr:`~stetho_signal.heart.HeartResult.beat_step`), it raises a review: every other
        "beat" may be the background between a slower heart's sounds. False fast reads the
        other rules left urgent step by a median 0.56 (1.7 times), true reads by 0.16. Placed
        0.1 over every true read and every read of a heart at 131/min or over in the probes
        (docs/accuracy.md, twentieth round: the highest, 0.695, a real heart at 130/min read
        at 138; hearts at 131/min or over reach 0.64), before it was shipped.
    urgent_high_weak_envelope_repeat, urgent_high_min_beat_prominence : float
        Nor may it stand on beats that barely stand above the sound between them: when its
        sounds' envelope repeats at the read period less than the first and a quarter of its
        S1s stand less than the second times above the median heart-band level between the
        sounds (see :attr:`~stetho_signal.heart.HeartResult.beat_prominence`), it raises a
        review: the rate may count breath sounds or noise between slower heart sounds. Chosen
        on half the fast-read probe's patients, measured on the other (docs/accuracy.md,
        thirty-fourth round): of 40 false fast reads the other rules left urgent it takes 26,
        of 2,313 true urgent reads 4 (hearts at 133-170/min under breath 3 to 10 times their
        RMS, or as loud as it).
    urgent_min_breaths : float
        A respiratory rate in the urgent bands from a clip holding fewer breaths says so in its
        review (the rate alone never raises urgent).
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
    opening_snap_fraction: float = 0.75
    half_rate_systole_ratio: float = 1.0
    wheeze_min_duration_s: float = 0.1
    crackles_min_count: int = 3
    urgent_min_beat_intervals: int = 4
    urgent_low_max_high_band_share: float = 0.6
    urgent_high_min_envelope_repeat: float = 0.1
    urgent_high_min_sound_prominence: float = 3.5
    urgent_high_max_high_band_share: float = 0.6
    urgent_high_min_beat_span: float = 0.7
    urgent_high_max_beat_step: float = 0.795
    urgent_high_weak_envelope_repeat: float = 0.2
    urgent_high_min_beat_prominence: float = 4.0
    urgent_min_breaths: float = 3.0
    quality_min_score: float = 0.5

    def __post_init__(self) -> None:
        for threshold in fields(self):
            value = getattr(self, threshold.name)
            # isfinite first: NaN fails every comparison (so `< 0` let it in) and inf passes
            # them all, either way silencing the bands it sits in.
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"threshold {threshold.name} must be a finite number >= 0, got {value!r}"
                )
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

    def for_age_band(self, band: AgeBand) -> TriageThresholds:
        """These thresholds with the heart and respiratory rate bands of an age band.

        ``"adult"`` keeps them as they are (NEWS2 by default, or as configured); a child's
        band replaces the eight rate thresholds with published paediatric ranges, the others
        stay.

        Notes
        -----
        Review when a rate leaves the APLS normal range of the child's age [2]_; urgent
        beyond the wider PALS/EPLS ranges for awake children [2]_, beyond the WHO IMCI
        fast-breathing cut-offs under 5 years (50/min at 2-12 months, 40/min at 1-5 years)
        [3]_, and beyond NEWS2's urgent bands from 12 years [1]_. Slow breathing is urgent at
        NEWS2's 8/min at every age: these references give children no urgent low bound.
        Fleming et al. [2]_ found these ranges disagree with each other and with measured
        centiles: they are the published clinical references, not a new fit; a rate at a
        bound counts as outside.

        References
        ----------
        .. [1] Royal College of Physicians. National Early Warning Score (NEWS) 2. London:
           RCP, 2017.
        .. [2] Fleming S, Thompson M, Stevens R, et al. Normal ranges of heart rate and
           respiratory rate in children from birth to 18 years of age: a systematic review
           of observational studies. Lancet 2011;377:1011-18 (Web Box 1: APLS, PALS, EPLS
           and WHO ranges by age).
        .. [3] World Health Organization. Integrated Management of Childhood Illness (IMCI)
           chart booklet. Geneva: WHO, 2014.
        """
        if band == "adult":
            return self
        if band not in _CHILD_RATES:
            raise ValueError(f"unknown age band {band!r}; one of {', '.join(AGE_BANDS)}")
        (h_urgent_low, h_low, h_high, h_urgent_high), breath = _CHILD_RATES[band]
        r_urgent_low, r_low, r_high, r_urgent_high = breath
        return replace(
            self,
            heart_rate_urgent_low_bpm=h_urgent_low,
            heart_rate_review_low_bpm=h_low,
            heart_rate_review_high_bpm=h_high,
            heart_rate_urgent_high_bpm=h_urgent_high,
            respiratory_rate_urgent_low_bpm=r_urgent_low,
            respiratory_rate_review_low_bpm=r_low,
            respiratory_rate_review_high_bpm=r_high,
            respiratory_rate_urgent_high_bpm=r_urgent_high,
        )


Details = Mapping[str, float | str]
"""A flag's named details beyond its value and threshold: a finite number or a word."""
DetailKind = type[float] | tuple[str, ...]
"""What a detail holds: ``float`` (a finite number) or one word of a closed vocabulary."""

_FEW_BEATS: Final[Mapping[str, DetailKind]] = {"beat_intervals": float, "min_beat_intervals": float}
_NOT_HEART_SOUNDS: Final[Mapping[str, DetailKind]] = {
    "high_band_share": float, "max_high_band_share": float,
}  # fmt: skip
_NOT_BORNE_OUT: Final[Mapping[str, DetailKind]] = {
    "envelope_repeat": float, "min_envelope_repeat": float,
    "sound_prominence": float, "min_sound_prominence": float,
    "beat_span_share": float, "min_beat_span_share": float,
    "beat_step": float, "max_beat_step": float,
    "max_envelope_repeat": float, "beat_prominence": float, "min_beat_prominence": float,
}  # fmt: skip
_HALF_RATE: Final[Mapping[str, DetailKind]] = {
    "rate_bpm": float, "systole_ms": float, "diastole_ms": float, "s1_s2_level_ratio": float,
}  # fmt: skip
_SHORT_CLIP: Final[Mapping[str, DetailKind]] = {
    "rate_bpm": float, "slowest_seen_bpm": float, "urgent_low_bpm": float,
}  # fmt: skip
_FEW_BREATHS: Final[Mapping[str, DetailKind]] = {"breaths": float, "min_breaths": float}
_UNMEASURED: Final[Mapping[str, DetailKind]] = {"note": NOTE_CODES, "measured": float}
FLAG_DETAILS: Final[Mapping[str, Mapping[str, DetailKind]]] = {
    "heart_murmur": {"phase": ("systolic", "diastolic")},
    "heart_opening_snap": {"delay_ms": float},
    "lung_wheeze": {"frequency_hz": float, "voice_sounds": float},
    "heart_rate_very_low_unconfirmed": {**_FEW_BEATS, **_NOT_HEART_SOUNDS},
    "heart_rate_very_high_unconfirmed": {**_FEW_BEATS, **_NOT_HEART_SOUNDS, **_NOT_BORNE_OUT},
    "respiratory_rate_very_low_during_auscultation": _FEW_BREATHS,
    "respiratory_rate_very_high_during_auscultation": _FEW_BREATHS,
    "heart_possible_half_rate": _HALF_RATE,
    "heart_short_clip": _SHORT_CLIP,
    "heart_unmeasured": _UNMEASURED,
    "lung_unmeasured": _UNMEASURED,
}
"""The details each flag code may carry, by key (every key optional; other codes carry none).

``phase``: the louder phase of a murmur hint; ``delay_ms``: median S2-to-snap time;
``frequency_hz``: the longest wheeze's pitch; ``voice_sounds``: the tones left out as voice,
when enough to say someone spoke (the wheeze may be a voice too);
``beat_intervals``/``breaths`` and their ``min_*``: what an unconfirmed rate stood on and the
minimum it missed;
``high_band_share`` and ``max_high_band_share``: the share of its sounds' power above the
heart-sound band that left a very low (or, with ``beat_span_share`` and its minimum, the
share of the recording its beats span, a very high) rate unconfirmed, and the most allowed;
``envelope_repeat``, ``sound_prominence`` and their ``min_*``: how little the envelope
repeats at a very high rate and its sounds stand out, that left it unconfirmed;
``beat_step`` and ``max_beat_step``: how far its beats' level steps from one to the next,
that left it unconfirmed, and the most allowed; ``envelope_repeat`` with
``max_envelope_repeat``, and ``beat_prominence`` with ``min_beat_prominence``: an envelope
that repeats little at the rate and beats that barely stand above the sound between them,
that left it unconfirmed, and the bounds; ``note`` and
``measured``: why a value is missing (:data:`~stetho_signal._notes.NOTE_CODES`) and the
number that says so (ms or beats/min, see there); ``rate_bpm``, ``systole_ms``,
``diastole_ms`` and ``s1_s2_level_ratio``: the read rate and the evenly spaced, alike sounds
that say it may be half the true one; ``rate_bpm``, ``slowest_seen_bpm`` and
``urgent_low_bpm``: the rate read from a clip too short to see a slow heart (absent when
none was read), the slowest rate that clip can show and the urgent-low bound it may hide.
"""
# A code this version does not know (a newer agent's) may carry details of this shape.
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_MAX_UNKNOWN_DETAILS = 8
_MAX_WORD = 40
_ANY = f"a finite number or a word of at most {_MAX_WORD} characters"


def check_details(code: str, details: Mapping[str, object]) -> None:
    """Raise ValueError unless ``details`` fit :data:`FLAG_DETAILS` for ``code``.

    Numbers must be finite (JSON has no NaN) and not booleans; words come from the key's
    vocabulary. A code outside the table may carry a few identifier keys with finite numbers or
    short words, so that a newer agent's flag still reads (its English reason) on older hubs.
    """
    allowed = FLAG_DETAILS.get(code)
    if allowed is None and len(details) > _MAX_UNKNOWN_DETAILS:
        raise ValueError(f"flag {code!r}: at most {_MAX_UNKNOWN_DETAILS} details")
    for key, value in details.items():
        kind = _kind_of(code, key, allowed)
        if isinstance(value, str):
            words = kind if isinstance(kind, tuple) else None
            ok = words is not None and len(value) <= _MAX_WORD and (not words or value in words)
        else:
            ok = (kind is float or kind == ()) and _finite_number(value)
        if not ok:
            wanted = "a finite number" if kind is float else f"one of {kind}" if kind else _ANY
            raise ValueError(f"flag {code!r}: detail {key}={value!r} must be {wanted}")


def _kind_of(code: str, key: str, allowed: Mapping[str, DetailKind] | None) -> DetailKind:
    if allowed is None:
        if not (isinstance(key, str) and _KEY.fullmatch(key)):
            raise ValueError(f"flag {code!r}: detail key {key!r} is not a lower-case name")
        return ()  # unknown code: a number or any short word
    if key not in allowed:
        raise ValueError(f"flag {code!r} has no detail {key!r}; one of {', '.join(allowed)}")
    return allowed[key]


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
    details : mapping of str to float or str
        Named details the reason states beyond value and threshold (:data:`FLAG_DETAILS`),
        so that a reader in another language never has to parse the sentence.
    """

    code: str
    reason: str
    value: float | None
    threshold: float | None
    details: Details = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_details(self.code, self.details)


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
    opening_snap : bool or None
        A second sound after S2 in at least ``opening_snap_fraction`` of the beats (a hint).
    """

    irregular: bool | None = None
    murmur_suspected: bool | None = None
    crackles: bool | None = None
    opening_snap: bool | None = None


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
