"""A clip too short to hold two whole cycles of the slowest rates asks for a review.

Issue 17 (docs/accuracy.md, twenty-sixth and twenty-seventh rounds): a rate is read from two
beat intervals, and a clip opening just after an S1 holds two whole cycles of a 30/min heart
only from 6 s (6.3 s with the search's margin); shorter, a heart at 30/min reads at a
multiple, a normal rate hiding a severe bradycardia (64.5/min in 3 and in 3.6 s). Under 6.3 s
neither the read rate nor the absence of one can rule out an urgent slow heart: the triage
says so, with the length needed, and never calls it urgent on that alone.
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import analyze
from stetho_signal._notes import Note
from stetho_signal._rules import triage
from stetho_signal.envelope import (
    MIN_CLIP_FOR_SLOW_S,
    MIN_INTERVALS_FOR_RATE,
    slowest_rate_seen_bpm,
)
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


def test_two_whole_cycles_of_thirty_per_minute_wherever_the_clip_opens_take_6_3_s() -> None:
    assert MIN_INTERVALS_FOR_RATE == 2
    assert MIN_CLIP_FOR_SLOW_S == 6.3  # (2 + 1) cycles of 2 s, and the search's 5 %
    assert slowest_rate_seen_bpm(3.0) == pytest.approx(63.0)
    assert slowest_rate_seen_bpm(5.0) == pytest.approx(37.8)
    assert slowest_rate_seen_bpm(2.0) == pytest.approx(94.5)
    assert slowest_rate_seen_bpm(6.3) == pytest.approx(30.0)
    assert slowest_rate_seen_bpm(60.0) == 30.0  # never below the slowest rate searched


def test_a_rate_read_in_three_seconds_asks_for_a_review() -> None:
    result = triage(GOOD, READ, None, TriageThresholds(), "adult")
    flag = next(f for f in result.flags if f.code == CODE)
    assert result.level == "review"
    assert flag.reason == (
        "Clip of 3.0 s: a heart slower than 63/min may not show the two whole cycles a rate "
        "is read from, and one at or below 40/min is urgent; the rate read, 64/min, may be a "
        "multiple of a slower one: a review, record at least 6.3 s or count the pulse over a "
        "minute."
    )
    assert (flag.value, flag.threshold) == (3.0, 6.3)
    assert flag.details == {"rate_bpm": 64.5, "slowest_seen_bpm": 63.0, "urgent_low_bpm": 40.0}


@pytest.mark.parametrize("seconds", [3.0, 3.25, 3.5, 3.6])
def test_a_slow_heart_in_three_and_a_half_seconds_asks_for_a_review_too(seconds: float) -> None:
    # The twenty-sixth round's open case: one beat in the clip, read at 64.5/min unflagged.
    # Since s46-acfperiod no rate: that 0.93 s period was the best lag's periodicity, not its
    # own (the envelope does not repeat at it); the review stays.
    rate, result = _codes(30.0, seconds)
    assert rate is None
    assert CODE in {f.code for f in result.flags}
    assert result.level == "review"


def test_a_slow_heart_in_a_long_enough_clip_is_read_without_it() -> None:
    rate, result = _codes(30.0, 10.0)
    assert rate == pytest.approx(30.0, abs=1.0)
    assert CODE not in {f.code for f in result.flags}
    assert result.level == "urgent"


def test_a_normal_heart_in_two_seconds_gets_it_under_the_adult_band() -> None:
    rate, result = _codes(70.0, 2.0, "adult")
    assert rate == pytest.approx(70.0, abs=2.0)
    flag = next(f for f in result.flags if f.code == CODE)
    assert "slower than 95/min" in flag.reason and "at or below 40/min" in flag.reason
    assert result.level == "review"


@pytest.mark.parametrize(
    ("seconds", "flagged"), [(3.6, True), (5.0, True), (6.25, True), (6.3, False), (6.4, False)]
)
def test_the_bound_is_two_cycles_wherever_the_clip_opens(seconds: float, flagged: bool) -> None:
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
    quiet = triage(GOOD, dataclasses.replace(READ, clip_s=6.3), None, TriageThresholds())
    assert (quiet.level, quiet.flags) == ("routine", ())


def test_the_clip_and_the_slowest_rate_are_shown_on_the_safe_side() -> None:
    # 6.29 s is not "6.3 s", and 94.5/min is "95": a heart at 94.7/min may not show either.
    flag = triage(GOOD, dataclasses.replace(READ, clip_s=6.29), None, TriageThresholds()).flags
    assert flag[0].value == 6.2 and "Clip of 6.2 s" in flag[0].reason
    assert flag[0].details["slowest_seen_bpm"] == 31.0
    two = triage(GOOD, dataclasses.replace(READ, clip_s=2.0), None, TriageThresholds()).flags
    assert two[0].details["slowest_seen_bpm"] == 95.0


def test_float_noise_does_not_move_a_shown_number() -> None:
    # 10 x 2.39999999 s is 23.9999999 and 189/min-s over 2.99999999 s is 63.0000001: a
    # clip's length in samples over the rate carries such noise, which must not drop a tenth
    # of a second or add a beat per minute.
    near = triage(GOOD, dataclasses.replace(READ, clip_s=2.39999999), None, TriageThresholds())
    assert near.flags[0].value == 2.4
    clip = 189.0 / 63.0000001
    seen = triage(GOOD, dataclasses.replace(READ, clip_s=clip), None, TriageThresholds())
    assert seen.flags[0].details["slowest_seen_bpm"] == 63.0


NO_RATE = dataclasses.replace(
    READ, rate_bpm=None, beat_intervals=0,
    notes=(Note("too_few_beats", "heart rate needs at least two beats; the clip holds fewer"),),
)  # fmt: skip


def test_no_rate_read_in_a_short_clip_asks_for_a_review_too() -> None:
    # One or two beats of a 30/min heart read no rate: that does not rule out a slow heart.
    found = triage(GOOD, NO_RATE, None, TriageThresholds(), "adult")
    assert found.level == "review"
    assert [f.code for f in found.flags] == [CODE, "heart_unmeasured"]
    flag = found.flags[0]
    assert flag.reason == (
        "Clip of 3.0 s: a heart slower than 63/min may not show the two whole cycles a rate "
        "is read from, and one at or below 40/min is urgent; no rate was read, which does not "
        "rule out a slow one: a review, record at least 6.3 s or count the pulse over a "
        "minute."
    )
    assert (flag.value, flag.threshold) == (3.0, 6.3)
    assert flag.details == {"slowest_seen_bpm": 63.0, "urgent_low_bpm": 40.0}


def test_no_rate_read_in_a_long_enough_clip_keeps_its_note_alone() -> None:
    found = triage(GOOD, dataclasses.replace(NO_RATE, clip_s=6.3), None, TriageThresholds())
    assert (found.level, [f.code for f in found.flags]) == ("routine", ["heart_unmeasured"])
    unknown = triage(GOOD, dataclasses.replace(READ, clip_s=None), None, TriageThresholds())
    assert unknown.flags == ()


def test_analysis_carries_the_clip_length_with_or_without_a_rate() -> None:
    x, _, _ = pcg(70.0, 2.0)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.clip_s == pytest.approx(2.0, abs=0.01)
    x, _, _ = pcg(70.0, 1.0)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is None
    assert heart.clip_s == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("seconds", [3.0, 3.5])
def test_two_beats_of_a_slow_heart_read_no_rate_and_ask_for_a_review(seconds: float) -> None:
    # Cut from a longer clip so that it holds two beats (the simulator's own short clips hold
    # one): twenty-seventh round, 30/min read no rate in 3.0-3.8 s, `routine` before.
    x, _, _ = pcg(30.0, 10.0)
    result = analyze(x[: round(seconds * FS_HZ)], FS_HZ, "heart", age_band="adult")
    assert result.heart is not None and result.heart.rate_bpm is None
    assert result.triage.level == "review"
    codes = [f.code for f in result.triage.flags]
    assert CODE in codes and "heart_unmeasured" in codes
