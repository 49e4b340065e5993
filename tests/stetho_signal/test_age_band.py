"""Age bands: NEWS2 for adults, published paediatric ranges for children."""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import (
    AGE_BANDS,
    HeartResult,
    InvalidAudioError,
    LungResult,
    TriageThresholds,
    age_band_for,
    analyze,
)
from stetho_signal._rules import triage
from stetho_signal.quality import Quality, QualityMeasures
from stetho_sim.sounds import FS_HZ, breathing, pcg

GOOD = Quality(1.0, True, (), (), QualityMeasures(0.0, -30.0, None, 0.5, 5.0))
HEART = HeartResult(72.0, (0.1,), (0.4,), 0.03, 1.1, "systolic", 0.5, 5.0, (), beat_intervals=10)
LUNG = LungResult(16.0, False, (), None, (), 0.1, (), breaths=5.3)


@pytest.mark.parametrize(
    ("age", "band"),
    [(0.0, "under_1"), (0.58, "under_1"), (1.0, "1_to_2"), (2.0, "2_to_5"), (4.9, "2_to_5"),
     (5.0, "5_to_12"), (11.9, "5_to_12"), (12.0, "12_to_16"), (16.0, "adult"), (85.0, "adult")],
)  # fmt: skip
def test_age_falls_in_its_band(age: float, band: str) -> None:
    assert age_band_for(age) == band


def test_negative_age_is_refused() -> None:
    with pytest.raises(ValueError, match="age"):
        age_band_for(-1.0)


def test_every_band_gives_valid_rising_thresholds() -> None:
    for band in AGE_BANDS:
        t = TriageThresholds().for_age_band(band)
        assert t.heart_rate_review_low_bpm < t.heart_rate_review_high_bpm
    assert TriageThresholds().for_age_band("adult") == TriageThresholds()


@pytest.mark.parametrize(
    ("band", "rate", "level"),
    [
        ("adult", 132.0, "urgent"),  # NEWS2: >= 131 scores 3
        ("2_to_5", 132.0, "routine"),  # APLS 95-140
        ("5_to_12", 132.0, "review"),  # APLS 80-120, PALS up to 140
        ("under_1", 150.0, "routine"),  # APLS 110-160
        ("under_1", 195.0, "urgent"),  # beyond PALS 100-190
        ("5_to_12", 55.0, "urgent"),  # below PALS 60
    ],
)
def test_heart_rate_is_triaged_by_the_childs_range(band: str, rate: float, level: str) -> None:
    t = TriageThresholds().for_age_band(band)  # type: ignore[arg-type]
    heart = dataclasses.replace(HEART, rate_bpm=rate)
    assert triage(GOOD, heart, None, t, band).level == level  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("band", "rate", "level"),
    [
        # In the urgent band, a rate measured during auscultation asks for a resting count.
        ("adult", 30.0, "review"),
        ("under_1", 35.0, "routine"),  # APLS 30-40
        ("under_1", 45.0, "review"),
        ("under_1", 52.0, "review"),  # WHO IMCI fast breathing 2-12 months: >= 50
        ("1_to_2", 41.0, "review"),  # WHO IMCI 1-5 years: >= 40
        ("2_to_5", 21.0, "review"),  # below APLS 25, above the urgent 8
    ],
)
def test_respiratory_rate_is_triaged_by_the_childs_range(
    band: str, rate: float, level: str
) -> None:
    t = TriageThresholds().for_age_band(band)  # type: ignore[arg-type]
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=rate)
    result = triage(GOOD, None, lung, t, band)  # type: ignore[arg-type]
    assert result.level == level
    if result.flags and result.flags[0].code.endswith("_during_auscultation") and band != "adult":
        assert "paediatric" in result.flags[0].reason


def test_analyze_takes_the_age_band() -> None:
    x = breathing(30.0, 20.0)
    assert analyze(x, FS_HZ, "lung").triage.level == "review"  # 30/min: resting count asked
    assert analyze(x, FS_HZ, "lung", age_band="1_to_2").triage.level == "routine"
    fast, _, _ = pcg(132.0, 12.0, noise=0.02)
    assert analyze(fast, FS_HZ, "heart", age_band="2_to_5").triage.level == "routine"


def test_unknown_age_band_is_a_clear_error() -> None:
    with pytest.raises(InvalidAudioError, match="age band"):
        analyze(breathing(15.0, 5.0), FS_HZ, "lung", age_band="toddler")  # type: ignore[arg-type]
