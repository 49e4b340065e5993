"""A breathing rate measured during auscultation raises a review, never `urgent`, on its own.

NEWS2 scores a resting rate counted over a minute; for chest auscultation the resident breathes
deeply through the open mouth, so the rate of a 20-30 s lung recording is not that rate
(issue 17: urgent stands on a finding the analysis is confident in; docs/accuracy.md).
The bands still choose the words: what the rate would mean at rest.
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import LungResult, Quality, TriageThresholds
from stetho_signal._rules import triage
from stetho_signal.heart import HeartResult
from stetho_signal.quality import QualityMeasures
from stetho_signal.triage import AgeBand

GOOD = Quality(1.0, True, (), (), QualityMeasures(0.0, -30.0, None, 0.5, 5.0))
LUNG = LungResult(16.0, False, (), None, (), 0.1, (), breaths=8.0)


def _breathing(rate: float, band: AgeBand, breaths: float = 8.0) -> tuple[str, str, str]:
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=rate, breaths=breaths)
    result = triage(GOOD, None, lung, TriageThresholds().for_age_band(band), band)
    (flag,) = result.flags
    return result.level, flag.code, flag.reason


def test_an_adult_rate_in_news2_urgent_band_is_a_review_asking_for_a_resting_count() -> None:
    level, code, reason = _breathing(32.0, "adult")
    assert (level, code) == ("review", "respiratory_rate_very_high_during_auscultation")
    assert reason == (
        "Respiratory rate 32 breaths/min, measured during auscultation, is at or above 25: at "
        "rest NEWS2 would score it 3, an urgent clinical review, but deep breathing for "
        "auscultation is not rest; count the resting rate over one minute."
    )


def test_a_slow_adult_rate_is_a_review_too() -> None:
    level, code, reason = _breathing(7.0, "adult")
    assert (level, code) == ("review", "respiratory_rate_very_low_during_auscultation")
    assert "7 breaths/min, measured during auscultation, is at or below 8" in reason


@pytest.mark.parametrize(("band", "rate", "years"), [("2_to_5", 44.0, "2 to 5"),
                                                     ("under_1", 55.0, "under 1")])  # fmt: skip
def test_a_child_rate_in_its_urgent_band_is_a_review_in_the_childs_words(
    band: AgeBand, rate: float, years: str
) -> None:
    level, code, reason = _breathing(rate, band)
    assert (level, code) == ("review", "respiratory_rate_very_high_during_auscultation")
    assert f"{rate:.0f} breaths/min, measured during auscultation" in reason
    assert f"at rest it would be beyond the paediatric range for {years} years, an urgent" in reason
    assert reason.endswith("count the resting rate over one minute.")


def test_review_bands_keep_their_own_flag() -> None:
    assert _breathing(22.0, "adult")[:2] == ("review", "respiratory_rate_high")
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=16.0)
    assert triage(GOOD, None, lung, TriageThresholds()).level == "routine"


def test_an_urgent_heart_rate_is_unchanged_beside_it() -> None:
    heart = HeartResult(140.0, (), (), None, None, None, 0.9, 3.0, (), beat_intervals=10)
    lung = dataclasses.replace(LUNG, respiratory_rate_bpm=32.0)
    result = triage(GOOD, heart, lung, TriageThresholds())
    assert result.level == "urgent"
    assert [f.code for f in result.flags] == [
        "heart_rate_very_high", "respiratory_rate_very_high_during_auscultation"
    ]  # fmt: skip
