"""A very fast heart rate whose beats step up and down in level is not borne out.

The false fast reads the other rules left urgent step by a median 0.56 nepers (1.7 times) from
one S1 to the next, true reads by 0.16: every other "beat" is the background or a breath burst
between a slower heart's sounds. Over 0.795, 0.1 above every true read and every read of a
heart at 131/min or over in the probes, the rate asks for a review (docs/accuracy.md,
twentieth round).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_signal import TriageThresholds, analyze
from stetho_signal._fast_read import (
    BEAT_STEP_MIN_BEATS,
    _analytic_magnitude,
    beat_levels,
    beat_step,
)
from stetho_signal._rules import triage
from stetho_signal.bands import Spectrum
from stetho_signal.heart import HeartResult, analyze_heart
from stetho_signal.quality import Quality, QualityMeasures
from stetho_sim.sounds import burst, pcg, systole_s

FS_HZ = 4000.0
GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))
SOFT = 0.4  # every other beat at 0.4 of the one before it: a step of ln 2.5 = 0.916


def _alternating(
    rate_bpm: float, soft: float, seconds: float = 12.0, fs_hz: float = FS_HZ
) -> tuple[NDArray[np.float64], tuple[float, ...]]:
    """Beats (S1 at 50 Hz, S2 at 90 Hz) whose level alternates 1, ``soft``, 1, ...; light
    noise. Returns the recording and its S1 times."""
    n, period = round(seconds * fs_hz), 60.0 / rate_bpm
    x = 0.01 * np.random.default_rng(0).standard_normal(n)
    s1 = tuple(np.arange(0.2, seconds - 0.3, period))
    for k, t in enumerate(s1):
        level = 1.0 if k % 2 == 0 else soft
        x += level * 0.5 * burst(n, t, 50.0, 0.02, fs_hz)
        x += level * 0.3 * burst(n, t + systole_s(period), 90.0, 0.015, fs_hz)
    return x, s1


def test_alternating_beats_step_by_their_ratio_and_a_steady_heart_does_not() -> None:
    x, s1 = _alternating(180.0, SOFT)
    step = beat_step(x, FS_HZ, s1)
    assert step is not None and abs(step - math.log(1 / SOFT)) < 0.02
    # Equal beats step a little: 20 ms blocks cut each 50 Hz burst at another phase.
    steady, s1_steady = _alternating(180.0, 1.0)
    assert (flat := beat_step(steady, FS_HZ, s1_steady)) is not None and flat < 0.15
    # The loud beats alone (a chain at the heart's own rate) hold their level.
    assert (loud := beat_step(x, FS_HZ, s1[::2])) is not None and loud < 0.15


def test_the_step_is_a_ratio_and_ignores_the_mean() -> None:
    x, s1 = _alternating(180.0, SOFT)
    assert beat_step(1e-3 * x + 0.2, FS_HZ, s1) == beat_step(x, FS_HZ, s1)


def test_the_step_needs_eight_s1s_inside_the_recording() -> None:
    x, s1 = _alternating(180.0, SOFT, seconds=3.0)
    assert len(s1) == BEAT_STEP_MIN_BEATS
    assert beat_step(x, FS_HZ, s1[:BEAT_STEP_MIN_BEATS]) is not None
    assert beat_step(x, FS_HZ, s1[: BEAT_STEP_MIN_BEATS - 1]) is None
    outside = (-0.1, *s1[: BEAT_STEP_MIN_BEATS - 1], 3.0)  # 3.0 s: past the last 20 ms block
    assert beat_step(x, FS_HZ, outside) is None
    assert beat_step(x[:10], FS_HZ, s1) is None  # shorter than one block
    # A beat on the last sample is read in the last block, its neighbours clipped there.
    ends = (*s1[: BEAT_STEP_MIN_BEATS - 1], (x.size - 1) / FS_HZ)
    assert beat_step(x, FS_HZ, ends) is not None


@pytest.mark.parametrize("n", [8, 9, 1000, 1001, 2 * 7 * 137])
def test_the_analytic_magnitude_is_scipys_to_rounding(n: int) -> None:
    """abs(hilbert(x)) by two real transforms, at even and odd lengths (one with a large prime
    factor): with a mean and a Nyquist tone, which the Hilbert transform leaves out, and a tone
    at an odd length's top bin, which it keeps."""
    t = np.arange(n)
    top = (n - 1) // 2
    x = np.random.default_rng(n).standard_normal(n) + 3.0
    x += 2.0 * np.cos(np.pi * t) + 1.5 * np.cos(2.0 * np.pi * top * t / n)
    expected = np.abs(signal.hilbert(x))
    got = _analytic_magnitude(x)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=1e-12 * float(np.max(expected)))


