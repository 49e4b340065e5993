"""Triage rules on hand-made measurements: levels, flags and their wording."""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import Findings, HeartResult, LungResult, Quality, TriageThresholds
from stetho_signal._rules import triage
from stetho_signal.envelope import expected_systole_s
from stetho_signal.quality import QualityMeasures

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
    beat_intervals=10,
)
LUNG = LungResult(16.0, False, (), None, (), 0.1, (), breaths=5.3)


def test_normal_findings_are_routine_without_flags() -> None:
    result = triage(GOOD, HEART, None, TriageThresholds())
    assert result.level == "routine"
    assert result.flags == ()


@pytest.mark.parametrize(
    ("rate", "level", "code"),
    [
        (38.0, "urgent", "heart_rate_very_low"),
        (40.0, "urgent", "heart_rate_very_low"),
        # Banded as shown: "40" scores as 40 (NEWS2 scores whole counts), "41" as 41.
        (40.4, "urgent", "heart_rate_very_low"),
        (40.6, "review", "heart_rate_low"),
        (48.0, "review", "heart_rate_low"),
        (50.4, "review", "heart_rate_low"),
        (115.0, "review", "heart_rate_high"),
        (110.6, "review", "heart_rate_high"),
        (130.4, "review", "heart_rate_high"),
        (130.6, "urgent", "heart_rate_very_high"),
        (131.0, "urgent", "heart_rate_very_high"),
    ],
)
def test_heart_rate_bands_follow_news2(rate: float, level: str, code: str) -> None:
    result = triage(GOOD, dataclasses.replace(HEART, rate_bpm=rate), None, TriageThresholds())
    assert result.level == level
    (flag,) = result.flags
    assert flag.code == code
    assert flag.value == rate  # the measured value, unrounded
    assert f" {round(rate)} beats/min" in flag.reason


def test_a_rate_that_is_not_a_number_raises_no_rate_flag() -> None:
    heart = dataclasses.replace(HEART, rate_bpm=float("nan"))
    result = triage(GOOD, heart, None, TriageThresholds())
    assert not any(f.code.startswith("heart_rate") for f in result.flags)


@pytest.mark.parametrize("rate", [50.6, 110.4])
def test_a_rate_shown_inside_the_normal_band_raises_nothing(rate: float) -> None:
    result = triage(GOOD, dataclasses.replace(HEART, rate_bpm=rate), None, TriageThresholds())
    assert result.level == "routine" and result.flags == ()


def test_poor_quality_overrides_everything_and_says_what_to_do() -> None:
    poor = Quality(0.1, False, ("clipping: lower the gain",), ("clipping",), GOOD.measures)
    fast = dataclasses.replace(HEART, rate_bpm=180.0)
    result = triage(poor, fast, None, TriageThresholds())
    assert result.level == "rerecord"
    (flag,) = result.flags
    assert flag.code == "quality_clipping"
    assert flag.reason == "clipping: lower the gain"
    assert flag.threshold == TriageThresholds().quality_min_score


def test_findings_add_up_to_the_highest_level() -> None:
    heart = dataclasses.replace(HEART, rr_nrmssd=0.2, murmur_contrast=3.0)
    lung = dataclasses.replace(
        LUNG,
        respiratory_rate_bpm=26.0,
        wheeze=True,
        wheeze_intervals_s=((1.0, 1.5),),
        wheeze_frequency_hz=400.0,
    )
    result = triage(GOOD, heart, lung, TriageThresholds())
    codes = {f.code for f in result.flags}
    assert codes == {
        "heart_irregular",
        "heart_murmur",
        "respiratory_rate_very_high_during_auscultation",
        "lung_wheeze",
    }
    assert result.level == "review"
    for flag in result.flags:
        assert flag.reason.endswith(".")
        assert "diagnos" not in flag.reason


def test_unmeasured_values_are_explained_without_raising_the_level() -> None:
    heart = dataclasses.replace(HEART, rate_bpm=None, notes=("heart rate needs two beats",))
    result = triage(GOOD, heart, None, TriageThresholds())
    assert result.level == "routine"
    assert [f.code for f in result.flags] == ["heart_unmeasured"]


