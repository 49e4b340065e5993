"""The triage rules: measured values in, flags and a level out."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from stetho_common.decimal_mark import digits_above
from stetho_signal._half_rate import systole_if_half_rate
from stetho_signal._notes import Note
from stetho_signal.envelope import MIN_CLIP_FOR_SLOW_S, slowest_rate_seen_bpm
from stetho_signal.heart import HeartResult
from stetho_signal.lung import LungResult
from stetho_signal.quality import Quality
from stetho_signal.triage import (
    AgeBand,
    Findings,
    Flag,
    Triage,
    TriageLevel,
    TriageThresholds,
)
from stetho_signal.wheezes import VOICE_F0_HZ, VOICE_HEARD_MIN_SOUNDS

_RANK: dict[TriageLevel, int] = {"routine": 0, "review": 1, "urgent": 2}
# How an urgent rate band is worded: (band "very_low"/"very_high", rate, bound) -> level, flag.
UrgentWords = Callable[[str, float, float], tuple[TriageLevel, Flag]]


def _above(value: float, threshold: float, digits: int) -> str:
    """`value`, flagged for being above `threshold`, never written as the threshold."""
    return f"{value:.{digits_above(value, threshold, digits)}f}"


def triage(
    quality: Quality,
    heart: HeartResult | None,
    lung: LungResult | None,
    thresholds: TriageThresholds,
    age_band: AgeBand | None = None,
) -> Triage:
    """Combine the measurements into a level; a poor recording is sent back first."""
    found = findings(heart, lung, thresholds)
    if not quality.acceptable:
        flags = tuple(
            Flag(f"quality_{code}", text, quality.score, thresholds.quality_min_score)
            for code, text in zip(quality.problem_codes, quality.problems, strict=True)
        )
        return Triage("rerecord", flags, found)
    graded: list[tuple[TriageLevel, Flag]] = []
    if heart is not None:
        graded.extend(_heart_flags(heart, found, thresholds, _urgent_why(age_band)))
    if lung is not None:
        graded.extend(_lung_flags(lung, found, thresholds, age_band))
    level: TriageLevel = "routine"
    for flag_level, _ in graded:
        if _RANK[flag_level] > _RANK[level]:
            level = flag_level
    return Triage(level, tuple(flag for _, flag in graded), found)


def findings(heart: HeartResult | None, lung: LungResult | None, t: TriageThresholds) -> Findings:
    """The thresholds applied to the measurements (None where nothing was measured)."""
    irregular = murmur = crackles = snap = None
    if heart is not None:
        irregular = None if heart.rr_nrmssd is None else heart.rr_nrmssd > t.irregularity_nrmssd
        contrast = heart.murmur_contrast
        murmur = None if contrast is None else contrast > t.murmur_contrast
        share = heart.snap_fraction
        snap = None if share is None else share >= t.opening_snap_fraction
    if lung is not None:
        crackles = len(lung.crackle_times_s) >= int(t.crackles_min_count)
    return Findings(irregular, murmur, crackles, snap)


def _urgent_why(age_band: AgeBand | None) -> str:
    child = _child_range(age_band)
    if child is None:
        return "NEWS2 scores it 3: urgent clinical review"
    return f"beyond {child}: urgent clinical review"


def _child_range(age_band: AgeBand | None) -> str | None:
    """The paediatric range a child's rates are held to, in words (None for an adult)."""
    if age_band is None or age_band == "adult":
        return None
    years = age_band.replace("under_1", "under 1").replace("_to_", " to ")
    return f"the paediatric range for {years} years"


def _side(band: str) -> str:
    return "below" if band.endswith("low") else "above"


def _heart_urgent(
    why: str, h: HeartResult, t: TriageThresholds, band: str, rate: float, bound: float
) -> tuple[TriageLevel, Flag]:
    """An urgent heart rate stands on enough beat intervals, a very low one on heart sounds and
    a very high one on what the recording bears out; from fewer beats, sounds whose power lies
    mostly above the heart's band, or a fast rate the recording does not bear out
    (:func:`_fast_unconfirmed`), it asks for a review."""
    beats, minimum = h.beat_intervals, t.urgent_min_beat_intervals
    share, most_share = h.sound_high_band_share, t.urgent_low_max_high_band_share
    text = f"Heart rate {rate:.0f} beats/min is at or {_side(band)} {bound:.0f}; {why}."
    if beats < minimum:
        text = (
            f"{text[:-1]}, but measured over only {beats:g} beat intervals (under "
            f"{minimum:g}): a review, and record again to confirm."
        )
        details = {"beat_intervals": float(beats), "min_beat_intervals": float(minimum)}
        return "review", Flag(f"heart_rate_{band}_unconfirmed", text, rate, bound, details)
    if band == "very_low" and share is not None and share > most_share:
        return "review", _not_heart_sounds(text, share, most_share, rate, bound)
    if band == "very_high" and (fast := _fast_unconfirmed(h, t, text, rate, bound)) is not None:
        return "review", fast
    return "urgent", Flag(f"heart_rate_{band}", text, rate, bound)