def test_a_beats_level_is_the_highest_block_within_50_ms() -> None:
    """Blocks of 20 ms: 50 ms reaches two blocks each side, clipped at the envelope's ends; a
    time rounding past the last block is read there, as the probe read it."""
    env = np.arange(1.0, 11.0)  # ten blocks, 0.2 s; block k holds k + 1
    times = np.array([0.0, 0.06, 0.1, 0.189, 0.195])
    assert beat_levels(env, times).tolist() == [3.0, 6.0, 8.0, 10.0, 10.0]
    peaks = np.ones(10)
    peaks[[0, 7]] = 5.0  # the first block, and the one two before the last
    assert beat_levels(peaks, np.array([0.0, 0.195, 0.185])).tolist() == [5.0, 5.0, 5.0]
    peaks = np.ones(10)
    peaks[[6, 9]] = (4.0, 3.0)
    assert beat_levels(peaks, np.array([0.16, 0.18, 0.199])).tolist() == [4.0, 3.0, 3.0]


def test_s1s_from_time_zero_to_the_last_whole_block_count() -> None:
    x, s1 = _alternating(180.0, SOFT, seconds=3.0)
    x = x[: 3 * 4000 - 40]  # 149.5 blocks of 20 ms: 149 whole ones
    inside = (0.0, *s1[1 : BEAT_STEP_MIN_BEATS - 1])
    assert beat_step(x, FS_HZ, inside) is None  # seven
    assert beat_step(x, FS_HZ, (*inside, 148.99 / 50.0)) is not None
    assert beat_step(x, FS_HZ, (*inside, 149.0 / 50.0)) is None  # the part block is not read


def test_the_band_is_capped_under_a_low_rate() -> None:
    """At 300 Hz (under the analysis's own floor) 150 Hz would be past Nyquist: capped at 135."""
    x, s1 = _alternating(180.0, SOFT, fs_hz=300.0)
    step = beat_step(x, 300.0, s1)
    assert step is not None and abs(step - math.log(1 / SOFT)) < 0.05


def _heart_flag(x: NDArray[np.float64], t: TriageThresholds | None = None) -> tuple[str, object]:
    result = analyze(x, FS_HZ, "heart", t)
    (flag,) = [f for f in result.triage.flags if f.code.startswith("heart_rate_")]
    return result.triage.level, flag


def test_a_chain_of_alternating_beats_raises_review_and_the_step_is_why() -> None:
    x, _ = _alternating(180.0, SOFT)
    result = analyze(x, FS_HZ, "heart")
    heart = result.heart
    assert heart is not None and heart.rate_bpm == 180.5 and heart.beat_step == 0.916
    # Nothing else takes it: it repeats, its sounds stand out, they lie in the heart's band.
    assert heart.envelope_repeat is not None and heart.envelope_repeat > 0.5
    assert heart.sound_prominence > 10.0
    level, flag = _heart_flag(x)
    assert level == "review" and flag.code == "heart_rate_very_high_unconfirmed"
    assert flag.details == {"beat_step": 0.916, "max_beat_step": 0.795}
    assert flag.reason == (
        "Heart rate 180 beats/min is at or above 131; NEWS2 scores it 3: urgent clinical "
        "review, but its beats' level steps up and down from one beat to the next (median "
        "step 0.916 in natural log units, 2.5 times; over 0.795), as a heart's beats do not: "
        "every other beat may be a breath sound or noise between slower heart sounds; a "
        "review, count the pulse over a minute."
    )
    # The control: the same recording with the bound above its step stays urgent.
    lenient = TriageThresholds(urgent_high_max_beat_step=0.916)
    level, flag = _heart_flag(x, lenient)
    assert level == "urgent" and flag.code == "heart_rate_very_high"


