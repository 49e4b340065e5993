"""A very slow heart rate must stand on heart sounds, not on crackles recurring with each breath.

With no heart audible and breathing at 30/min, the simulator's late-inspiratory crackles were
read as a heart at 30/min, urgent: the two ends of each breath's crackle cluster passed for S1
and S2 (bench.heart_sweeps, no_heart sweep). Heart sounds add their power at 20-150 Hz and
little above 200 Hz; crackles and breath sounds add theirs above (docs/accuracy.md, eleventh
round). A true slow heart, murmur or noise included, stays urgent.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stetho_signal import TriageThresholds, analyze
from stetho_signal._rules import triage
from stetho_signal._sound_band import high_band_share
from stetho_signal.bands import Spectrum
from stetho_signal.heart import HeartResult, analyze_heart
from stetho_signal.quality import Quality, QualityMeasures
from stetho_sim.sounds import pcg
from stetho_sim.synth import StethoscopeSynth

FS_HZ = 4000


def _bursts(freq_hz: float, times_s: list[float], noise: float = 0.0) -> np.ndarray:
    """Gaussian-windowed tones (sd 20 ms) at ``times_s`` over 10 s of white noise."""
    t = np.arange(10 * FS_HZ) / FS_HZ
    x = noise * np.random.default_rng(0).standard_normal(t.size)
    for at in times_s:
        x += np.exp(-0.5 * ((t - at) / 0.02) ** 2) * np.sin(2 * np.pi * freq_hz * (t - at))
    return x


@pytest.mark.parametrize(("freq_hz", "low", "high"), [(60.0, 0.0, 0.05), (500.0, 0.95, 1.0)])
def test_the_share_is_where_the_sounds_add_their_power(
    freq_hz: float, low: float, high: float
) -> None:
    times = [1.0, 3.0, 5.0, 7.0]
    share = high_band_share(Spectrum(_bursts(freq_hz, times, 0.05), FS_HZ), np.array(times))
    assert share is not None and low <= share <= high


def test_steady_noise_adds_nothing_and_no_sounds_give_none() -> None:
    x = _bursts(60.0, [], noise=0.3)
    assert high_band_share(Spectrum(x, FS_HZ), np.zeros(0)) is None
    # White noise is mostly above 300 Hz, yet a heart sound in it adds power only at its pitch.
    times = [1.0, 3.0, 5.0, 7.0]
    share = high_band_share(Spectrum(_bursts(60.0, times, 0.3), FS_HZ), np.array(times))
    assert share is not None and share < 0.1


def _crackles_only(seed: int, breath_gain: float) -> np.ndarray:
    synth = StethoscopeSynth("normal", FS_HZ, seed)
    synth.scenario = dataclasses.replace(
        synth.scenario, heart_gain=0.0, breath_gain=breath_gain, breaths_per_min=30.0,
        crackles=True,
    )  # fmt: skip
    return synth.read(20 * FS_HZ)


@pytest.mark.parametrize(("seed", "breath_gain"), [(0, 0.1), (1, 0.25)])
def test_crackle_clusters_read_at_30_per_min_raise_review_not_urgent(
    seed: int, breath_gain: float
) -> None:
    result = analyze(_crackles_only(seed, breath_gain), FS_HZ, "heart")
    heart = result.heart
    assert heart is not None and heart.rate_bpm is not None and heart.rate_bpm <= 40
    assert heart.sound_high_band_share is not None and heart.sound_high_band_share > 0.6
    assert result.triage.level == "review"
    (flag,) = [f for f in result.triage.flags if f.code.startswith("heart_rate_")]
    assert flag.code == "heart_rate_very_low_unconfirmed"
    assert flag.value == heart.rate_bpm and flag.threshold == 40.0
    assert flag.details == {
        "high_band_share": heart.sound_high_band_share, "max_high_band_share": 0.6,
    }  # fmt: skip
    assert "may not be heart sounds" in flag.reason and "count the pulse" in flag.reason


@pytest.mark.parametrize(
    ("rate", "noise", "murmur"), [(30.0, 0.05, 0.0), (35.0, 0.3, 0.0), (35.0, 0.1, 4.0)]
)
def test_a_true_slow_heart_stays_urgent(rate: float, noise: float, murmur: float) -> None:
    x, _, _ = pcg(rate, 15.0, jitter=0.1, noise=noise, murmur=murmur, seed=0)
    result = analyze(x, FS_HZ, "heart")
    heart = result.heart
    assert heart is not None and heart.rate_bpm is not None
    assert abs(heart.rate_bpm - rate) <= 5.0
    assert heart.sound_high_band_share is not None and heart.sound_high_band_share < 0.3
    assert result.triage.level == "urgent"
    assert "heart_rate_very_low" in {f.code for f in result.triage.flags}


def _heart(rate: float, share: float | None, beats: int = 10) -> HeartResult:
    return HeartResult(
        rate, (), (), None, None, None, 0.5, 4.0, (), beat_intervals=beats,
        sound_high_band_share=share,
    )  # fmt: skip


_GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))


@pytest.mark.parametrize(
    ("rate", "share", "level", "code"),
    [
        (30.0, 0.6, "urgent", "heart_rate_very_low"),  # at the bound: still heart sounds
        (30.0, 0.61, "review", "heart_rate_very_low_unconfirmed"),
        (30.0, None, "urgent", "heart_rate_very_low"),  # nothing rose: the rate stands
        (45.0, 0.9, "review", "heart_rate_low"),  # review band: unchanged
        (150.0, 0.9, "urgent", "heart_rate_very_high"),  # only the low band is checked
    ],
)
def test_the_rule_reads_the_share_only_for_a_very_low_rate(
    rate: float, share: float | None, level: str, code: str
) -> None:
    result = triage(_GOOD, _heart(rate, share), None, TriageThresholds())
    assert result.level == level
    assert [f.code for f in result.flags] == [code]


def test_few_beats_are_said_first() -> None:
    (flag,) = triage(_GOOD, _heart(30.0, 0.9, beats=2), None, TriageThresholds()).flags
    assert flag.code == "heart_rate_very_low_unconfirmed"
    assert set(flag.details) == {"beat_intervals", "min_beat_intervals"}


def test_the_bound_is_a_threshold_of_the_config() -> None:
    lenient = TriageThresholds(urgent_low_max_high_band_share=1.0)
    assert triage(_GOOD, _heart(30.0, 0.9), None, lenient).level == "urgent"


def test_the_share_is_measured_only_where_the_rules_read_it() -> None:
    x, _, _ = pcg(35.0, 15.0, jitter=0.1, noise=0.05, seed=0)
    spectrum = Spectrum(x, FS_HZ)
    assert analyze_heart(spectrum).sound_high_band_share is None  # lung analysis: never
    assert analyze_heart(spectrum, 33.0).sound_high_band_share is None  # above the bound (34.3)
    assert analyze_heart(spectrum, 40.0).sound_high_band_share is not None
    fast, _, _ = pcg(72.0, 15.0, jitter=0.1, noise=0.05, seed=0)
    result = analyze(fast, FS_HZ, "heart")
    assert result.heart is not None and result.heart.sound_high_band_share is None
    child = analyze(fast, FS_HZ, "heart", age_band="under_1")  # urgent low: 100/min
    assert child.heart is not None and child.heart.sound_high_band_share is not None