def _fast_unconfirmed(
    h: HeartResult, t: TriageThresholds, text: str, rate: float, bound: float
) -> Flag | None:
    """A very high rate the recording does not bear out, or None (docs/accuracy.md,
    thirteenth round; issue 17: urgent stands on a finding the analysis is confident in).

    Borne out, a fast heart repeats its envelope at the read period or, irregular (atrial
    fibrillation repeats at no period), has sounds that stand out clearly. A chain of breath
    bursts between a slower heart's sounds has neither; one of breath sounds alone lies mostly
    above the heart's band and is heard while the resident breathes, not throughout. A
    heart's beats hold their level from one to the next; a chain whose every other beat is
    the background between slower heart sounds steps up and down (twentieth round).
    """
    repeat, least = h.envelope_repeat, t.urgent_high_min_envelope_repeat
    prominence, clear = h.sound_prominence, t.urgent_high_min_sound_prominence
    if repeat is not None and repeat < least and prominence < clear:
        text = (
            f"{text[:-1]}, but its sounds' envelope barely repeats at that rate (autocorrelation "
            f"{repeat:.2f}, under {least:.2f}) and its sounds barely stand out ({prominence:.1f} "
            f"times the background, under {clear:.1f}): the beats may be breath sounds or noise "
            "between slower heart sounds; a review, count the pulse over a minute."
        )
        details = {
            "envelope_repeat": repeat, "min_envelope_repeat": least,
            "sound_prominence": prominence, "min_sound_prominence": clear,
        }  # fmt: skip
        return Flag("heart_rate_very_high_unconfirmed", text, rate, bound, details)
    share, most = h.sound_high_band_share, t.urgent_high_max_high_band_share
    span, least_span = h.beat_span_share, t.urgent_high_min_beat_span
    if share is None or span is None or not (share > most and span < least_span):
        return _steps_between_beats(h, t, text, rate, bound)
    text = (
        f"{text[:-1]}, but {share:.0%} of the power its sounds add lies at 300-1000 Hz (over "
        f"{most:.0%}), where heart sounds have little and breath sounds much, and its beats span "
        f"only {span:.0%} of the recording (under {least_span:.0%}): they may be breath sounds, "
        "heard as the resident breathes; a review, count the pulse and record again at the heart."
    )
    details = {
        "high_band_share": share, "max_high_band_share": most,
        "beat_span_share": span, "min_beat_span_share": least_span,
    }  # fmt: skip
    return Flag("heart_rate_very_high_unconfirmed", text, rate, bound, details)


def _steps_between_beats(
    h: HeartResult, t: TriageThresholds, text: str, rate: float, bound: float
) -> Flag | None:
    """A very high rate whose beats step up and down in level, or None (docs/accuracy.md,
    twentieth round): breath bursts or background read as every other beat."""
    step, most = h.beat_step, t.urgent_high_max_beat_step
    if step is None or not step > most:
        return _faint_beats(h, t, text, rate, bound)
    text = (
        f"{text[:-1]}, but its beats' level steps up and down from one beat to the next "
        f"(median step {step:.3f} in natural log units, {math.exp(step):.1f} times; over "
        f"{most:.3f}), as a heart's beats do not: every other beat may be a breath sound or "
        "noise between slower heart sounds; a review, count the pulse over a minute."
    )
    details = {"beat_step": step, "max_beat_step": most}
    return Flag("heart_rate_very_high_unconfirmed", text, rate, bound, details)


