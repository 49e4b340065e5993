"""bench._breath_dominance on hand-made sounds: a heart's pulses vary the loudness at their
rate, a breath's swell at 0.1-1 Hz."""

from __future__ import annotations

import numpy as np

from bench._breath_dominance import RHYTHM_HZ, heard_share, rhythm_share

FS_HZ = 4000.0


def _sound(rate_bpm: float, breath: float, seconds: float = 12.0) -> np.ndarray:
    """Heart sounds (30 ms bursts at 50 Hz) at ``rate_bpm`` under 25-1000 Hz noise of RMS
    ``breath`` swelling at 18/min."""
    rng = np.random.default_rng(3)
    t = np.arange(round(seconds * FS_HZ)) / FS_HZ
    phase = t % (60.0 / rate_bpm)
    beats = np.exp(-0.5 * ((phase - 0.05) / 0.01) ** 2) * np.sin(2 * np.pi * 50.0 * t)
    swell = np.sin(np.pi * 0.3 * t) ** 2
    return beats + breath * swell * rng.standard_normal(t.size)


def test_beats_vary_at_their_rate_and_a_loud_swelling_breath_at_its_own() -> None:
    assert RHYTHM_HZ == (0.1, 1.0)
    heart = heard_share(_sound(150.0, 0.0), FS_HZ)
    assert heart is not None and heart < 0.01
    loud = heard_share(_sound(150.0, 1.0), FS_HZ)
    assert loud is not None and loud > 0.5
    assert heard_share(3.0 * _sound(150.0, 1.0), FS_HZ) == loud  # a ratio of powers


def test_the_share_counts_the_rhythms_edges_and_needs_a_bin_of_it() -> None:
    t = np.arange(1000) / 100.0  # bins every 0.1 Hz
    one = rhythm_share(2.0 + np.cos(2 * np.pi * 1.0 * t), 100.0)
    assert one is not None and 0.8 < one < 0.86  # the 1 Hz bin and its lower neighbour
    past = rhythm_share(2.0 + np.cos(2 * np.pi * 1.1 * t), 100.0)
    assert past is not None and 0.1 < past < 0.2
    assert rhythm_share(np.ones(1000), 100.0) is None
    assert rhythm_share(np.cos(2 * np.pi * 2.0 * t[:50]), 100.0) is None  # 0.5 s
    assert heard_share(np.zeros(60), FS_HZ) is None  # under two blocks