def test_a_steady_fast_heart_stays_urgent() -> None:
    x, _ = _alternating(180.0, 1.0)
    level, flag = _heart_flag(x)
    assert level == "urgent" and flag.code == "heart_rate_very_high"
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.beat_step is not None and heart.beat_step < 0.15


def test_the_step_is_measured_in_the_urgent_high_band_only_and_from_the_recording() -> None:
    x, _, _ = pcg(rate_bpm=100.0, duration_s=10.0, noise=0.05, seed=0)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None and heart.beat_step is None
    fast, _ = _alternating(180.0, SOFT)
    spectrum = Spectrum(fast, FS_HZ)
    assert analyze_heart(spectrum, 40.0, 131.0).beat_step is None  # no recording given
    assert analyze_heart(spectrum, 40.0, 131.0, recording=fast).beat_step == 0.916
    assert analyze_heart(spectrum, 40.0, 181.0, recording=fast).beat_step is None
    assert analyze_heart(spectrum).beat_step is None  # the lung analysis's call


# A fast read no other arm takes: it repeats, its sounds stand out, they lie in the heart band.
STEPPING = HeartResult(
    180.5, (), (), 0.05, 1.1, "systolic", 0.8, 20.6, (), beat_intervals=34,
    sound_high_band_share=0.05, envelope_repeat=0.77, beat_span_share=0.93, beat_step=0.916,
)  # fmt: skip


def _rule(heart: HeartResult, t: TriageThresholds | None = None) -> tuple[str, object]:
    result = triage(GOOD, heart, None, t or TriageThresholds())
    (flag,) = [f for f in result.flags if f.code.startswith("heart_rate_")]
    return result.level, flag


@pytest.mark.parametrize(
    ("step", "level"),
    [(0.796, "review"), (0.795, "urgent"), (0.5, "urgent"), (None, "urgent")],
)
def test_the_bound_is_exceeded_not_met(step: float | None, level: str) -> None:
    got, flag = _rule(dataclasses.replace(STEPPING, beat_step=step))
    assert got == level
    if level == "review":
        assert flag.details == {"beat_step": step, "max_beat_step": 0.795}
        assert "(median step 0.796 in natural log units, 2.2 times; over 0.795)" in flag.reason


def test_the_other_arms_say_their_own_reason_first() -> None:
    quiet = dataclasses.replace(STEPPING, envelope_repeat=-0.09, sound_prominence=2.6)
    _, flag = _rule(quiet)
    assert "envelope_repeat" in flag.details and "beat_step" not in flag.details
    breath = dataclasses.replace(STEPPING, sound_high_band_share=0.77, beat_span_share=0.62)
    _, flag = _rule(breath)
    assert "high_band_share" in flag.details and "beat_step" not in flag.details
    # Breath-band sounds heard throughout: not that arm's, so the step says why.
    heard = dataclasses.replace(STEPPING, sound_high_band_share=0.77)
    assert _rule(heard)[1].details == {"beat_step": 0.916, "max_beat_step": 0.795}


def test_few_beats_and_other_bands_come_before_the_step() -> None:
    _, flag = _rule(dataclasses.replace(STEPPING, beat_intervals=2))
    assert flag.details == {"beat_intervals": 2.0, "min_beat_intervals": 4.0}
    for rate, code in ((125.0, "heart_rate_high"), (35.0, "heart_rate_very_low")):
        assert _rule(dataclasses.replace(STEPPING, rate_bpm=rate))[1].code == code
    child = TriageThresholds().for_age_band("under_1")  # urgent from 190/min
    assert _rule(STEPPING, child)[1].code == "heart_rate_high"
    level, flag = _rule(dataclasses.replace(STEPPING, rate_bpm=200.0), child)
    assert (level, flag.code, flag.threshold) == ("review", flag.code, 190.0)
    assert flag.code == "heart_rate_very_high_unconfirmed"