def _faint_beats(
    h: HeartResult, t: TriageThresholds, text: str, rate: float, bound: float
) -> Flag | None:
    """A very high rate whose envelope repeats little and whose fainter beats barely stand
    above the sound between them, or None (docs/accuracy.md, thirty-fourth round): the rate
    may count breath sounds heard louder than the heart."""
    repeat, most = h.envelope_repeat, t.urgent_high_weak_envelope_repeat
    prominence, least = h.beat_prominence, t.urgent_high_min_beat_prominence
    if repeat is None or prominence is None or not (repeat < most and prominence < least):
        return None
    text = (
        f"{text[:-1]}, but its sounds' envelope repeats little at that rate (autocorrelation "
        f"{repeat:.3f}, under {most:.2f}) and a quarter of its beats stand at most "
        f"{prominence:.2f} times above the sound between them (under {least:.1f}): the heart "
        "sounds barely stand above the breath sounds, and the rate may count breath sounds or "
        "noise between slower heart sounds; a review, count the pulse over a minute."
    )
    details = {
        "envelope_repeat": repeat, "max_envelope_repeat": most,
        "beat_prominence": prominence, "min_beat_prominence": least,
    }  # fmt: skip
    return Flag("heart_rate_very_high_unconfirmed", text, rate, bound, details)


def _not_heart_sounds(
    text: str, share: float, most_share: float, rate: float, bound: float
) -> Flag:
    """A very low rate read from sounds that carry most of their power above the heart's band
    (crackles or breath recurring with each breath): a review, not urgent (issue 17: urgent
    stands on a finding the analysis is confident in; docs/accuracy.md, eleventh round)."""
    text = (
        f"{text[:-1]}, but {share:.0%} of the power its sounds add lies at 300-1000 Hz (over "
        f"{most_share:.0%}), where heart sounds have little and crackles and breath sounds "
        "much: they may not be heart sounds; a review, count the pulse and record again at "
        "the heart."
    )
    details = {"high_band_share": share, "max_high_band_share": most_share}
    return Flag("heart_rate_very_low_unconfirmed", text, rate, bound, details)


def _during_auscultation(
    breaths: float, minimum: float, age_band: AgeBand | None, band: str, rate: float, bound: float
) -> tuple[TriageLevel, Flag]:
    """A breathing rate in the urgent band asks for a review and a resting count.

    NEWS2 scores a resting rate counted over a minute; during auscultation the resident breathes
    deeply through the open mouth (docs/accuracy.md), so the clip's rate is not that rate
    (issue 17: urgent stands on a finding the analysis is confident in).
    """
    few = f" over only {breaths:g} breaths (under {minimum:g})" if breaths < minimum else ""
    child = _child_range(age_band)
    at_rest = "NEWS2 would score it 3" if child is None else f"it would be beyond {child}"
    text = (
        f"Respiratory rate {rate:.0f} breaths/min, measured during auscultation{few}, is at or "
        f"{_side(band)} {bound:.0f}: at rest {at_rest}, an urgent clinical review, but deep "
        "breathing for auscultation is not rest; count the resting rate over one minute."
    )
    details = {"breaths": breaths, "min_breaths": minimum} if few else {}
    return "review", Flag(
        f"respiratory_rate_{band}_during_auscultation", text, rate, bound, details
    )


def _unmeasured(organ: str, note: str) -> tuple[TriageLevel, Flag]:
    details: dict[str, float | str] = {}
    if isinstance(note, Note):  # a note without a code reads in English only
        details["note"] = note.code
        if note.value is not None:
            details["measured"] = note.value
    return "routine", Flag(f"{organ}_unmeasured", note, None, None, details)


def _rate_flag(
    kind: str, rate: float, t: tuple[float, float, float, float], urgent: UrgentWords
) -> tuple[TriageLevel, Flag] | None:
    """NEWS2-style banding of a rate: (urgent low, review low, review high, urgent high).

    The urgent bands are worded by `urgent` (band, rate, bound): each organ says its own why.
    """
    urgent_low, review_low, review_high, urgent_high = t
    # Banded as shown: NEWS2 scores whole counts, and a pulse shown as 40 must score as 40.
    shown = round(rate) if math.isfinite(rate) else rate
    if shown <= urgent_low:
        return urgent("very_low", rate, urgent_low)
    if shown >= urgent_high:
        return urgent("very_high", rate, urgent_high)
    if not (shown <= review_low or shown >= review_high):  # NaN included, as before
        return None
    band, bound = ("low", review_low) if shown <= review_low else ("high", review_high)
    label = "Heart rate" if kind == "heart" else "Respiratory rate"
    unit = "beats" if kind == "heart" else "breaths"
    text = f"{label} {rate:.0f} {unit}/min is at or {_side(band)} {bound:.0f}: worth a review."
    return "review", Flag(f"{kind}_rate_{band}", text, rate, bound)