def test_the_wheeze_flag_gives_the_longest_tone_to_the_millisecond() -> None:
    lung = dataclasses.replace(
        LUNG,
        respiratory_rate_bpm=16.0,
        wheeze=True,
        wheeze_intervals_s=((2.304, 2.464), (5.0, 5.1)),  # 2.464 - 2.304 = 0.16000000000000014
        wheeze_frequency_hz=300.0,
    )
    (flag,) = triage(GOOD, None, lung, TriageThresholds()).flags
    assert flag.code == "lung_wheeze"
    assert flag.value == 0.16
    assert "0.16 s" in flag.reason


def test_findings_are_the_thresholds_applied_to_the_measurements() -> None:
    t = TriageThresholds(irregularity_nrmssd=0.1, murmur_contrast=1.6, crackles_min_count=3)
    heart = dataclasses.replace(HEART, rr_nrmssd=0.1, murmur_contrast=1.61)
    lung = dataclasses.replace(LUNG, crackle_times_s=(1.0, 2.0, 3.0))
    found = triage(GOOD, heart, lung, t).findings
    assert found == Findings(irregular=False, murmur_suspected=True, crackles=True)
    stricter = TriageThresholds(murmur_contrast=2.0, crackles_min_count=4)
    assert triage(GOOD, heart, lung, stricter).findings.murmur_suspected is False
    assert triage(GOOD, heart, lung, stricter).findings.crackles is False
    unmeasured = dataclasses.replace(HEART, rr_nrmssd=None, murmur_contrast=None)
    assert triage(GOOD, unmeasured, None, t).findings == Findings()


def test_an_urgent_rate_from_too_few_beats_asks_for_a_review() -> None:
    fast = dataclasses.replace(HEART, rate_bpm=150.0, beat_intervals=2)
    result = triage(GOOD, fast, None, TriageThresholds())
    assert result.level == "review"
    (flag,) = result.flags
    assert flag.code == "heart_rate_very_high_unconfirmed"
    assert "only 2 beat intervals" in flag.reason and flag.reason.endswith(".")
    confirmed = dataclasses.replace(fast, beat_intervals=8)
    assert triage(GOOD, confirmed, None, TriageThresholds()).level == "urgent"


def test_a_breathing_rate_in_the_urgent_band_asks_for_a_review_from_any_clip() -> None:
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=30.0, breaths=2.5)
    assert triage(GOOD, None, lung, TriageThresholds()).level == "review"
    lung = dataclasses.replace(lung, breaths=10.0)
    assert triage(GOOD, None, lung, TriageThresholds()).level == "review"


# A half-rate read of a fast heart (CirCor 50209_PV made faster to 170/min, read at 84/min):
# evenly spaced, alike sounds, a systole longer than Weissler's for 84/min.
HALF = dataclasses.replace(
    HEART, rate_bpm=84.2, systole_s=0.36, diastole_s=0.363, s1_s2_level_ratio=1.016
)
HALF_REASON = (
    "Heart rate may be twice the read value (168 rather than 84 beats/min): its sounds are "
    "evenly spaced (S1-S2 360 ms, S2-S1 363 ms) and alike (S1 1.02 times S2), a systole 1.12 "
    "times that expected at 84/min (at least 1.00): one sound per beat at 168/min would sound "
    "the same; a review, count the pulse over a minute."
)


def _half_rate_flags(heart: HeartResult, t: TriageThresholds | None = None) -> list[str]:
    result = triage(GOOD, heart, None, t or TriageThresholds())
    codes = [f.code for f in result.flags]
    assert result.level == ("review" if codes else "routine"), result
    return codes


def test_a_routine_read_that_may_be_half_the_rate_asks_for_a_review_saying_why() -> None:
    result = triage(GOOD, HALF, None, TriageThresholds())
    assert result.level == "review"
    (flag,) = result.flags
    assert flag.code == "heart_possible_half_rate"
    assert flag.reason == HALF_REASON
    expected = 0.496 - 0.0021 * 60.0 / 0.723  # Weissler's S1-S2 for the chain's period
    assert flag.value == round(0.36 / expected, 3) == 1.119
    assert flag.threshold == 1.0
    assert flag.details == {
        "rate_bpm": 84.2, "systole_ms": 360.0, "diastole_ms": 363.0, "s1_s2_level_ratio": 1.016
    }  # fmt: skip


