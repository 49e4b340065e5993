"""A clip too short for the cycle search to reach the slowest rates asks for a review.

Issue 17 (docs/accuracy.md, twenty-sixth round): the search stops at 60 % of the clip, so a
heart at 30/min in 3 s reads about 64/min, a normal rate hiding a severe bradycardia. Under
3.5 s the read rate cannot rule out an urgent slow heart: the triage says so, with the length
needed, and never calls it urgent on that alone.
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import analyze
from stetho_signal._rules import triage
from stetho_signal.envelope import MIN_CLIP_FOR_SLOW_S, slowest_rate_seen_bpm
from stetho_signal.heart import HeartResult
from stetho_signal.quality import Quality, QualityMeasures
from stetho_signal.triage import Triage, TriageThresholds
from stetho_sim.sounds import FS_HZ, pcg

CODE = "heart_short_clip"
GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))
# A normal rate read from 3 s: all else quiet, so only this rule can raise the level.
READ = HeartResult(64.5, (), (), 0.03, 1.1, "systolic", 0.9, 3.0, (), beat_intervals=4,
                   clip_s=3.0)  # fmt: skip


def _codes(rate: float, seconds: float, band: str | None = None) -> tuple[float | None, Triage]:
    x, _, _ = pcg(rate, seconds)
    result = analyze(x, FS_HZ, "heart", age_band=band)  # type: ignore[arg-type]
    assert result.heart is not None
    return result.heart.rate_bpm, result.triage


def test_the_search_needs_three_and_a_half_seconds_for_thirty_per_minute() -> None:
    assert MIN_CLIP_FOR_SLOW_S == 3.5
    assert slowest_rate_seen_bpm(3.0) == pytest.approx(35.0)
    assert slowest_rate_seen_bpm(2.0) == pytest.approx(52.5)
    assert slowest_rate_seen_bpm(3.5) == pytest.approx(30.0)
    assert slowest_rate_seen_bpm(60.0) == 30.0  # never below the slowest rate searched


def test_a_slow_heart_in_three_seconds_reads_fast_but_asks_for_a_review() -> None:
    rate, result = _codes(30.0, 3.0)
    assert rate is not None and rate > 60.0  # what the search can see: a multiple
    flag = next(f for f in result.flags if f.code == CODE)
    assert result.level == "review"
    assert flag.reason == (
        "Clip of 3.0 s: a heart slower than 35/min would not be seen, and one at or below "
        "40/min is urgent; the rate read, 64/min, may be a multiple of a slower one: a review, "
        "record at least 3.5 s or count the pulse over a minute."
    )
    assert (flag.value, flag.threshold) == (3.0, 3.5)
    assert flag.details == {"rate_bpm": 64.5, "slowest_seen_bpm": 35.0, "urgent_low_bpm": 40.0}


def test_a_slow_heart_in_a_long_enough_clip_is_read_without_it() -> None:
    rate, result = _codes(30.0, 10.0)
    assert rate == pytest.approx(30.0, abs=1.0)
    assert CODE not in {f.code for f in result.flags}
    assert result.level == "urgent"


def test_a_normal_heart_in_two_seconds_gets_it_under_the_adult_band() -> None:
    rate, result = _codes(70.0, 2.0, "adult")
    assert rate == pytest.approx(70.0, abs=2.0)
    flag = next(f for f in result.flags if f.code == CODE)
    assert "slower than 53/min" in flag.reason and "at or below 40/min" in flag.reason
    assert result.level == "review"


@pytest.mark.parametrize(("seconds", "flagged"), [(3.45, True), (3.5, False), (3.6, False)])
def test_the_bound_is_the_search_s_own(seconds: float, flagged: bool) -> None:
    _, result = _codes(70.0, seconds)
    assert (CODE in {f.code for f in result.flags}) == flagged


def test_a_child_s_band_words_its_own_urgent_bound() -> None:
    _, result = _codes(120.0, 2.0, "under_1")
    flag = next(f for f in result.flags if f.code == CODE)
    assert flag.details["urgent_low_bpm"] == 100.0
    assert "at or below 100/min is urgent" in flag.reason


def test_alone_it_raises_a_review_never_urgent() -> None:
    found = triage(GOOD, READ, None, TriageThresholds(), "adult")
    assert found.level == "review"
    assert [f.code for f in found.flags] == [CODE]
    quiet = triage(GOOD, dataclasses.replace(READ, clip_s=3.5), None, TriageThresholds())
    assert (quiet.level, quiet.flags) == ("routine", ())


def test_the_clip_and_the_slowest_rate_are_shown_on_the_safe_side() -> None:
    # 3.49 s is not "3.5 s", and 52.5/min is "53": a heart at 52.7/min is not seen either.
    flag = triage(GOOD, dataclasses.replace(READ, clip_s=3.49), None, TriageThresholds()).flags
    assert flag[0].value == 3.4 and "Clip of 3.4 s" in flag[0].reason
    assert flag[0].details["slowest_seen_bpm"] == 31.0
    two = triage(GOOD, dataclasses.replace(READ, clip_s=2.0), None, TriageThresholds()).flags
    assert two[0].details["slowest_seen_bpm"] == 53.0


def test_float_noise_does_not_move_a_shown_number() -> None:
    # 10 x 2.39999999 s is 23.9999999 and 105/min-s over 2.99999999 s is 35.0000001: a
    # clip's length in samples over the rate carries such noise, which must not drop a tenth
    # of a second or add a beat per minute.
    near = triage(GOOD, dataclasses.replace(READ, clip_s=2.39999999), None, TriageThresholds())
    assert near.flags[0].value == 2.4
    clip = 105.0 / 35.0000001
    seen = triage(GOOD, dataclasses.replace(READ, clip_s=clip), None, TriageThresholds())
    assert seen.flags[0].details["slowest_seen_bpm"] == 35.0


def test_no_rate_read_leaves_the_existing_notes() -> None:
    found = triage(GOOD, dataclasses.replace(READ, rate_bpm=None), None, TriageThresholds())
    assert CODE not in {f.code for f in found.flags}
    unknown = triage(GOOD, dataclasses.replace(READ, clip_s=None), None, TriageThresholds())
    assert unknown.flags == ()


def test_analysis_carries_the_clip_length_only_with_a_rate() -> None:
    x, _, _ = pcg(70.0, 2.0)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.clip_s == pytest.approx(2.0, abs=0.01)
    x, _, _ = pcg(70.0, 1.0)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is None and heart.clip_s is None