def _heart_flags(
    h: HeartResult, found: Findings, t: TriageThresholds, why: str
) -> list[tuple[TriageLevel, Flag]]:
    out: list[tuple[TriageLevel, Flag]] = []
    if h.rate_bpm is not None:
        bands = (
            t.heart_rate_urgent_low_bpm,
            t.heart_rate_review_low_bpm,
            t.heart_rate_review_high_bpm,
            t.heart_rate_urgent_high_bpm,
        )
        rate_flag = _rate_flag("heart", h.rate_bpm, bands, partial(_heart_urgent, why, h, t))
        if rate_flag is not None:
            out.append(rate_flag)
    half = _possible_half_rate(h, t)
    if half is not None:
        out.append(half)
    short = _short_clip(h, t)
    if short is not None:
        out.append(short)
    if found.irregular and h.rr_nrmssd is not None:
        text = (
            f"Beat-to-beat intervals vary by {_above(h.rr_nrmssd, t.irregularity_nrmssd, 2)} "
            f"(normalised RMSSD) above {t.irregularity_nrmssd:.2f}: irregular rhythm, consider "
            "an ECG."
        )
        out.append(("review", Flag("heart_irregular", text, h.rr_nrmssd, t.irregularity_nrmssd)))
    if found.murmur_suspected and h.murmur_contrast is not None:
        other = "diastole" if h.murmur_phase == "systolic" else "systole"
        text = (
            f"Sound in {h.murmur_phase} phase is {_above(h.murmur_contrast, t.murmur_contrast, 1)} "
            f"times that in {other} (above {t.murmur_contrast:.1f}): possible {h.murmur_phase} "
            "murmur, a hint to listen to the recording, not a finding."
        )
        phase = {"phase": h.murmur_phase} if h.murmur_phase in ("systolic", "diastolic") else {}
        flag = Flag("heart_murmur", text, h.murmur_contrast, t.murmur_contrast, phase)
        out.append(("review", flag))
    if found.opening_snap and h.snap_fraction is not None and h.snap_delay_s is not None:
        delay_ms = round(1000 * h.snap_delay_s)
        text = (
            f"A second sound {delay_ms} ms after S2 in {h.snap_fraction:.0%} "
            f"of beats (at least {t.opening_snap_fraction:.0%}): possible opening snap of mitral "
            "stenosis, or a widely split S2; a hint to listen at the apex, not a finding."
        )
        flag = Flag(
            "heart_opening_snap", text, h.snap_fraction, t.opening_snap_fraction,
            {"delay_ms": float(delay_ms)},
        )  # fmt: skip
        out.append(("review", flag))
    out.extend(_unmeasured("heart", note) for note in h.notes)
    return out


def _possible_half_rate(h: HeartResult, t: TriageThresholds) -> tuple[TriageLevel, Flag] | None:
    """A read that may be half the true rate asks for a review, saying why (issue 17: urgent
    stands on a finding the analysis is confident in; a weak one raises review with its reason).

    Raised when twice the rate would reach the review band: the rate alone then hides what a
    review, and a pulse count, would settle.
    """
    rate, systole, diastole, ratio = (
        h.rate_bpm, h.systole_s, h.diastole_s, h.s1_s2_level_ratio
    )  # fmt: skip
    if rate is None or systole is None or diastole is None or ratio is None:
        return None
    if 2.0 * rate < t.heart_rate_review_high_bpm:
        return None
    longer = systole_if_half_rate(rate, systole, diastole, ratio, h.diastole_follows_cycle)
    if longer is None or longer < t.half_rate_systole_ratio:
        return None
    sys_ms, dia_ms = round(1000 * systole), round(1000 * diastole)
    text = (
        f"Heart rate may be twice the read value ({2 * rate:.0f} rather than {rate:.0f} "
        f"beats/min): its sounds are evenly spaced (S1-S2 {sys_ms} ms, S2-S1 {dia_ms} ms) and "
        f"alike (S1 {ratio:.2f} times S2), a systole {longer:.2f} times that expected at "
        f"{rate:.0f}/min (at least {t.half_rate_systole_ratio:.2f}): one sound per beat at "
        f"{2 * rate:.0f}/min would sound the same; a review, count the pulse over a minute."
    )
    details = {
        "rate_bpm": rate, "systole_ms": float(sys_ms), "diastole_ms": float(dia_ms),
        "s1_s2_level_ratio": ratio,
    }  # fmt: skip
    flag = Flag("heart_possible_half_rate", text, round(longer, 3), t.half_rate_systole_ratio,
                details)  # fmt: skip
    return "review", flag


