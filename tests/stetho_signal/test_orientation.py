"""S1/S2 orientation when systole and diastole last about the same: S2 is the higher pitched."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _chain_judge as cj
from stetho_signal import analyze
from stetho_signal._chains import S1, S2
from stetho_sim.sounds import FS_HZ, burst


def _fast_heart(
    rate: float, systole_s: float, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """S1 (45 Hz, loud, long) and S2 (110 Hz, brief), RR +-3 %; returns x and the S1 times."""
    rng = np.random.default_rng(seed)
    period, n = 60.0 / rate, int(12.0 * FS_HZ)
    s1 = np.cumsum(period * (1.0 + 0.03 * rng.uniform(-1.0, 1.0, int(12.0 / period) + 2)))
    s1 = s1[s1 < 11.5] - period + 0.2
    x = 0.01 * rng.standard_normal(n)
    for t in s1:
        x += 0.5 * burst(n, t, 45.0, 0.02, FS_HZ) + 0.35 * burst(
            n, t + systole_s, 110.0, 0.012, FS_HZ
        )
    return x, s1


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("rate", "systole_s"),
    # Systole a little shorter, equal to and a little longer than diastole (a tachycardia
    # whose systole the durations alone would put the wrong way round).
    [(110.0, 0.26), (125.0, 0.24), (140.0, 0.22), (125.0, 0.25)],
)
def test_close_phases_are_oriented_by_pitch(rate: float, systole_s: float, seed: int) -> None:
    x, s1 = _fast_heart(rate, systole_s, seed)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert abs(heart.rate_bpm - rate) <= 0.1 * rate
    found = np.asarray(heart.s1_s)
    hits = sum(bool(np.any(np.abs(found - t) <= 0.06)) for t in s1)
    assert hits >= 0.9 * s1.size, (hits, s1.size)


def _chain(
    systoles: NDArray[np.float64], diastoles: NDArray[np.float64]
) -> tuple[list[tuple[int, int]], NDArray[np.float64]]:
    """A chain S1, S2, S1, ... with the given phase durations, and its sound times."""
    steps = np.ravel(np.column_stack([systoles, diastoles]))
    times = np.concatenate([[0.0], np.cumsum(steps)])
    labels = [(i, S1 if i % 2 == 0 else S2) for i in range(times.size)]
    return labels, times


def test_the_phase_that_follows_the_cycle_is_diastole() -> None:
    rng = np.random.default_rng(0)
    # Sinus arrhythmia: the cycle varies +-10 %, systole by its 10 ms envelope steps only.
    diastoles = 0.22 + 0.05 * rng.uniform(-1.0, 1.0, 30)
    systoles = 0.24 + 0.01 * rng.integers(-1, 2, 30)
    labels, times = _chain(systoles, diastoles)
    assert cj._s1_phase_follows_cycle(labels, times) is False
    swapped, times = _chain(diastoles, systoles)
    assert cj._s1_phase_follows_cycle(swapped, times) is True


def test_a_regular_or_short_chain_leaves_the_cue_silent() -> None:
    rng = np.random.default_rng(1)
    steady = _chain(0.24 + 0.01 * rng.integers(-1, 2, 30), 0.22 + 0.01 * rng.integers(-1, 2, 30))
    assert cj._s1_phase_follows_cycle(*steady, step_s=0.01) is None
    # Cycles alternating by one 10 ms step in step with systole: rounding, not physiology.
    alternating = _chain(np.tile([0.31, 0.30], 15), np.full(30, 0.36))
    assert cj._s1_phase_follows_cycle(*alternating, step_s=0.01) is None
    short = _chain(np.full(5, 0.24), 0.22 + np.linspace(-0.05, 0.05, 5))
    assert cj._s1_phase_follows_cycle(*short) is None


@pytest.mark.parametrize("seed", [0, 1])
def test_a_long_systole_with_a_high_s1_is_oriented_by_the_cycle(seed: int) -> None:
    """130/min, systole 0.25 s outlasting diastole, S1 the higher-pitched (as at a site where
    S1 carries the larger share): durations and pitch both point the wrong way; the cycle's
    beat-to-beat changes, all in diastole, tell which sound is S1."""
    rng = np.random.default_rng(seed)
    n = int(14.0 * FS_HZ)
    cycles = (60.0 / 130.0) * (1.0 + 0.1 * np.sin(np.arange(40) * 2 * np.pi / 6.0))
    s1 = 0.3 + np.concatenate([[0.0], np.cumsum(cycles)])
    s1 = s1[s1 < 13.0]
    x = 0.01 * rng.standard_normal(n)
    for t in s1:
        x += 0.5 * burst(n, t, 110.0, 0.02, FS_HZ) + 0.5 * burst(n, t + 0.25, 50.0, 0.02, FS_HZ)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    found = np.asarray(heart.s1_s)
    hits = sum(bool(np.any(np.abs(found - t) <= 0.06)) for t in s1)
    assert hits >= 0.9 * s1.size, (hits, s1.size)
