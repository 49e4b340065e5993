"""A very fast heart rate whose envelope repeats little and whose fainter beats barely stand
above the sound between them is not borne out.

Under breath three to ten times louder than the heart, a chain that counts breath sounds as
beats repeats at its rate under 0.2 and a quarter of its beats stand under 4 times the
heart-band level between the sounds: of 40 false fast reads the other rules left urgent the
two bounds together take 26, of 2,313 true urgent reads 4 (docs/accuracy.md, thirty-fourth
round, bounds chosen on half the probe's patients).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stetho_signal import TriageThresholds
from stetho_signal._fast_read import (
    BEAT_PROMINENCE_MIN_BEATS,
    beat_levels,
    beat_measures,
    beat_prominence,
    beat_step,
)
from stetho_signal._rules import triage
from stetho_signal.bands import Spectrum
from stetho_signal.heart import HeartResult, analyze_heart
from stetho_signal.quality import Quality, QualityMeasures
from stetho_sim.sounds import burst, systole_s

FS_HZ = 4000.0
GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))


def test_the_prominence_is_the_quarter_faintest_s1_over_the_median_between_sounds() -> None:
    env = np.ones(500)  # 10 s at 50 Hz, the level between sounds 1
    s1 = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    s2 = s1 + 0.5
    levels = np.array([8.0, 2.0, 6.0, 3.0, 10.0])  # quartile: 3
    for t, level in zip(s1, levels, strict=True):
        env[round(t * 50)] = level
    # A sound's own blocks within 60 ms (three at 20 ms) do not count as between sounds.
    for t in s2:
        env[round(t * 50) - 3 : round(t * 50) + 4] = 50.0
    got = beat_prominence(env, beat_levels(env, s1), s1, s2)
    assert got == 3.0
    assert beat_prominence(2.0 * env, 2.0 * beat_levels(env, s1), s1, s2) == 3.0  # a ratio


def test_the_prominence_needs_four_s1s_and_a_level_between_them() -> None:
    env = np.ones(500)
    s1 = np.arange(BEAT_PROMINENCE_MIN_BEATS, dtype=float) + 1.0
    none = np.zeros(0)
    assert beat_prominence(env, beat_levels(env, s1), s1, none) == 1.0
    assert beat_prominence(env, beat_levels(env, s1[:-1]), s1[:-1], none) is None
    silent = np.zeros(500)
    assert beat_prominence(silent, beat_levels(silent, s1), s1, none) is None
    dense = np.arange(0.0, 10.0, 0.05)  # every block within 60 ms of a sound
    assert beat_prominence(env, beat_levels(env, dense), dense, none) is None


def _beats(seconds: float = 12.0, rate_bpm: float = 180.0, soft: float = 1.0, noise: float = 0.01):
    n, period = round(seconds * FS_HZ), 60.0 / rate_bpm
    x = noise * np.random.default_rng(0).standard_normal(n)
    s1 = tuple(np.arange(0.2, seconds - 0.3, period))
    s2 = tuple(t + systole_s(period) for t in s1)
    for k, t in enumerate(s1):
        level = 1.0 if k % 2 == 0 else soft
        x += level * 0.5 * burst(n, t, 50.0, 0.02, FS_HZ)
        x += level * 0.3 * burst(n, t + systole_s(period), 90.0, 0.015, FS_HZ)
    return x, s1, s2


def test_one_envelope_gives_the_step_and_the_prominence() -> None:
    x, s1, s2 = _beats(soft=0.4)
    step, prominence = beat_measures(x, FS_HZ, s1, s2)
    assert step == beat_step(x, FS_HZ, s1)
    clear = beat_measures(_beats()[0], FS_HZ, s1, s2)[1]
    assert clear is not None and clear > 20.0  # light noise between clear beats
    # The S2s' own blocks are not the level between the sounds: unlabelled, they raise it.
    unlabelled = beat_measures(_beats()[0], FS_HZ, s1, ())[1]
    assert unlabelled is not None and unlabelled < 0.8 * clear
    # Beats under loud noise barely stand above it, their soft half (the faint quarter) less.
    loud = beat_measures(_beats(noise=0.5)[0], FS_HZ, s1, s2)[1]
    soft = beat_measures(_beats(noise=0.5, soft=0.4)[0], FS_HZ, s1, s2)[1]
    assert loud is not None and soft is not None and soft < 2.5 < loud < 4.0
    # Five S1s: a prominence, no step (under eight); three: neither.
    step, prominence = beat_measures(x, FS_HZ, s1[:5], s2[:5])
    assert step is None and prominence is not None
    assert beat_measures(x, FS_HZ, s1[:3], s2[:3]) == (None, None)


def test_the_prominence_is_measured_in_the_urgent_high_band_only() -> None:
    x, _, _ = _beats(noise=0.5)
    spectrum = Spectrum(x, FS_HZ)
    heart = analyze_heart(spectrum, 40.0, 131.0, recording=x)
    assert heart.rate_bpm is not None and heart.rate_bpm > 131.0
    assert heart.beat_prominence is not None
    assert analyze_heart(spectrum, 40.0, 131.0).beat_prominence is None  # no recording
    assert analyze_heart(spectrum, 40.0, 300.0, recording=x).beat_prominence is None


# A fast read no older arm takes: its sounds stand out on the whole (the first arm), lie in
# the heart band, span the recording, hold their level; it repeats little, its faint beats
# barely stand above the sound between them.
FAINT = HeartResult(
    163.3, (), (), 0.05, 1.1, "systolic", 0.4, 4.2, (), beat_intervals=30,
    sound_high_band_share=0.05, envelope_repeat=0.181, beat_span_share=0.93, beat_step=0.3,
    beat_prominence=3.14,
)  # fmt: skip


def _rule(heart: HeartResult, t: TriageThresholds | None = None) -> tuple[str, object]:
    result = triage(GOOD, heart, None, t or TriageThresholds())
    (flag,) = [f for f in result.flags if f.code.startswith("heart_rate_")]
    return result.level, flag


def test_faint_beats_that_barely_repeat_raise_review_and_say_why() -> None:
    level, flag = _rule(FAINT)
    assert level == "review" and flag.code == "heart_rate_very_high_unconfirmed"
    assert (flag.value, flag.threshold) == (163.3, 131.0)
    assert flag.details == {
        "envelope_repeat": 0.181, "max_envelope_repeat": 0.2,
        "beat_prominence": 3.14, "min_beat_prominence": 4.0,
    }  # fmt: skip
    assert flag.reason == (
        "Heart rate 163 beats/min is at or above 131; NEWS2 scores it 3: urgent clinical "
        "review, but its sounds' envelope repeats little at that rate (autocorrelation 0.181, "
        "under 0.20) and a quarter of its beats stand at most 3.14 times above the sound "
        "between them (under 4.0): the heart sounds barely stand above the breath sounds, and "
        "the rate may count breath sounds or noise between slower heart sounds; a review, "
        "count the pulse over a minute."
    )
    lenient = TriageThresholds(urgent_high_min_beat_prominence=3.0)
    assert _rule(FAINT, lenient)[0] == "urgent"
    assert _rule(FAINT, TriageThresholds(urgent_high_weak_envelope_repeat=0.1))[0] == "urgent"


@pytest.mark.parametrize(
    ("repeat", "prominence", "level"),
    [
        (0.199, 3.999, "review"), (0.2, 3.0, "urgent"), (0.15, 4.0, "urgent"),
        (None, 3.0, "urgent"), (0.15, None, "urgent"), (0.5, 1.5, "urgent"),
        (0.15, 9.0, "urgent"),
    ],
)  # fmt: skip
def test_both_bounds_are_needed_and_are_not_met(
    repeat: float | None, prominence: float | None, level: str
) -> None:
    heart = dataclasses.replace(FAINT, envelope_repeat=repeat, beat_prominence=prominence)
    assert _rule(heart)[0] == level


def test_the_older_arms_say_their_own_reason_first() -> None:
    _, flag = _rule(dataclasses.replace(FAINT, beat_step=0.9))
    assert flag.details == {"beat_step": 0.9, "max_beat_step": 0.795}
    _, flag = _rule(dataclasses.replace(FAINT, envelope_repeat=0.05, sound_prominence=3.0))
    assert "min_envelope_repeat" in flag.details and "beat_prominence" not in flag.details
    _, flag = _rule(dataclasses.replace(FAINT, beat_intervals=2))
    assert flag.details == {"beat_intervals": 2.0, "min_beat_intervals": 4.0}
    # Under the urgent bound the measures are never read.
    assert _rule(dataclasses.replace(FAINT, rate_bpm=125.0))[1].code == "heart_rate_high"


def test_blocks_within_60_ms_of_a_sound_are_its_own_and_80_ms_away_between() -> None:
    """Sounds every 0.2 s (ten blocks): rings 40 and 60 ms round each sound are left out of
    the level between them (they would be most of it); rings 60 and 80 ms round each hold most
    of the blocks between, their median (a block exactly 60 ms away falls either side, to
    rounding)."""
    sounds = np.arange(5, 500, 10)
    s1, s2 = sounds[::2] / 50.0, sounds[1::2] / 50.0
    env = np.ones(500)
    env[sounds[::2]] = 6.0
    ring = np.concatenate([sounds - 3, sounds - 2, sounds + 2, sounds + 3])
    env[ring[(ring >= 0) & (ring < 500)]] = 50.0
    assert beat_prominence(env, beat_levels(env, s1), s1, s2) == 50.0  # the ring is the S1's
    env = np.ones(500)
    env[sounds[::2]] = 6.0
    ring = np.concatenate([sounds - 4, sounds - 3, sounds + 3, sounds + 4])
    env[ring[(ring >= 0) & (ring < 500)]] = 3.0
    assert beat_prominence(env, beat_levels(env, s1), s1, s2) == 2.0  # 6 over the ring's 3


def test_each_block_is_judged_by_its_nearest_sound_either_side() -> None:
    """Distinct levels, so that any block wrongly counted between the sounds moves the median:
    blocks just after each sound are loud (a sound's tail), and are that sound's own, as are
    the three blocks after a sound at 0 s (the third exactly 60 ms away)."""
    env = 1.0 + np.arange(150) / 1000.0
    halves = np.array([20, 45, 70, 95, 120])  # sounds half a block past these blocks
    for b in halves:
        env[b + 1 : b + 4] += 99.0
    s1 = (halves[:4] + 0.5) / 50.0
    s2 = np.array([0.0, (halves[4] + 0.5) / 50.0])
    own = np.zeros(150, dtype=bool)
    own[:4] = True
    for b in halves:
        own[b - 2 : b + 4] = True
    levels = beat_levels(env, s1)
    expected = float(np.quantile(levels, 0.25)) / float(np.median(env[~own]))
    assert expected != round(expected, 3)
    assert beat_prominence(env, levels, s1, s2) == round(expected, 3)
    assert beat_prominence(env, levels, s1[::-1], s2[::-1]) == round(expected, 3)  # any order


def test_four_s1s_in_a_recording_are_enough() -> None:
    x, s1, s2 = _beats(noise=0.5)
    assert beat_measures(x, FS_HZ, s1[:4], s2[:4])[1] is not None