def test_a_read_without_the_sign_is_unchanged() -> None:
    assert _half_rate_flags(HEART) == []  # phases not measured
    normal = dataclasses.replace(HEART, systole_s=0.3, diastole_s=0.53, s1_s2_level_ratio=1.0)
    assert _half_rate_flags(normal) == []  # a resting heart: diastole far longer
    no_s2 = dataclasses.replace(HALF, s1_s2_level_ratio=None)
    assert _half_rate_flags(no_s2) == []
    assert _half_rate_flags(dataclasses.replace(HALF, systole_s=None)) == []
    assert _half_rate_flags(dataclasses.replace(HALF, diastole_s=None)) == []
    assert _half_rate_flags(dataclasses.replace(HALF, rate_bpm=None)) == []


@pytest.mark.parametrize(
    ("change", "flagged"),
    [
        ({"s1_s2_level_ratio": 1.35}, True),  # alike, at the bound
        ({"s1_s2_level_ratio": 1 / 1.35}, True),
        ({"s1_s2_level_ratio": 1.36}, False),  # S1 and S2 differ: a true S1 and S2
        ({"s1_s2_level_ratio": 1 / 1.36}, False),
        ({"systole_s": 0.33, "diastole_s": 0.4}, True),  # 0.07 apart, under 0.1 of 0.73 s
        ({"systole_s": 0.4, "diastole_s": 0.33}, True),
        ({"systole_s": 0.35, "diastole_s": 0.44}, False),  # 0.09 apart, over 0.1 of 0.79 s
        ({"systole_s": 0.44, "diastole_s": 0.35}, False),
        ({"systole_s": 0.0, "diastole_s": 0.0}, False),
        ({"rate_bpm": 55.5}, True),  # twice: 111, the review bound
        ({"rate_bpm": 55.4}, False),  # twice: under it, nothing to hide
        ({"rate_bpm": 110.0}, True),  # twice: 220, the fastest rate measured
        ({"rate_bpm": 110.1}, False),  # twice: no heart rate
    ],
)
def test_the_half_rate_sign_at_its_edges(change: dict[str, float], flagged: bool) -> None:
    codes = _half_rate_flags(dataclasses.replace(HALF, **change))
    assert codes == (["heart_possible_half_rate"] if flagged else [])


@pytest.mark.parametrize(("follows", "flagged"), [(True, False), (False, True), (None, True)])
def test_no_half_rate_sign_when_the_diastole_takes_the_rate_changes(
    follows: bool | None, flagged: bool
) -> None:
    # A varying rhythm whose systole holds while its diastole follows the cycle is a true read:
    # one sound per beat would make both "phases" whole beats, varying alike.
    codes = _half_rate_flags(dataclasses.replace(HALF, diastole_follows_cycle=follows))
    assert codes == (["heart_possible_half_rate"] if flagged else [])


def test_the_half_rate_flag_gives_its_measures_to_the_millisecond() -> None:
    heart = dataclasses.replace(HALF, systole_s=0.3604, diastole_s=0.3704)
    (flag,) = triage(GOOD, heart, None, TriageThresholds()).flags
    ratio = 0.3604 / expected_systole_s(0.3604 + 0.3704)
    assert flag.value == round(ratio, 3) == 1.114  # 1.1138 to four places
    assert (flag.details["systole_ms"], flag.details["diastole_ms"]) == (360.0, 370.0)
    assert "(S1-S2 360 ms, S2-S1 370 ms)" in flag.reason and "1.11 times that" in flag.reason


def test_the_half_rate_sign_is_weighed_against_the_configured_ratio() -> None:
    ratio = 0.36 / expected_systole_s(0.36 + 0.363)
    at = TriageThresholds(half_rate_systole_ratio=ratio)
    assert _half_rate_flags(HALF, at) == ["heart_possible_half_rate"]
    over = TriageThresholds(half_rate_systole_ratio=ratio + 1e-9)
    assert _half_rate_flags(HALF, over) == []
    flag = triage(GOOD, HALF, None, at).flags[0]
    assert flag.threshold == ratio and "(at least 1.12)" in flag.reason


