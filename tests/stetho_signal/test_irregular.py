"""Irregular rhythms from the simulator: no half- or double-rate error, no false urgent alert.

The simulator's ``irregular`` scenario (~95/min, RR coefficient of variation 0.22, like atrial
fibrillation) was once read at 182-190/min, a double-rate error that raised an urgent alert.
The ``poor-contact`` scenario (a slipping chest piece) was once read at ~35/min, another false
urgent alert: its thumps now send it back to be recorded again.

Atrial fibrillation, common in elderly residents, varies RR by 20-30 %: a cycle model ~20 %
slow that dropped the shortest beats once outscored the true one (96.4/min read 79.7, 5 of the
48 sweep readings below off by more than 10 %). Still known: 70/min at 30 % with seed 2 reads
65.6 for 77.1/min.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from stetho_signal import analyze
from stetho_sim.sounds import median_rate_bpm, pcg
from stetho_sim.synth import SCENARIO_SPECS, StethoscopeSynth, synthesize

FS_HZ = 4000
WINDOW_S = 15.0  # the demo's recording length


def _window(synth: StethoscopeSynth, duration_s: float) -> tuple[np.ndarray, float]:
    """Next ``duration_s`` of the stream and its true rate (median S1-S1 interval inside it)."""
    start_s = synth.position / FS_HZ
    samples = synth.read(round(duration_s * FS_HZ))
    s1 = [e.start_s for e in synth.events if e.kind == "S1"]
    return samples, median_rate_bpm([t for t in s1 if start_s <= t < start_s + duration_s])


@pytest.mark.parametrize("seed", range(6))
def test_demo_irregular_scenario_is_read_near_its_rate_and_never_urgent(seed: int) -> None:
    synth = StethoscopeSynth("irregular", FS_HZ, seed)
    for _ in range(2):  # two consecutive recordings, as the demo schedules them
        samples, true_rate = _window(synth, WINDOW_S)
        result = analyze(samples, FS_HZ, "heart")
        assert result.heart is not None and result.heart.rate_bpm is not None
        assert result.heart.rate_bpm == pytest.approx(true_rate, rel=0.1)
        assert result.findings.irregular is True
        assert result.triage.level == "review"


@pytest.mark.parametrize("rate", [40.0, 75.0, 120.0, 150.0, 180.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_irregular_rhythm_at_any_rate_has_no_half_or_double_rate_error(
    rate: float, seed: int
) -> None:
    synth = StethoscopeSynth("irregular", FS_HZ, seed)
    synth.scenario = dataclasses.replace(SCENARIO_SPECS["irregular"], heart_rate_bpm=rate)
    samples, true_rate = _window(synth, 20.0)
    heart = analyze(samples, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert heart.rate_bpm == pytest.approx(true_rate, rel=0.1)


@pytest.mark.parametrize("rate", [40.0, 90.0, 150.0, 200.0, 220.0])
def test_intervals_varying_25_percent_keep_the_rate(rate: float) -> None:
    x, s1, _ = pcg(rate, 15.0, jitter=0.25, seed=2)
    true_rate = median_rate_bpm(s1)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert heart.rate_bpm == pytest.approx(true_rate, rel=0.05)


def test_intervals_varying_25_percent_in_the_simulator_keep_the_rate_and_every_s1() -> None:
    # The slow model's chain labelled 74 % of the S1s and read 79.7 for 96.4/min.
    synth = StethoscopeSynth("irregular", FS_HZ, 5)
    synth.scenario = dataclasses.replace(
        SCENARIO_SPECS["irregular"], heart_rate_bpm=95.0, rr_variation=0.25
    )
    samples, true_rate = _window(synth, 20.0)
    heart = analyze(samples, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert heart.rate_bpm == pytest.approx(true_rate, rel=0.1)
    true_s1 = np.array([(e.start_s + e.end_s) / 2 for e in synth.events if e.kind == "S1"])
    true_s1 = true_s1[true_s1 < 20.0]
    found = np.array(heart.s1_s)
    nearest = np.min(np.abs(found[:, None] - true_s1[None, :]), axis=0)
    assert np.mean(nearest <= 0.06) >= 0.95


@pytest.mark.parametrize("variation", [0.15, 0.2, 0.25, 0.3])
def test_atrial_fibrillation_like_variation_keeps_the_rate_across_rates(variation: float) -> None:
    misses = []
    for rate, seed in itertools.product([50.0, 70.0, 90.0, 110.0, 130.0, 150.0], [0, 1]):
        synth = StethoscopeSynth("irregular", FS_HZ, seed)
        synth.scenario = dataclasses.replace(
            SCENARIO_SPECS["irregular"], heart_rate_bpm=rate, rr_variation=variation
        )
        samples, true_rate = _window(synth, 20.0)
        heart = analyze(samples, FS_HZ, "heart").heart
        assert heart is not None
        if heart.rate_bpm is None or abs(heart.rate_bpm - true_rate) > 0.1 * true_rate:
            misses.append((rate, seed, round(true_rate, 1), heart.rate_bpm))
    assert misses == []


@pytest.mark.parametrize("seed", range(8))
def test_slipping_chest_piece_is_sent_back_with_a_reason_not_an_urgent_alert(seed: int) -> None:
    # Thumps of the slipping chest piece once left every other beat visible: ~35/min, urgent.
    result = analyze(synthesize("poor-contact", WINDOW_S, FS_HZ, seed).samples, FS_HZ, "heart")
    assert result.triage.level == "rerecord"
    assert "handling" in result.quality.problem_codes
    assert [f.code for f in result.triage.flags] == ["quality_handling"]
    assert "hold the chest piece still" in result.triage.flags[0].reason


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    ("scenario", "level", "codes"),
    [("normal", "routine", []), ("bradycardia", "review", ["heart_rate_low"])],
)
def test_steady_chest_piece_is_accepted_and_44_per_minute_still_flagged(
    scenario: str, level: str, codes: list[str], seed: int
) -> None:
    result = analyze(synthesize(scenario, WINDOW_S, FS_HZ, seed).samples, FS_HZ, "heart")
    assert result.quality.acceptable
    assert "handling" not in result.quality.problem_codes
    assert result.triage.level == level
    assert [f.code for f in result.triage.flags] == codes


@pytest.mark.parametrize("rate", [32.0, 38.0])
def test_true_severe_bradycardia_still_raises_an_urgent_alert(rate: float) -> None:
    synth = StethoscopeSynth("bradycardia", FS_HZ, 0)
    synth.scenario = dataclasses.replace(SCENARIO_SPECS["bradycardia"], heart_rate_bpm=rate)
    samples, true_rate = _window(synth, 20.0)
    result = analyze(samples, FS_HZ, "heart")
    assert result.quality.acceptable
    assert result.triage.level == "urgent"
    assert result.heart is not None and result.heart.rate_bpm == pytest.approx(true_rate, rel=0.1)
