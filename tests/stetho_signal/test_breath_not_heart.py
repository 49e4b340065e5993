"""Breath sounds with no audible heart must not pass for a heartbeat.

With the heart faded out and breathing at 30/min, chains of breath swells once read a heart
rate of 30 (an urgent bradycardia): their "sounds" lasted 75-200 ms at half height, where
heart sounds last 35-90 ms (bench.heart_sweeps, no_heart sweep). Swells from 150 ms are now
turned away; crackles that recur with each breath are as short as heart sounds and still
pass here: their rate is no longer urgent (test_crackles_not_heart.py).
"""

from __future__ import annotations

import dataclasses

import pytest

from stetho_signal import analyze
from stetho_sim.sounds import pcg
from stetho_sim.synth import StethoscopeSynth

FS_HZ = 4000


def _breathing_only(
    breath_gain: float, seed: int, per_min: float = 30.0, heart_gain: float = 0.0
) -> StethoscopeSynth:
    synth = StethoscopeSynth("normal", FS_HZ, seed)
    synth.scenario = dataclasses.replace(
        synth.scenario, heart_gain=heart_gain, breath_gain=breath_gain, breaths_per_min=per_min
    )
    return synth


@pytest.mark.parametrize(("breath_gain", "seed"), [(0.25, 0), (0.4, 1)])
def test_breath_swells_are_not_read_as_a_slow_heart(breath_gain: float, seed: int) -> None:
    result = analyze(_breathing_only(breath_gain, seed).read(20 * FS_HZ), FS_HZ, "heart")
    heart = result.heart
    assert heart is not None
    assert heart.rate_bpm is None and not heart.heartbeat_found
    assert heart.sound_half_width_s is not None and heart.sound_half_width_s >= 0.15
    assert heart.s1_s == () and heart.s2_s == ()
    assert any("breath sounds" in note for note in heart.notes)
    assert result.triage.level == "rerecord"
    assert "quality_no_heartbeat" in {f.code for f in result.triage.flags}


@pytest.mark.parametrize(
    ("breath_gain", "seed", "heart_gain"), [(0.1, 0, 0.01), (0.1, 1, 0.01), (0.25, 1, 0.03)]
)
def test_sounds_that_never_repeat_are_no_heartbeat(
    breath_gain: float, seed: int, heart_gain: float
) -> None:
    """Breathing at 20/min over a heart too faint to hear: the envelope anticorrelates at every
    heart period (periodicity 0), yet its sounds stood out enough (prominence 2.6-3.7) to be
    read as a heart at 27-37/min, urgent. Nothing repeats: no heartbeat, no rhythm, no murmur."""
    synth = _breathing_only(breath_gain, seed, per_min=20.0, heart_gain=heart_gain)
    result = analyze(synth.read(20 * FS_HZ), FS_HZ, "heart")
    heart = result.heart
    assert heart is not None and not heart.heartbeat_found
    assert heart.periodicity == 0.0 and heart.sound_prominence >= 2.5
    assert heart.rate_bpm is None and heart.rr_nrmssd is None and heart.murmur_contrast is None
    assert heart.notes == ("heart rate needs a repeating heartbeat; none found in this clip",)
    assert result.triage.level == "rerecord"
    assert {f.code for f in result.triage.flags} == {"quality_no_heartbeat"}


@pytest.mark.parametrize(("rate", "murmur"), [(30.0, 12.0), (60.0, 16.0), (90.0, 24.0)])
def test_a_loud_murmur_does_not_make_heart_sounds_look_like_breaths(
    rate: float, murmur: float
) -> None:
    """The log envelope keeps even a murmur louder than S1 under 140 ms at half height."""
    x, _, _ = pcg(rate, 15.0, jitter=0.05, noise=0.05, murmur=murmur, seed=0)
    result = analyze(x, FS_HZ, "heart")
    heart = result.heart
    assert heart is not None and heart.heartbeat_found
    assert heart.sound_half_width_s is not None and heart.sound_half_width_s < 0.14
    assert heart.rate_bpm is not None and abs(heart.rate_bpm - rate) <= 0.1 * rate
    assert result.findings.murmur_suspected


def test_clean_heart_sounds_are_narrow() -> None:
    x, _, _ = pcg(72.0, 10.0, noise=0.02)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.sound_half_width_s is not None
    assert 0.02 <= heart.sound_half_width_s <= 0.08
