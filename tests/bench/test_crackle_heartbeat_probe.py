"""The twenty-fifth round's heartbeat-lock probe on synthetic times: phases, Rayleigh, HL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.crackle_heartbeat_probe import cardiac_phases, locked_out, rayleigh_p


def test_rayleigh_p_is_one_for_even_phases_and_tiny_for_one_phase() -> None:
    assert rayleigh_p(np.arange(8) / 8.0) == pytest.approx(1.0)
    assert rayleigh_p(np.full(10, 0.3)) < 1e-4
    assert rayleigh_p(np.array([])) == 1.0


def test_rayleigh_p_follows_zars_formula() -> None:
    phases = np.array([0.0, 0.05, 0.1, 0.5, 0.95])
    n, r_n = 5, abs(np.exp(2j * np.pi * phases).sum())
    expected = math.exp(math.sqrt(1 + 4 * n + 4 * (n * n - r_n * r_n)) - (1 + 2 * n))
    assert rayleigh_p(phases) == pytest.approx(expected)


def test_cardiac_phases_leave_out_gaps_and_times_outside_the_labels() -> None:
    s1 = np.array([1.0, 2.0, 3.0, 5.0, 6.0])  # 3.0-5.0: a missed beat
    times = np.array([0.5, 1.25, 2.5, 4.0, 5.9, 6.5])
    phases = cardiac_phases(times, s1)
    assert phases[1] == pytest.approx(0.25) and phases[2] == pytest.approx(0.5)
    assert phases[4] == pytest.approx(0.9)
    assert np.isnan(phases[[0, 3, 5]]).all()
    assert np.isnan(cardiac_phases(times, s1[:2])).all()  # too few labels for a beat period


def test_locked_detections_near_the_mean_phase_are_taken_out() -> None:
    phases = np.array([0.2, 0.21, 0.19, 0.2, 0.22, 0.2, 0.18, 0.2, 0.21, 0.2, 0.7, np.nan])
    out, p = locked_out(phases, 0.001)
    assert p < 0.001
    assert out.tolist() == [True] * 10 + [False, False]
    # Six at one phase and one apart are not enough at p < 0.001 (p 0.022).
    assert not locked_out(np.delete(phases, range(6, 10)), 0.001)[0].any()


def test_phases_either_side_of_the_cycle_edge_are_one_place() -> None:
    phases = np.array([0.97, 0.99, 0.01, 0.03, 0.98, 0.02, 0.0])
    out, p = locked_out(phases, 0.001)
    assert p < 0.001 and out.all()


def test_four_phases_or_even_ones_are_never_locked() -> None:
    assert not locked_out(np.full(4, 0.5), 0.5)[0].any()  # under MIN_PHASED
    assert not locked_out(np.arange(10) / 10.0, 0.001)[0].any()
