"""The long-term spectrum probe: a tone recurring over the breaths is a peak, a band edge is not."""

from __future__ import annotations

import numpy as np

from bench import wheeze_ltas_probe as probe
from bench.wheeze_forensics import analysed
from stetho_sim.sounds import FS_HZ, add_wheeze, breathing


def _peak(x: np.ndarray) -> dict[str, float]:
    return probe.long_term_peak(analysed(x, FS_HZ))


def test_clean_breathing_has_no_peak_though_its_band_has_edges() -> None:
    # The simulator's breath is 150-600 Hz noise: both sides pooled read its edges as 3.3 dB.
    for seed in (0, 1):
        assert _peak(breathing(15.0, 20.0, seed=seed))["peak_db"] < 1.0


def test_a_wheeze_in_every_breath_stands_over_the_bound_at_its_pitch() -> None:
    x = breathing(15.0, 20.0, seed=0)
    for k in range(5):
        add_wheeze(x, 1.0 + 4.0 * k, 1.6 + 4.0 * k, 400.0)
    peak = _peak(x)
    assert peak["peak_db"] >= probe.RULE_DB
    assert abs(peak["peak_hz"] - 400.0) <= 16.0


def test_a_recorders_silence_does_not_count_as_frames() -> None:
    x = breathing(15.0, 20.0, seed=0)
    for k in range(5):
        add_wheeze(x, 1.0 + 4.0 * k, 1.6 + 4.0 * k, 400.0)
    silent = np.concatenate([np.zeros(int(10.0 * FS_HZ)), x])
    assert abs(_peak(silent)["peak_db"] - _peak(x)["peak_db"]) < 0.1
