"""Opening-snap hint: a second sound 40-120 ms after every S2, not a split S2 nor an S3."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal._snap import snap_after_s2
from stetho_sim.sounds import FS_HZ, burst, pcg


def _with_second_sound(
    rate: float, delay_s: float, freq_hz: float, level: float, seed: int = 0
) -> NDArray[np.float64]:
    x, _, s2 = pcg(rate, 12.0, noise=0.02, seed=seed)
    for t in s2:
        x += level * burst(x.size, t + delay_s, freq_hz, 0.006, FS_HZ)
    return x


@pytest.mark.parametrize(("rate", "delay_s"), [(50.0, 0.06), (70.0, 0.08), (100.0, 0.1)])
def test_a_snap_after_every_s2_is_hinted_with_its_delay(rate: float, delay_s: float) -> None:
    result = analyze(_with_second_sound(rate, delay_s, 180.0, 0.3), FS_HZ, "heart")
    assert result.heart is not None and result.heart.snap_delay_s is not None
    assert result.findings.opening_snap is True
    assert abs(result.heart.snap_delay_s - delay_s) <= 0.015
    flag = next(f for f in result.triage.flags if f.code == "heart_opening_snap")
    assert flag.value is not None and flag.value >= 0.75 and flag.threshold == 0.75
    assert "ms after S2" in flag.reason and result.triage.level in ("review", "urgent")


@pytest.mark.parametrize("rate", [40.0, 60.0, 80.0, 110.0, 150.0, 200.0])
@pytest.mark.parametrize("noise", [0.01, 0.2])
def test_no_snap_hint_without_a_second_sound(rate: float, noise: float) -> None:
    x, _, _ = pcg(rate, 12.0, noise=noise, seed=1)
    assert analyze(x, FS_HZ, "heart").findings.opening_snap is not True


def test_a_split_s2_under_40_ms_is_not_a_snap() -> None:
    # P2 follows A2 by 20-40 ms in a physiologically split S2.
    for rate in (60.0, 90.0):
        x = _with_second_sound(rate, 0.03, 90.0, 0.25)
        assert analyze(x, FS_HZ, "heart").findings.opening_snap is not True


def test_a_third_heart_sound_is_not_a_snap() -> None:
    # S3 comes 130-180 ms after S2 (the simulator puts it at 150 ms).
    for rate in (60.0, 90.0):
        x, _, _ = pcg(rate, 12.0, noise=0.02, s3=0.3)
        assert analyze(x, FS_HZ, "heart").findings.opening_snap is not True


def test_too_few_second_sounds_are_not_measured() -> None:
    env = np.ones(500)
    assert snap_after_s2(env, 500.0, np.array([0.5]), np.array([0.2])) is None
    # Both S2s closer to the next S1 than the search window: nothing examined.
    s1, s2 = np.array([0.1, 0.5, 0.95]), np.array([0.4, 0.85])
    assert snap_after_s2(env, 500.0, s2, s1) is None
