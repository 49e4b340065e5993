"""A rate read from the autocorrelation alone needs the envelope to repeat at the period read.

Issue 17 (docs/accuracy.md, twenty-seventh round, s46-acfperiod): under two measured beat
intervals, ``heart._rate_bpm`` reads the cycle's period when the pattern repeats clearly; a
cycle derived by the segmentation carries the best lag's periodicity, not its own, so a
30/min heart in 3.25-3.6 s read 0.96 s (62.5/min) where the envelope does not repeat at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import heart
from stetho_signal._notes import Note
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    CycleEstimate,
    autocorrelation,
    estimate_cycles,
    periodicity_at,
)
from stetho_signal.heart import _rate_bpm

NONE: NDArray[np.float64] = np.zeros(0)


def _pulses(period_s: float, seconds: float) -> NDArray[np.float64]:
    """An envelope of 50 ms pulses every ``period_s``, at the envelope's rate."""
    t = np.arange(round(seconds * ENVELOPE_RATE_HZ)) / ENVELOPE_RATE_HZ
    return np.where(np.mod(t, period_s) < 0.05, 1.0, 0.05)


def test_periodicity_at_scores_the_period_asked() -> None:
    env = _pulses(1.0, 4.0)
    assert periodicity_at(env, ENVELOPE_RATE_HZ, 1.0) > 0.5
    # Between the beats the envelope anticorrelates: no repeat.
    assert periodicity_at(env, ENVELOPE_RATE_HZ, 0.5) == 0.0
    assert periodicity_at(env, ENVELOPE_RATE_HZ, 0.37) < 0.2
    # One sample on, a 50 ms pulse overlaps itself: the first lag is scored too.
    assert periodicity_at(env, ENVELOPE_RATE_HZ, 0.01) > 0.5


def test_periodicity_at_reads_the_cycle_search_s_own_autocorrelation() -> None:
    # A knock 40 times a beat's height: uncapped, it would swamp the repeat. At the best
    # period, the search's periodicity to the bit; at every other, the same capped series.
    env = _pulses(0.8, 8.0)
    env[333] = 40.0
    cycles = estimate_cycles(env, ENVELOPE_RATE_HZ)
    assert cycles[0].period_s == 0.8
    assert periodicity_at(env, ENVELOPE_RATE_HZ, 0.8) == cycles[0].periodicity
    assert autocorrelation(env)[80] < cycles[0].periodicity / 2
    capped = autocorrelation(np.minimum(env, 1.0))  # the 95th percentile: a pulse's height
    for cycle in cycles:
        lag = round(cycle.period_s * ENVELOPE_RATE_HZ)
        assert periodicity_at(env, ENVELOPE_RATE_HZ, cycle.period_s) == max(capped[lag], 0.0)


@pytest.mark.parametrize("period_s", [0.0, 4.0, 9.0])
def test_periodicity_at_outside_the_envelope_is_zero(period_s: float) -> None:
    assert periodicity_at(_pulses(1.0, 4.0), ENVELOPE_RATE_HZ, period_s) == 0.0


def test_a_period_the_envelope_repeats_at_is_read() -> None:
    notes: list[str] = []
    rate = _rate_bpm(NONE, CycleEstimate(1.0, 0.3, 0.45), _pulses(1.0, 4.0), notes)
    assert rate == 60.0
    assert notes == []


def test_a_derived_period_that_does_not_repeat_is_not_read() -> None:
    # The best lag repeats (0.45), the period read (0.5 s, between the beats) does not.
    notes: list[str] = []
    rate = _rate_bpm(NONE, CycleEstimate(0.5, 0.2, 0.45), _pulses(1.0, 4.0), notes)
    assert rate is None
    assert [n.code for n in notes if isinstance(n, Note)] == ["too_few_beats"]


def test_the_best_lag_is_still_checked() -> None:
    notes: list[str] = []
    rate = _rate_bpm(NONE, CycleEstimate(1.0, 0.3, 0.19), _pulses(1.0, 4.0), notes)
    assert rate is None


def test_the_clip_must_still_span_two_periods() -> None:
    notes: list[str] = []
    rate = _rate_bpm(NONE, CycleEstimate(1.0, 0.3, 0.45), _pulses(1.0, 1.99), notes)
    assert rate is None


@pytest.mark.parametrize(("at", "read"), [(0.2, True), (float(np.nextafter(0.2, 0.0)), False)])
def test_the_bound_at_the_period_read_is_the_best_lag_s(
    monkeypatch: pytest.MonkeyPatch, at: float, read: bool
) -> None:
    asked: list[tuple[NDArray[np.float64], float, float]] = []

    def scored(env: NDArray[np.float64], fs_hz: float, period_s: float) -> float:
        asked.append((env, fs_hz, period_s))
        return at

    monkeypatch.setattr(heart, "periodicity_at", scored)
    env = _pulses(1.0, 4.0)
    rate = _rate_bpm(NONE, CycleEstimate(0.8, 0.3, 0.9), env, [])
    assert rate == (75.0 if read else None)
    assert len(asked) == 1 and asked[0][0] is env and asked[0][1:] == (ENVELOPE_RATE_HZ, 0.8)


def test_measured_intervals_need_no_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heart, "periodicity_at", lambda *args: 0.0)
    assert _rate_bpm(np.array([1.0, 1.0]), CycleEstimate(0.8, 0.3, 0.0), NONE, []) == 60.0
