"""The sixth round's lung probe on synthetic inputs: waveform measures, detectors, tones."""

from __future__ import annotations

import numpy as np

from bench._eval_lung_detectors import (
    FINE_HZ,
    fractal_events,
    kurtosis_events,
    nonstationary_events,
)
from bench._eval_lung_round6 import _whitened, damped_fits, spike_shares


def _damped(f_hz: float, kept_per_cycle: float) -> np.ndarray:
    t = np.arange(int(4.0 / f_hz * FINE_HZ)) / FINE_HZ
    return np.sin(2 * np.pi * f_hz * t) * kept_per_cycle ** (t * f_hz)


def test_spike_share_tells_a_spike_from_a_ringing_deflection() -> None:
    x = np.zeros(int(FINE_HZ))
    x[4000] = 1.0  # one sample: all its energy at the largest deflection
    ring = _damped(250.0, 0.5)  # 2CD 8 ms, three or four visible cycles
    x[6000 : 6000 + ring.size] += ring
    spike, crackle = spike_shares(x, np.array([4000, 6000 + 8]) / FINE_HZ)
    assert spike > 0.99
    assert crackle < 0.4


def test_damped_fit_reads_the_decay_of_a_damped_sinusoid() -> None:
    x = np.zeros(int(FINE_HZ))
    ring = _damped(400.0, 0.35)
    x[4000 : 4000 + ring.size] += ring
    ((r2, decay),) = damped_fits(x, np.array([(4000 + 5) / FINE_HZ]))
    assert r2 > 0.95
    assert decay == 0.35


def test_detectors_find_transients_over_stationary_noise() -> None:
    rng = np.random.default_rng(1)
    x = 0.01 * rng.standard_normal(int(2 * FINE_HZ))
    burst = _damped(300.0, 0.3)
    at = (4000, 9000, 13000)
    for i in at:
        x[i : i + burst.size] += burst
    for events in (nonstationary_events(x)[5.0, 2], kurtosis_events(x)[8.0]):
        assert len(events) >= 3
        assert all(min(abs(e - i / FINE_HZ) for e in events) < 0.02 for i in at)
    quiet = 0.01 * rng.standard_normal(int(2 * FINE_HZ))
    assert len(kurtosis_events(quiet)[12.0]) == 0
    assert len(fractal_events(quiet)[1.3]) == 0


def test_fractal_dimension_falls_at_a_single_deflection_not_at_ringing() -> None:
    # Katz's dimension over 10 ms: near 1 for one deflection, ~1.4 for three damped cycles.
    rng = np.random.default_rng(2)
    x = 0.01 * rng.standard_normal(int(2 * FINE_HZ))
    for i in (4000, 9000, 13000):
        x[i] += 1.0
    ring = _damped(300.0, 0.3)
    x[11000 : 11000 + ring.size] += ring
    events = fractal_events(x)[1.2]
    assert len(events) == 3
    assert all(min(abs(e - i / FINE_HZ) for i in (4000, 9000, 13000)) < 0.02 for e in events)


def test_whitening_leaves_a_resonance_present_all_the_time_at_zero() -> None:
    power = np.ones((40, 100), dtype=np.float32)
    power[10] = 100.0  # a resonance in every frame
    power[30, 50:55] = 100.0  # a tone in five frames
    whitened, over = _whitened(power)
    assert abs(whitened[10]).max() < 1e-6
    assert over[30, 52] > 15.0
    assert over[10].max() < 1e-6
