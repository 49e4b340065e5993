"""The crackle forensics probe names a detection's cause from its surroundings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench import crackle_forensics as forensics

FS = 8000.0


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "after_onset_s": 5.0,
        "clipped": False,
        "wave_over_band": 1.0,
        "heart_sound_s": 1.0,
        "two_cycle_ms": 8.0,
    }
    return {**row, **changes}


@pytest.mark.parametrize(
    ("changes", "cause"),
    [
        ({}, "crackle_like"),
        ({"two_cycle_ms": 2.9}, "spike"),
        ({"heart_sound_s": 0.06, "two_cycle_ms": 2.0}, "heart_sound"),
        ({"heart_sound_s": None}, "crackle_like"),
        ({"wave_over_band": 3.0, "heart_sound_s": 0.0}, "slow_wave"),
        ({"clipped": True, "wave_over_band": 9.0}, "clipped"),
        ({"after_onset_s": 0.099, "clipped": True}, "signal_onset"),
        ({"after_onset_s": 0.1}, "crackle_like"),
    ],
)
def test_the_first_cause_that_holds_names_the_detection(
    changes: dict[str, Any], cause: str
) -> None:
    assert forensics._cause(_row(**changes)) == cause


def test_samples_near_a_flat_top_are_clipped_and_a_lone_peak_is_not() -> None:
    x = np.sin(2 * np.pi * 50 * np.arange(8000) / FS) * 0.5
    assert not forensics._near_clipping(x, FS).any()  # one sample at the peak: no plateau
    x[4000:4010] = 0.9
    near = forensics._near_clipping(x, FS)
    assert near[4000] and near[4000 - 40] and near[4009 + 40]
    assert not near[4000 - 41] and not near[4009 + 41]


def test_the_initial_deflection_is_the_first_half_cycle_reaching_a_quarter() -> None:
    t = np.arange(-80, 160) / FS
    # A crackle at 250 Hz starting negative: the first half-cycle is 2 ms wide.
    wave = np.where(t >= 0, -np.sin(2 * np.pi * 250 * t) * np.exp(-t / 0.004), 0.0)
    fine = wave.astype(np.float32)
    peak = int(np.argmax(np.abs(fine)))
    width, polarity = forensics._initial_deflection(fine, peak, FS)
    assert polarity == -1.0
    assert width == pytest.approx(2.0, abs=0.15)


def test_a_slow_wave_is_measured_against_the_band_deflection() -> None:
    n = 4000
    band = np.zeros(n, dtype=np.float32)
    slow = np.zeros(n, dtype=np.float32)
    band[2000] = 0.1
    slow[2035] = 0.4  # 8.75 ms away: within the 10 ms reach
    assert forensics._wave_over_band(slow, band, 0.5) == pytest.approx(4.0)
    slow[2035] = 0.0
    slow[2045] = 0.4  # 11.25 ms: out of reach
    assert forensics._wave_over_band(slow, band, 0.5) == pytest.approx(0.0)


def test_quartiles_leave_out_what_was_not_measured() -> None:
    assert forensics._quartiles([1.0, float("nan"), 2.0, 3.0]) == [1.5, 2.0, 2.5]
    assert forensics._quartiles([float("nan")]) is None
    assert forensics._quartiles([]) is None
