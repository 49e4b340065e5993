"""The fifth round's lung probe on synthetic inputs: phases, tones, clicks and the scoring."""

from __future__ import annotations

import numpy as np

from bench._eval_lung_round5 import (
    click_ratios,
    cycle_share,
    family_scores,
    recurring_tone_breaths,
    same_phase_breaths,
)
from stetho_signal.wheezes import Tone


def test_same_phase_breaths_counts_each_breath_once() -> None:
    # Breath 4 s: events at phase ~0.1 in breaths 0, 1 and 3, two of them in breath 1, and
    # one at phase 0.6.
    times = [0.4, 4.3, 4.5, 12.5, 2.4]
    assert same_phase_breaths(times, 4.0, 0.1) == 3
    assert same_phase_breaths(times, 4.0, 0.5) == 4  # any phase: four breaths hold one
    assert same_phase_breaths([], 4.0, 0.1) == 0


def test_recurring_tone_breaths_needs_one_pitch_group() -> None:
    same = [Tone(1.0, 1.2, 400.0), Tone(5.0, 5.2, 440.0), Tone(9.1, 9.3, 380.0)]
    assert recurring_tone_breaths(same, 4.0, 0.5) == 3
    apart = [Tone(1.0, 1.2, 400.0), Tone(5.0, 5.2, 800.0), Tone(9.1, 9.3, 200.0)]
    assert recurring_tone_breaths(apart, 4.0, 0.5) == 1
    shifted = [Tone(1.0, 1.2, 400.0), Tone(7.0, 7.2, 400.0)]  # half a breath out of phase
    assert recurring_tone_breaths(shifted, 4.0, 0.25) == 1
    assert recurring_tone_breaths(shifted, 4.0, 0.5) == 2


def test_click_ratios_see_a_broadband_click_not_a_low_crackle() -> None:
    fs = 44100.0
    rng = np.random.default_rng(0)
    x = 0.05 * rng.standard_normal(int(2 * fs))
    x[int(0.5 * fs)] += 5.0  # an impulse: every band
    u = np.arange(-int(0.01 * fs), int(0.01 * fs)) / fs
    at = int(1.5 * fs)
    x[at + int(u[0] * fs) : at - int(u[0] * fs)] += np.exp(-0.5 * (u / 0.002) ** 2) * np.sin(
        2 * np.pi * 400.0 * u
    )  # a smooth 400 Hz deflection: nothing above 1.8 kHz
    click, crackle = click_ratios(x, fs, np.array([0.5, 1.5]))
    assert click > 10.0 > 4.0 > crackle


def test_cycle_share_counts_detections_in_crackle_cycles() -> None:
    cycles = np.array([[0.0, 2.0, 1, 0], [2.0, 6.0, 0, 0], [6.0, 8.0, 1, 1]])
    share = cycle_share(np.array([1.0, 3.0, 7.5]), cycles)
    assert share == {"detections_inside": 2, "of": 3, "time_share": 0.5}


def test_family_scores_choose_the_member_on_the_other_patients() -> None:
    truth = [True, True, False, False, False]
    patients = ["a", "b", "c", "d", "e"]
    rules = {
        "shipped": [True, True, True, True, False],
        "better": [True, True, False, False, False],
    }
    scores = family_scores(truth, patients, rules)
    assert scores["fitted"]["rule"] == "better"
    # Held out, c and d each get "better" from the other one; a tie would go to "shipped".
    assert scores["leave_one_patient_out"] == {"sensitivity": 1.0, "specificity": 1.0}
    assert scores["members"]["shipped"] == {"sensitivity": 1.0, "specificity": 0.333}
