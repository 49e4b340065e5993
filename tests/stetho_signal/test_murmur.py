"""Murmur hint on synthetic phonocardiograms: partial-phase murmurs found, transients ignored."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _murmur, analyze
from stetho_signal.segmentation import HeartSounds
from stetho_sim.sounds import FS_HZ, add_rumble, breathing, burst, pcg
from stetho_sim.synth import StethoscopeSynth, synthesize


def _hint(x: NDArray[np.float64]) -> tuple[bool | None, str | None]:
    """Whether a murmur is hinted, and in which phase."""
    result = analyze(x, FS_HZ, "heart")
    assert result.heart is not None
    return result.findings.murmur_suspected, result.heart.murmur_phase


_RATES = [30.0, 45.0, 60.0, 75.0, 90.0, 110.0, 130.0, 150.0, 180.0, 220.0]


def _hinted(noises: list[float], jitters: list[float], seeds: list[int]) -> list[str]:
    """Murmur-free recordings at every rate of ``_RATES`` that raised the hint."""
    hinted = []
    for rate, noise, jitter, seed in itertools.product(_RATES, noises, jitters, seeds):
        x, _, _ = pcg(rate, 12.0, jitter=jitter, noise=noise, seed=seed)
        if _hint(x)[0]:
            hinted.append(f"{rate}/min noise {noise} jitter {jitter} seed {seed}")
    return hinted


def test_murmur_free_pcg_raises_no_hint_from_30_to_220_bpm_in_noise() -> None:
    assert _hinted([0.01, 0.3], [0.0, 0.15], [0]) == []


@pytest.mark.slow
def test_murmur_free_sweep_rate_noise_jitter_and_seed() -> None:
    assert _hinted([0.01, 0.1, 0.3], [0.0, 0.15], [0, 1, 2]) == []


def test_breath_noise_over_a_murmur_free_heart_raises_no_hint() -> None:
    # Breath sounds swell and fade with respiration, out of step with the heart: both phases
    # get them alike over the recording.
    for rate, seed in itertools.product([50.0, 72.0, 100.0], [0, 1, 2]):
        x, _, _ = pcg(rate, 20.0, noise=0.01, seed=seed)
        x += 3.0 * breathing(16.0, 20.0, seed=seed)
        assert _hint(x)[0] is not True, (rate, seed)


@pytest.mark.parametrize("scenario", ["bradycardia", "normal"])
def test_loud_breathing_nearly_in_step_with_the_heart_raises_no_hint(scenario: str) -> None:
    # The simulator's 44/min heart beats three times to each breath: the breath sound's swell
    # falls at the same place of many diastoles. Scored by the median over beats, one place of
    # diastole read 2.2 times systole; it must recur in three beats out of four.
    for seed in range(6):
        samples = synthesize(scenario, 15.0, 4000, seed).samples
        assert _hint(samples.astype(np.float64))[0] is False, seed


@pytest.mark.parametrize("rate", [40.0, 60.0, 80.0, 100.0])
@pytest.mark.parametrize(
    ("mid_s", "presystolic_s"),
    [((0.12, 0.3), 0.0), (None, 0.15), ((0.12, 0.3), 0.15)],
    ids=["mid-diastolic", "presystolic", "both"],
)
def test_mitral_stenosis_like_rumble_in_part_of_diastole_is_hinted_as_diastolic(
    rate: float, mid_s: tuple[float, float] | None, presystolic_s: float
) -> None:
    # The rumble fills under half of a slow heart's diastole: the median of the whole phase
    # missed 6 of these 12 (all at 40-80/min), its loudest recurring 100 ms does not.
    x, s1, s2 = pcg(rate, 12.0, noise=0.02, seed=1)
    add_rumble(x, s1, s2, 0.3, mid_s=mid_s, presystolic_s=presystolic_s)
    assert _hint(x) == (True, "diastolic")


def test_rumble_filling_a_fast_hearts_diastole_is_still_hinted() -> None:
    # At 130/min no 100 ms of diastole lies past the S3 window; the whole phase decides.
    x, s1, s2 = pcg(130.0, 12.0, noise=0.02, seed=1)
    add_rumble(x, s1, s2, 1.0, mid_s=(0.05, 0.5))
    assert _hint(x) == (True, "diastolic")


def test_late_systolic_murmur_is_hinted_as_systolic() -> None:
    # Mitral valve prolapse: a murmur in the last third of systole only.
    x, _, s2 = pcg(60.0, 12.0, noise=0.02, seed=2)
    rng = np.random.default_rng(5)
    spectrum = np.fft.rfft(rng.standard_normal(x.size))
    f = np.fft.rfftfreq(x.size, 1 / FS_HZ)
    spectrum[(f < 120) | (f > 400)] = 0
    hiss = np.fft.irfft(spectrum, x.size)
    t = np.arange(x.size) / FS_HZ
    gate = np.zeros(x.size)
    for b in s2:
        gate[(t > b - 0.15) & (t < b - 0.03)] = 1.0
    x += 0.03 * hiss / np.std(hiss) * gate
    assert _hint(x) == (True, "systolic")


@pytest.mark.parametrize("rate", [50.0, 70.0, 90.0])
def test_extra_sounds_without_a_murmur_raise_no_hint(rate: float) -> None:
    # Transients under 50 ms: an opening snap (high-pitched, 40-120 ms after S2), an S3
    # (20-70 Hz, 130-180 ms after S2), an S4 (just before S1) and a mid-systolic click.
    x, s1, s2 = pcg(rate, 12.0, noise=0.02, seed=3)
    n = x.size
    for t in s2:
        x += 0.15 * burst(n, t + 0.08, 150.0, 0.008, FS_HZ)
        x += 0.1 * burst(n, t + 0.15, 40.0, 0.015, FS_HZ)
    for a, b in zip(s1, s2, strict=False):
        x += 0.1 * burst(n, (a + b) / 2, 200.0, 0.006, FS_HZ)
    for t in s1[1:]:
        x += 0.1 * burst(n, t - 0.1, 35.0, 0.015, FS_HZ)
    assert _hint(x)[0] is False


def _paired(systole: NDArray[np.float64], diastole: NDArray[np.float64]) -> object:
    """The per-beat ratio of one envelope whose beats (1 s: 0.3 s systole, 0.7 s diastole) hold
    the given middle levels, S1/S2 at 1."""
    env = np.zeros(100 * systole.size + 100)
    s1 = np.arange(systole.size + 1, dtype=np.float64)
    s2 = s1[:-1] + 0.3
    for k, (a, b) in enumerate(zip(s1[:-1], s2, strict=True)):
        env[round(100 * a) : round(100 * b)] = systole[k]
        env[round(100 * b) : round(100 * (a + 1))] = diastole[k]
    env[np.round(100 * np.concatenate([s1, s2])).astype(int)] = 1.0
    systoles, diastoles = _murmur.phases(HeartSounds(s1, s2))
    return _murmur._paired_ratio(env, systoles, diastoles, 1.0)


def test_per_beat_ratio_reads_a_soft_murmur_under_changing_beat_levels() -> None:
    # The whole beat's level swings 1-4x (breathing, movement), systole twice its diastole.
    gain = 1.0 + 1.5 * (1.0 + np.sin(np.arange(20) / 2.0))
    result = _paired(0.06 * gain, 0.03 * gain)
    assert isinstance(result, tuple)
    assert result[1] == "systolic"
    assert 1.6 < result[0] < 2.0


def test_per_beat_ratio_is_silent_when_the_phases_take_turns() -> None:
    # Systole louder in half the beats, diastole in the other half: no phase recurs.
    loud, soft = np.tile([0.1, 0.03], 10), np.tile([0.03, 0.1], 10)
    assert _paired(loud, soft) is None


@pytest.mark.parametrize(
    ("crackles", "seed"), [(False, 0), (True, 0), (True, 1)], ids=["plain", "crackles", "seed1"]
)
def test_breath_over_a_faded_heart_raises_no_hint(crackles: bool, seed: int) -> None:
    # The simulator's normal scenario, heart at 0.03 of its level, breath at 30/min: the median
    # per-beat ratio alone read 1.7-2.1 here (the phases take turns being the louder).
    synth = StethoscopeSynth("normal", 4000, seed)
    synth.scenario = dataclasses.replace(
        synth.scenario, heart_gain=0.03, breath_gain=0.1, breaths_per_min=30.0, crackles=crackles
    )
    assert _hint(synth.read(20 * 4000).astype(np.float64))[0] is not True
