"""S1/S2 orientation when systole and diastole last about the same: S2 is the higher pitched."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
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
