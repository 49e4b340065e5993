"""Triage at its exact edges: every NEWS2 band boundary on both sides, every flag kept.

The rules are reached through one name, `run_triage`, so that moving them (into
`stetho_signal.triage`, say) means re-pointing one import. The edges are written as NEWS2
states them (Royal College of Physicians, NEWS2, 2017, chart 1): pulse <= 40 scores 3, 41-50
scores 1, 51-90 scores 0, 91-110 scores 1, 111-130 scores 2, >= 131 scores 3; respiration
<= 8 scores 3, 9-11 scores 1, 12-20 scores 0, 21-24 scores 2, >= 25 scores 3.
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import Flag, HeartResult, LungResult, Quality, Triage, TriageThresholds
from stetho_signal._rules import triage as run_triage
from stetho_signal.quality import QualityMeasures
from stetho_signal.triage import AGE_BANDS, check_details

GOOD = Quality(1.0, True, (), (), QualityMeasures(0.0, -30.0, None, 0.5, 5.0))
HEART = HeartResult(
    rate_bpm=72.0,
    s1_s=(0.1,),
    s2_s=(0.4,),
    rr_nrmssd=0.03,
    murmur_contrast=1.1,
    murmur_phase="systolic",
    periodicity=0.5,
    sound_prominence=5.0,
    notes=(),
    beat_intervals=10,  # enough for an urgent rate to stand
)
LUNG = LungResult(16.0, False, (), None, (), 0.1, (), breaths=5.3)
WHY = "NEWS2 scores it 3: urgent clinical review"
AT_REST = (
    "at rest NEWS2 would score it 3, an urgent clinical review, but deep breathing for "
    "auscultation is not rest; count the resting rate over one minute."
)


def heart_at(rate: float) -> Triage:
    return run_triage(GOOD, dataclasses.replace(HEART, rate_bpm=rate), None, TriageThresholds())


def breathing_at(rate: float) -> Triage:
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=rate)
    return run_triage(GOOD, None, lung, TriageThresholds())


@pytest.mark.parametrize(
    ("rate", "level", "flag"),
    [
        (40.0, "urgent", Flag("heart_rate_very_low",
            f"Heart rate 40 beats/min is at or below 40; {WHY}.", 40.0, 40.0)),
        (41.0, "review", Flag("heart_rate_low",
            "Heart rate 41 beats/min is at or below 50: worth a review.", 41.0, 50.0)),
        (50.0, "review", Flag("heart_rate_low",
            "Heart rate 50 beats/min is at or below 50: worth a review.", 50.0, 50.0)),
        (51.0, "routine", None),
        (110.0, "routine", None),
        (111.0, "review", Flag("heart_rate_high",
            "Heart rate 111 beats/min is at or above 111: worth a review.", 111.0, 111.0)),
        (130.0, "review", Flag("heart_rate_high",
            "Heart rate 130 beats/min is at or above 111: worth a review.", 130.0, 111.0)),
        (131.0, "urgent", Flag("heart_rate_very_high",
            f"Heart rate 131 beats/min is at or above 131; {WHY}.", 131.0, 131.0)),
    ],
)  # fmt: skip
def test_heart_rate_edges(rate: float, level: str, flag: Flag | None) -> None:
    result = heart_at(rate)
    assert result.level == level
    assert result.flags == (() if flag is None else (flag,))


@pytest.mark.parametrize(
    ("rate", "level", "flag"),
    [
        (8.0, "review", Flag("respiratory_rate_very_low_during_auscultation",
            "Respiratory rate 8 breaths/min, measured during auscultation, is at or below 8: "
            f"{AT_REST}", 8.0, 8.0)),
        (9.0, "review", Flag("respiratory_rate_low",
            "Respiratory rate 9 breaths/min is at or below 11: worth a review.", 9.0, 11.0)),
        (11.0, "review", Flag("respiratory_rate_low",
            "Respiratory rate 11 breaths/min is at or below 11: worth a review.", 11.0, 11.0)),
        (12.0, "routine", None),
        (20.0, "routine", None),
        (21.0, "review", Flag("respiratory_rate_high",
            "Respiratory rate 21 breaths/min is at or above 21: worth a review.", 21.0, 21.0)),
        (24.0, "review", Flag("respiratory_rate_high",
            "Respiratory rate 24 breaths/min is at or above 21: worth a review.", 24.0, 21.0)),
        (25.0, "review", Flag("respiratory_rate_very_high_during_auscultation",
            "Respiratory rate 25 breaths/min, measured during auscultation, is at or above 25: "
            f"{AT_REST}", 25.0, 25.0)),
    ],
)  # fmt: skip
def test_breathing_rate_edges(rate: float, level: str, flag: Flag | None) -> None:
    result = breathing_at(rate)
    assert result.level == level
    assert result.flags == (() if flag is None else (flag,))


def test_each_threshold_is_read_from_its_own_field() -> None:
    # Custom bands far from the defaults: a rule that read the wrong field would misfire here.
    t = TriageThresholds(
        heart_rate_urgent_low_bpm=30.0,
        heart_rate_review_low_bpm=45.0,
        heart_rate_review_high_bpm=100.0,
        heart_rate_urgent_high_bpm=140.0,
        respiratory_rate_urgent_low_bpm=5.0,
        respiratory_rate_review_low_bpm=7.0,
        respiratory_rate_review_high_bpm=30.0,
        respiratory_rate_urgent_high_bpm=40.0,
    )
    heart = dataclasses.replace(HEART, rate_bpm=0.0)
    expected = {
        30.0: ("urgent", "heart_rate_very_low", 30.0),
        45.0: ("review", "heart_rate_low", 45.0),
        46.0: ("routine", None, None),
        99.0: ("routine", None, None),
        100.0: ("review", "heart_rate_high", 100.0),
        140.0: ("urgent", "heart_rate_very_high", 140.0),
    }
    for rate, (level, code, threshold) in expected.items():
        result = run_triage(GOOD, dataclasses.replace(heart, rate_bpm=rate), None, t)
        assert result.level == level, rate
        assert [(f.code, f.threshold) for f in result.flags] == (
            [] if code is None else [(code, threshold)]
        ), rate
    breaths = {
        5.0: ("review", "respiratory_rate_very_low_during_auscultation", 5.0),
        7.0: ("review", "respiratory_rate_low", 7.0),
        8.0: ("routine", None, None),
        29.0: ("routine", None, None),
        30.0: ("review", "respiratory_rate_high", 30.0),
        40.0: ("review", "respiratory_rate_very_high_during_auscultation", 40.0),
    }
    for rate, (level, code, threshold) in breaths.items():
        lung = dataclasses.replace(LUNG, respiratory_rate_bpm=rate)
        result = run_triage(GOOD, None, lung, t)
        assert result.level == level, rate
        assert [(f.code, f.threshold) for f in result.flags] == (
            [] if code is None else [(code, threshold)]
        ), rate


def test_crackles_flag_is_kept_with_its_count_and_reason() -> None:
    lung = dataclasses.replace(LUNG, crackle_times_s=(0.5, 1.2, 2.0, 2.1))
    result = run_triage(GOOD, None, lung, TriageThresholds())
    assert result.level == "review"
    assert result.flags == (
        Flag(
            "lung_crackles",
            "4 short explosive sounds (at least 3): possible crackles, listen to the recording "
            "and compare with earlier ones.",
            4.0,
            3,
        ),
    )


def test_crackles_edge_is_the_minimum_count() -> None:
    two = dataclasses.replace(LUNG, crackle_times_s=(0.5, 1.0))
    assert run_triage(GOOD, None, two, TriageThresholds()).flags == ()
    three = dataclasses.replace(LUNG, crackle_times_s=(0.5, 1.0, 1.5))
    (flag,) = run_triage(GOOD, None, three, TriageThresholds()).flags
    assert (flag.code, flag.value, flag.threshold) == ("lung_crackles", 3.0, 3)


def test_wheeze_flag_exact() -> None:
    lung = dataclasses.replace(
        LUNG, wheeze=True, wheeze_intervals_s=((1.0, 1.25), (3.0, 3.1)), wheeze_frequency_hz=412.4
    )
    result = run_triage(GOOD, None, lung, TriageThresholds())
    assert result.level == "review"
    assert result.flags == (
        Flag(
            "lung_wheeze",
            "Musical sound lasting 0.25 s (at least 0.10 s) near 412 Hz: possible wheeze, "
            "listen to the recording.",
            0.25,
            0.1,
            {"frequency_hz": 412.0},
        ),
    )


def test_irregular_and_murmur_flags_exact() -> None:
    heart = dataclasses.replace(HEART, rr_nrmssd=0.234, murmur_contrast=2.04)
    result = run_triage(GOOD, heart, None, TriageThresholds())
    assert result.level == "review"
    assert result.flags == (
        Flag(
            "heart_irregular",
            "Beat-to-beat intervals vary by 0.23 (normalised RMSSD) above 0.10: irregular "
            "rhythm, consider an ECG.",
            0.234,
            0.1,
        ),
        Flag(
            "heart_murmur",
            "Sound in systolic phase is 2.0 times that in diastole (above 1.6): possible "
            "systolic murmur, a hint to listen to the recording, not a finding.",
            2.04,
            1.6,
            {"phase": "systolic"},
        ),
    )
    diastolic = dataclasses.replace(heart, rr_nrmssd=0.05, murmur_phase="diastolic")
    (flag,) = run_triage(GOOD, diastolic, None, TriageThresholds()).flags
    assert "diastolic phase is 2.0 times that in systole" in flag.reason
    assert flag.details == {"phase": "diastolic"}


def test_flags_need_their_measurement() -> None:
    # Irregularity or murmur without a measured value: nothing to explain, so no flag.
    heart = dataclasses.replace(HEART, rr_nrmssd=None, murmur_contrast=None)
    result = run_triage(GOOD, heart, None, TriageThresholds())
    assert (result.level, result.flags) == ("routine", ())


def test_irregularity_and_murmur_edges_are_strictly_above() -> None:
    at = dataclasses.replace(HEART, rr_nrmssd=0.1, murmur_contrast=1.6)
    assert run_triage(GOOD, at, None, TriageThresholds()).flags == ()
    above = dataclasses.replace(HEART, rr_nrmssd=0.1001, murmur_contrast=1.6001)
    codes = [f.code for f in run_triage(GOOD, above, None, TriageThresholds()).flags]
    assert codes == ["heart_irregular", "heart_murmur"]


def test_unmeasured_notes_are_routine_flags_in_order() -> None:
    heart = dataclasses.replace(HEART, rate_bpm=None, notes=("a", "b"))
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=None, notes=("c",))
    result = run_triage(GOOD, heart, lung, TriageThresholds())
    assert (result.level, result.flags) == (
        "routine",
        (
            Flag("heart_unmeasured", "a", None, None),
            Flag("heart_unmeasured", "b", None, None),
            Flag("lung_unmeasured", "c", None, None),
        ),
    )


def test_level_is_the_highest_whatever_the_order() -> None:
    # urgent heart after review breathing, and review after urgent: urgent both ways.
    very_slow = dataclasses.replace(HEART, rate_bpm=35.0)
    fast_breath = dataclasses.replace(LUNG, respiratory_rate_bpm=22.0)
    assert run_triage(GOOD, very_slow, fast_breath, TriageThresholds()).level == "urgent"
    very_fast = dataclasses.replace(HEART, rate_bpm=150.0)
    wheeze = dataclasses.replace(
        LUNG, wheeze=True, wheeze_intervals_s=((0.0, 0.5),), wheeze_frequency_hz=300.0
    )
    assert run_triage(GOOD, very_fast, wheeze, TriageThresholds()).level == "urgent"
    review_only = dataclasses.replace(HEART, rate_bpm=115.0, notes=("n",))
    assert run_triage(GOOD, review_only, None, TriageThresholds()).level == "review"


def test_poor_quality_gives_one_flag_per_problem() -> None:
    poor = Quality(0.2, False, ("too short", "no contact"), ("short", "contact"), GOOD.measures)
    result = run_triage(poor, HEART, LUNG, TriageThresholds(quality_min_score=0.6))
    assert (result.level, result.flags) == (
        "rerecord",
        (
            Flag("quality_short", "too short", 0.2, 0.6),
            Flag("quality_contact", "no contact", 0.2, 0.6),
        ),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"heart_rate_urgent_low_bpm": -1.0},
        {"crackles_min_count": True},
        {"quality_min_score": "0.5"},
        {"heart_rate_review_low_bpm": 111.0},  # review low must stay below review high
        {"heart_rate_urgent_low_bpm": 51.0},
        {"heart_rate_urgent_high_bpm": 110.0},
        {"respiratory_rate_review_low_bpm": 21.0},
        {"respiratory_rate_urgent_low_bpm": 12.0},
        {"respiratory_rate_urgent_high_bpm": 20.0},
    ],
)
def test_thresholds_refuse_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="threshold"):
        TriageThresholds(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("murmur_contrast", float("nan")),
        ("quality_min_score", float("nan")),
        ("heart_rate_urgent_high_bpm", float("inf")),  # would pass the rising-bands check
        ("wheeze_min_duration_s", float("-inf")),
        ("irregularity_nrmssd", -0.1),
    ],
)
def test_thresholds_built_in_python_refuse_non_finite_and_negative(name: str, value: float) -> None:
    # Config loading refuses these already; the model must too when built directly.
    with pytest.raises(ValueError, match=rf"threshold {name} must be a finite number >= 0"):
        TriageThresholds(**{name: value})  # type: ignore[arg-type]


def test_thresholds_accept_equal_neighbours_and_zero() -> None:
    TriageThresholds(heart_rate_urgent_low_bpm=50.0, heart_rate_urgent_high_bpm=111.0)
    TriageThresholds(respiratory_rate_urgent_low_bpm=11.0, respiratory_rate_urgent_high_bpm=21.0)
    TriageThresholds(quality_min_score=0.0, crackles_min_count=0)


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown triage level 'fine'"):
        Triage("fine", ())  # type: ignore[arg-type]


def test_wheeze_duration_is_rounded_to_the_millisecond() -> None:
    lung = dataclasses.replace(
        LUNG, wheeze=True, wheeze_intervals_s=((1.0, 1.12345),), wheeze_frequency_hz=300.0
    )
    (flag,) = run_triage(GOOD, None, lung, TriageThresholds()).flags
    assert flag.value == 0.123


def test_quality_codes_and_problems_must_pair_up() -> None:
    odd = Quality(0.1, False, ("one", "two"), ("only_one",), GOOD.measures)
    with pytest.raises(ValueError, match="zip"):
        run_triage(odd, HEART, None, TriageThresholds())


def test_threshold_order_errors_say_which_rates() -> None:
    with pytest.raises(ValueError) as heart:
        TriageThresholds(heart_rate_review_low_bpm=120.0)
    assert str(heart.value) == "heart-rate thresholds must rise: urgent low <= review low < ..."
    with pytest.raises(ValueError) as breath:
        TriageThresholds(respiratory_rate_review_low_bpm=22.0)
    assert str(breath.value) == (
        "respiratory-rate thresholds must rise: urgent low <= review low..."
    )


def test_an_urgent_heart_rate_needs_enough_beat_intervals() -> None:
    t = TriageThresholds()
    enough = dataclasses.replace(HEART, rate_bpm=140.0, beat_intervals=4)
    assert run_triage(GOOD, enough, None, t).level == "urgent"
    few = dataclasses.replace(HEART, rate_bpm=140.0, beat_intervals=3)
    result = run_triage(GOOD, few, None, t)
    assert (result.level, result.flags) == (
        "review",
        (
            Flag(
                "heart_rate_very_high_unconfirmed",
                f"Heart rate 140 beats/min is at or above 131; {WHY}, but measured over only 3 "
                "beat intervals (under 4): a review, and record again to confirm.",
                140.0,
                131.0,
                {"beat_intervals": 3.0, "min_beat_intervals": 4.0},
            ),
        ),
    )
    review = dataclasses.replace(HEART, rate_bpm=115.0, beat_intervals=1)
    (flag,) = run_triage(GOOD, review, None, t).flags
    assert flag.code == "heart_rate_high"  # a review needs no confirmation


def test_a_breathing_rate_from_few_breaths_says_so_and_stays_a_review() -> None:
    t = TriageThresholds()
    enough = dataclasses.replace(LUNG, respiratory_rate_bpm=30.0, breaths=3.0)
    (flag,) = run_triage(GOOD, None, enough, t).flags
    assert "only" not in flag.reason and flag.details == {}
    for few in (2.9, None):
        lung = dataclasses.replace(LUNG, respiratory_rate_bpm=30.0, breaths=few)
        result = run_triage(GOOD, None, lung, t)
        (flag,) = result.flags
        assert result.level == "review"
        assert flag.code == "respiratory_rate_very_high_during_auscultation"
        assert f"during auscultation over only {few or 0:g} breaths (under 3)," in flag.reason
        assert flag.details == {"breaths": few or 0.0, "min_breaths": 3.0}


def test_a_childs_urgent_rate_names_the_childs_range() -> None:
    limits = TriageThresholds().for_age_band("2_to_5")
    fast = dataclasses.replace(HEART, rate_bpm=200.0)
    result = run_triage(GOOD, fast, None, limits, "2_to_5")
    (flag,) = result.flags
    assert result.level == "urgent" and flag.code == "heart_rate_very_high"
    assert "beyond the paediatric range for 2 to 5 years: urgent clinical review" in flag.reason


def test_a_recording_sent_back_keeps_what_was_found() -> None:
    poor = Quality(0.1, False, ("noise: hold still",), ("noise",), GOOD.measures)
    irregular = dataclasses.replace(HEART, rr_nrmssd=0.3)
    result = run_triage(poor, irregular, None, TriageThresholds())
    assert result.level == "rerecord" and result.findings.irregular is True


def test_a_wheeze_of_unknown_pitch_is_flagged_without_one() -> None:
    lung = dataclasses.replace(
        LUNG, wheeze=True, wheeze_intervals_s=((1.0, 1.4),), wheeze_frequency_hz=None
    )
    (flag,) = run_triage(GOOD, None, lung, TriageThresholds()).flags
    assert flag.code == "lung_wheeze" and flag.details == {}
    assert "None" not in flag.reason
    assert flag.reason == (
        "Musical sound lasting 0.40 s (at least 0.10 s): possible wheeze, listen to the recording."
    )


def test_an_unknown_age_band_is_refused_with_the_known_ones() -> None:
    known = ", ".join(AGE_BANDS)
    with pytest.raises(ValueError) as refused:
        TriageThresholds().for_age_band("teen")  # type: ignore[arg-type]
    assert str(refused.value) == f"unknown age band 'teen'; one of {known}"


def test_a_newer_agents_flag_may_carry_a_few_details_and_short_words() -> None:
    eight = {f"k{i}": float(i) for i in range(8)}
    check_details("heart_new_sign", eight)
    check_details("heart_new_sign", {"word": "x" * 40})
    with pytest.raises(ValueError) as refused:
        check_details("heart_new_sign", {**eight, "k8": 8.0})
    assert str(refused.value) == "flag 'heart_new_sign': at most 8 details"


@pytest.mark.parametrize(
    ("code", "details", "message"),
    [
        ("lung_wheeze", {"pitch_hz": 400.0},
         "flag 'lung_wheeze' has no detail 'pitch_hz'; one of frequency_hz, voice_sounds"),
        ("heart_unmeasured", {"reason": "x"},
         "flag 'heart_unmeasured' has no detail 'reason'; one of note, measured"),
        ("heart_opening_snap", {"delay_ms": "long"},
         "flag 'heart_opening_snap': detail delay_ms='long' must be a finite number"),
    ],
)  # fmt: skip
def test_a_malformed_detail_is_refused_in_words(
    code: str, details: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        check_details(code, details)
    assert str(refused.value) == message


@pytest.mark.parametrize("band", [b for b in AGE_BANDS if b != "adult"])
def test_a_childs_bands_replace_every_adult_bound_even_a_site_setting(band: str) -> None:
    site = TriageThresholds(respiratory_rate_urgent_low_bpm=6.0, heart_rate_urgent_low_bpm=35.0)
    assert site.for_age_band(band) == TriageThresholds().for_age_band(band)


def _slow(rate: float, share: float | None, beats: int = 10) -> HeartResult:
    return dataclasses.replace(
        HEART, rate_bpm=rate, beat_intervals=beats, sound_high_band_share=share
    )


def test_a_very_low_rate_from_sounds_above_the_hearts_band_is_a_review_in_full() -> None:
    result = run_triage(GOOD, _slow(30.4, 0.613), None, TriageThresholds())
    assert (result.level, result.flags) == (
        "review",
        (
            Flag(
                "heart_rate_very_low_unconfirmed",
                f"Heart rate 30 beats/min is at or below 40; {WHY}, but 61% of the power its "
                "sounds add lies at 300-1000 Hz (over 60%), where heart sounds have little and "
                "crackles and breath sounds much: they may not be heart sounds; a review, count "
                "the pulse and record again at the heart.",
                30.4,
                40.0,
                {"high_band_share": 0.613, "max_high_band_share": 0.6},
            ),
        ),
    )
    check_details(result.flags[0].code, result.flags[0].details)


@pytest.mark.parametrize(
    ("rate", "share", "beats", "level", "code"),
    [
        (40.0, 0.6, 10, "urgent", "heart_rate_very_low"),  # at the bound: heart sounds
        (40.0, 0.601, 10, "review", "heart_rate_very_low_unconfirmed"),
        (40.0, None, 10, "urgent", "heart_rate_very_low"),  # nothing rose: the rate stands
        (41.0, 0.9, 10, "review", "heart_rate_low"),  # the review band reads no share
        (131.0, 0.9, 10, "urgent", "heart_rate_very_high"),  # nor does the high band
        (131.0, 0.9, 3, "review", "heart_rate_very_high_unconfirmed"),
    ],
)
def test_the_share_is_read_for_a_very_low_rate_only_and_strictly_above_its_bound(
    rate: float, share: float | None, beats: int, level: str, code: str
) -> None:
    result = run_triage(GOOD, _slow(rate, share, beats), None, TriageThresholds())
    assert (result.level, [f.code for f in result.flags]) == (level, [code])


def test_too_few_beats_are_said_before_the_share() -> None:
    (flag,) = run_triage(GOOD, _slow(30.0, 0.9, beats=3), None, TriageThresholds()).flags
    assert flag.code == "heart_rate_very_low_unconfirmed"
    assert flag.details == {"beat_intervals": 3.0, "min_beat_intervals": 4.0}
    assert "only 3 beat intervals" in flag.reason and "300-1000 Hz" not in flag.reason


def test_the_share_is_weighed_against_its_own_threshold() -> None:
    t = TriageThresholds(urgent_low_max_high_band_share=0.8, heart_rate_urgent_low_bpm=35.0)
    assert run_triage(GOOD, _slow(30.0, 0.8), None, t).level == "urgent"
    result = run_triage(GOOD, _slow(30.0, 0.85), None, t)
    (flag,) = result.flags
    assert (result.level, flag.value, flag.threshold) == ("review", 30.0, 35.0)
    assert flag.details == {"high_band_share": 0.85, "max_high_band_share": 0.8}
    assert "is at or below 35; " in flag.reason and "at 300-1000 Hz (over 80%)," in flag.reason


def test_a_value_flagged_above_its_threshold_never_reads_as_the_threshold() -> None:
    # Before: "1.6 times that in systole (above 1.6)": 1.63 rounded to the threshold's decimal.
    from stetho_signal._rules import _above

    assert _above(1.63, 1.6, 1) == "1.63" and _above(2.04, 1.6, 1) == "2.0"
    assert _above(1.6004, 1.6, 1) == "1.600"  # three decimals at most
    assert _above(0.104, 0.1, 2) == "0.104"
