"""Half-rate guard: a fast heart whose S2 is faint under a systolic murmur keeps its rate."""

from __future__ import annotations

import pytest

from stetho_signal import analyze
from stetho_sim.sounds import FS_HZ, pcg


@pytest.mark.parametrize("rate", [90.0, 130.0, 150.0])
@pytest.mark.parametrize("s2", [0.0, 0.05])
def test_fast_heart_with_faint_s2_and_a_murmur_is_not_read_at_half_rate(
    rate: float, s2: float
) -> None:
    # Issue 17: a child at ~130/min read as 65/min where a soft systolic murmur is heard and
    # S2 is not; the evenly spaced S1s were labelled S1, S2, S1, S2.
    x, s1, _ = pcg(rate, 12.0, jitter=0.03, murmur=1.0, noise=0.02, s2=s2, seed=1)
    result = analyze(x, FS_HZ, "heart")
    assert result.heart is not None and result.heart.rate_bpm is not None
    assert result.heart.rate_bpm == pytest.approx(rate, rel=0.1)
    assert len(result.heart.s1_s) >= 0.8 * len(s1)


@pytest.mark.parametrize("rate", [45.0, 60.0, 75.0])
def test_slow_heart_with_audible_s2_is_not_doubled(rate: float) -> None:
    x, _, _ = pcg(rate, 15.0, jitter=0.05, murmur=1.0, noise=0.02, seed=2)
    heart = analyze(x, FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm == pytest.approx(rate, rel=0.1)