def test_the_half_rate_sign_uses_the_age_bands_review_bound() -> None:
    teen = TriageThresholds().for_age_band("12_to_16")  # review from 100/min, and at 60 or under
    slow = dataclasses.replace(HALF, rate_bpm=49.9)
    assert [f.code for f in triage(GOOD, slow, None, teen, "12_to_16").flags] == ["heart_rate_low"]
    codes = [
        f.code for f in triage(GOOD, dataclasses.replace(slow, rate_bpm=50.0), None, teen).flags
    ]
    assert codes == ["heart_rate_low", "heart_possible_half_rate"]


def test_the_half_rate_sign_adds_to_other_findings_and_leaves_urgent_alone() -> None:
    murmur = dataclasses.replace(HALF, murmur_contrast=3.0)
    codes = [f.code for f in triage(GOOD, murmur, None, TriageThresholds()).flags]
    assert codes == ["heart_possible_half_rate", "heart_murmur"]
    slow = dataclasses.replace(HALF, rate_bpm=38.0)  # twice is under the review bound
    result = triage(GOOD, slow, None, TriageThresholds())
    assert result.level == "urgent" and [f.code for f in result.flags] == ["heart_rate_very_low"]


def test_an_opening_snap_asks_for_a_review_with_its_delay_and_share() -> None:
    # 80.45 ms: shown as 80, where a scale 0.1 % off would show 81.
    heart = dataclasses.replace(HEART, snap_fraction=0.8, snap_delay_s=0.08045)
    result = triage(GOOD, heart, None, TriageThresholds())
    assert result.level == "review" and result.findings.opening_snap is True
    (flag,) = result.flags
    assert flag.code == "heart_opening_snap"
    assert flag.reason == (
        "A second sound 80 ms after S2 in 80% of beats (at least 75%): possible opening snap of "
        "mitral stenosis, or a widely split S2; a hint to listen at the apex, not a finding."
    )
    assert (flag.value, flag.threshold, flag.details) == (0.8, 0.75, {"delay_ms": 80.0})


def test_an_opening_snap_in_exactly_its_share_of_beats_counts() -> None:
    heart = dataclasses.replace(HEART, snap_fraction=0.75, snap_delay_s=0.08)
    result = triage(GOOD, heart, None, TriageThresholds())
    assert result.findings.opening_snap is True
    assert [f.code for f in result.flags] == ["heart_opening_snap"]


@pytest.mark.parametrize(
    ("fraction", "delay_s"), [(0.74, 0.08), (None, 0.08), (0.8, None), (None, None)]
)
def test_no_opening_snap_flag_under_its_share_or_without_its_measures(
    fraction: float | None, delay_s: float | None
) -> None:
    heart = dataclasses.replace(HEART, snap_fraction=fraction, snap_delay_s=delay_s)
    result = triage(GOOD, heart, None, TriageThresholds())
    assert result.level == "routine" and result.flags == ()


@pytest.mark.parametrize(("phase", "other"), [("systolic", "diastole"), ("diastolic", "systole")])
def test_the_murmur_flag_names_its_louder_phase(phase: str, other: str) -> None:
    heart = dataclasses.replace(HEART, murmur_contrast=3.0, murmur_phase=phase)
    (flag,) = triage(GOOD, heart, None, TriageThresholds()).flags
    assert flag.code == "heart_murmur" and flag.details == {"phase": phase}
    assert flag.reason.startswith(f"Sound in {phase} phase is 3.0 times that in {other} ")


def test_a_murmur_flag_without_a_phase_carries_no_phase_detail() -> None:
    heart = dataclasses.replace(HEART, murmur_contrast=3.0, murmur_phase=None)
    (flag,) = triage(GOOD, heart, None, TriageThresholds()).flags
    assert flag.code == "heart_murmur" and flag.details == {}