def _short_clip(h: HeartResult, t: TriageThresholds) -> tuple[TriageLevel, Flag] | None:
    """A clip too short to hold two whole cycles of the slowest rates, wherever it opens,
    cannot rule out an urgent slow heart: a rate read may be a multiple (30/min in 3.5 s read
    62.5/min), and no rate read may be a slow heart's one or two beats. A review with the
    length needed, never urgent on this alone (issue 17; docs/accuracy.md, twenty-sixth and
    twenty-seventh rounds). Every rate from the search's floor to the urgent-low bound is
    urgent, at every age.
    """
    rate, clip = h.rate_bpm, h.clip_s
    if clip is None or clip >= MIN_CLIP_FOR_SLOW_S:
        return None
    seen = slowest_rate_seen_bpm(clip)
    # Shown on the safe side, float noise aside: the clip rounded down, the slowest rate up.
    shown_clip = math.floor(round(10 * clip, 6)) / 10
    shown_seen = float(math.ceil(round(seen, 6)))
    urgent = t.heart_rate_urgent_low_bpm
    read = (
        "no rate was read, which does not rule out a slow one"
        if rate is None
        else f"the rate read, {rate:.0f}/min, may be a multiple of a slower one"
    )
    text = (
        f"Clip of {shown_clip:.1f} s: a heart slower than {shown_seen:.0f}/min may not show "
        "the two whole cycles a rate is read from, and one at or below "
        f"{urgent:.0f}/min is urgent; {read}: a review, record at least "
        f"{MIN_CLIP_FOR_SLOW_S:.1f} s or count the pulse over a minute."
    )
    details = {"slowest_seen_bpm": shown_seen, "urgent_low_bpm": urgent}
    if rate is not None:
        details["rate_bpm"] = rate
    return "review", Flag("heart_short_clip", text, shown_clip, MIN_CLIP_FOR_SLOW_S, details)


def _lung_flags(
    g: LungResult, found: Findings, t: TriageThresholds, age_band: AgeBand | None
) -> list[tuple[TriageLevel, Flag]]:
    out: list[tuple[TriageLevel, Flag]] = []
    if g.respiratory_rate_bpm is not None:
        bands = (
            t.respiratory_rate_urgent_low_bpm,
            t.respiratory_rate_review_low_bpm,
            t.respiratory_rate_review_high_bpm,
            t.respiratory_rate_urgent_high_bpm,
        )
        breaths = g.breaths if g.breaths is not None else 0.0
        words = partial(_during_auscultation, breaths, t.urgent_min_breaths, age_band)
        rate_flag = _rate_flag("respiratory", g.respiratory_rate_bpm, bands, words)
        if rate_flag is not None:
            out.append(rate_flag)
    if g.wheeze:
        # To the millisecond: the difference of two times carries float noise (0.16000000000000014).
        longest = round(max(end - start for start, end in g.wheeze_intervals_s), 3)
        pitch = None if g.wheeze_frequency_hz is None else round(g.wheeze_frequency_hz)
        near = "" if pitch is None else f" near {pitch} Hz"
        text = (
            f"Musical sound lasting {longest:.2f} s (at least {t.wheeze_min_duration_s:.2f} s)"
            f"{near}: possible wheeze, listen to the recording."
        )
        details = {} if pitch is None else {"frequency_hz": float(pitch)}
        if _maybe_voice(g):
            # A voice whose harmonics fall steeply can pass for a wheeze: say someone spoke.
            text += (
                f" Speech was heard during the recording ({g.voice_sounds} voice-like sounds "
                "left out): make sure this sound is not a voice."
            )
            details["voice_sounds"] = float(g.voice_sounds)
        flag = Flag("lung_wheeze", text, longest, t.wheeze_min_duration_s, details)
        out.append(("review", flag))
    if found.crackles:
        count = len(g.crackle_times_s)
        text = (
            f"{count} short explosive sounds (at least {t.crackles_min_count}): possible "
            "crackles, listen to the recording and compare with earlier ones."
        )
        out.append(("review", Flag("lung_crackles", text, float(count), t.crackles_min_count)))
    out.extend(_unmeasured("lung", note) for note in g.notes)
    return out


def _maybe_voice(g: LungResult) -> bool:
    """Speech was heard and the wheeze's pitch lies in the speaking range: it may be a voice
    whose harmonics the voice test did not see."""
    pitch = g.wheeze_frequency_hz
    in_range = pitch is not None and VOICE_F0_HZ[0] <= pitch <= VOICE_F0_HZ[1]
    return in_range and g.voice_sounds >= VOICE_HEARD_MIN_SOUNDS
