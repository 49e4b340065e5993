"""Triage rules on hand-made measurements: levels, flags and their wording."""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import Findings, HeartResult, LungResult, Quality, TriageThresholds
from stetho_signal._rules import triage
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
        (48.0, "review", "heart_rate_low"),
        (115.0, "review", "heart_rate_high"),
        (131.0, "urgent", "heart_rate_very_high"),
    ],
)
def test_heart_rate_bands_follow_news2(rate: float, level: str, code: str) -> None:
    result = triage(GOOD, dataclasses.replace(HEART, rate_bpm=rate), None, TriageThresholds())
    assert result.level == level
    (flag,) = result.flags
    assert flag.code == code
    assert flag.value == rate


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
