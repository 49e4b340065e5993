"""A chain whose rate is past what the analysis shows is searched again in the searched range.

A model read off the loud sounds alone can be faster than any heart the analysis reads: CirCor
49897_PV made to beat at 170/min (bench.heart_faster) has split sounds and murmur peaks 0.12 s
apart, and their model, 255/min, won with a chain whose rate, past the range, was not shown.
Leaving such models out everywhere cost right chains (a slow one the half-rate guard doubles, a
fast one shown at 240/min), so only a rate that would not be shown asks for the search again
(docs/accuracy.md, twenty-eighth round).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal import heart as heart_analysis
from stetho_signal import segmentation as seg
from stetho_signal._peaks import Candidates
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    MAX_RATE_BPM,
    MIN_RATE_BPM,
    CycleEstimate,
    searched_period,
)
from stetho_signal.segmentation import HeartSounds
from stetho_sim.sounds import FS_HZ, burst


@pytest.mark.parametrize(
    ("period_s", "searched"),
    [
        (60.0 / MAX_RATE_BPM, True),
        (60.0 / MAX_RATE_BPM - 1e-6, False),
        (0.235, False),  # 49897_PV's loud sounds at 170/min
        (1.05 * 60.0 / MIN_RATE_BPM, True),
        (1.05 * 60.0 / MIN_RATE_BPM + 1e-6, False),
        (0.35, True),
    ],
)
def test_the_searched_range_is_the_autocorrelations(period_s: float, searched: bool) -> None:
    assert searched_period(period_s) is searched


def _loud_every(spacing_s: float, count: int = 30) -> Candidates:
    """Loud candidates, evenly ``spacing_s`` apart (the loud sounds' own model: twice that)."""
    times = 0.1 + spacing_s * np.arange(count)
    n = times.size
    return Candidates(
        times_s=times,
        reward=np.full(n, 2.0),
        weak=np.zeros(n, dtype=bool),
        low=np.zeros(n, dtype=bool),
        step_s=1.0 / ENVELOPE_RATE_HZ,
    )


def _models_weighed(
    monkeypatch: pytest.MonkeyPatch, cands: Candidates, searched_only: bool | None
) -> list[float]:
    """The periods of the models the first chain search of ``cands`` is given (``None``: the
    call leaves ``searched_only`` to its default)."""
    seen: list[list[float]] = []
    search = seg._searched_chain

    def spy(
        candidates: Candidates, models: list[CycleEstimate], *args: object, **kwargs: object
    ) -> object:
        seen.append([m.period_s for m in models])
        return search(candidates, models, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(seg, "_searched_chain", spy)
    env = np.ones(round((cands.times_s[-1] + 0.5) * ENVELOPE_RATE_HZ))
    favourite = [CycleEstimate(0.36, 0.15, 0.5)]
    if searched_only is None:
        seg.segment_heart_sounds(env, ENVELOPE_RATE_HZ, cands, favourite)
    else:
        seg.segment_heart_sounds(env, ENVELOPE_RATE_HZ, cands, favourite, searched_only)
    return seen[0]


def test_searched_only_leaves_out_a_loud_sounds_model_faster_than_the_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cands = _loud_every(0.12)  # their model: 0.24 s, 250/min
    periods = _models_weighed(monkeypatch, cands, searched_only=True)
    assert periods and all(searched_period(p) for p in periods), periods
    assert 0.36 in periods
    assert any(p == pytest.approx(0.24) for p in _models_weighed(monkeypatch, cands, False))


def test_by_default_every_model_is_weighed_past_the_range_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first search weighs them all: leaving them out everywhere cost right chains.
    periods = _models_weighed(monkeypatch, _loud_every(0.12), searched_only=None)
    assert any(p == pytest.approx(0.24) for p in periods), periods


def test_searched_only_keeps_a_loud_sounds_model_in_the_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    periods = _models_weighed(monkeypatch, _loud_every(0.14), searched_only=True)  # 214/min
    assert any(p == pytest.approx(0.28) for p in periods), periods


@pytest.mark.parametrize(
    ("interval_s", "count", "past"),
    # Shown up to 1.1 times MAX_RATE_BPM (242/min), read from two intervals or more.
    [(60.0 / 242.0, 3, False), (60.0 / 242.5, 3, True), (60.0 / 242.5, 1, False), (0.35, 9, False)],
)
def test_a_rate_past_the_shown_range(interval_s: float, count: int, past: bool) -> None:
    assert heart_analysis._past_shown_rate(np.full(count, interval_s)) is past


def test_the_shown_range_holds_its_bound_and_two_intervals_are_enough() -> None:
    bound = heart_analysis.MAX_RATE_BPM * (1 + heart_analysis._RANGE_MARGIN)
    interval = 60.0 / bound
    while 60.0 / interval != bound:  # an interval whose rate is the bound, to the bit
        interval = math.nextafter(interval, 0.0 if 60.0 / interval < bound else 1.0)
    assert not heart_analysis._past_shown_rate(np.full(3, interval))
    assert heart_analysis._past_shown_rate(np.full(2, 60.0 / 242.5))


def _heart(rate: float) -> NDArray[np.float64]:
    """A steady heart: S1 (45 Hz) and a fainter, higher S2 (110 Hz) 0.18 s after it."""
    rng = np.random.default_rng(0)
    n = int(8.0 * FS_HZ)
    x = 0.01 * rng.standard_normal(n)
    for t in np.arange(0.2, 7.5, 60.0 / rate):
        x += 0.5 * burst(n, t, 45.0, 0.02, FS_HZ) + 0.35 * burst(n, t + 0.18, 110.0, 0.012, FS_HZ)
    return x


def _searches(monkeypatch: pytest.MonkeyPatch, too_fast: bool) -> tuple[list[bool], float | None]:
    """How the heart analysis of a 170/min heart calls the chain search (``searched_only`` per
    call), its first chain replaced (``too_fast``) by sounds every 0.12 s, as 49897_PV's was;
    and the rate read."""
    calls: list[bool] = []
    segment = heart_analysis.segment_heart_sounds

    def spy(
        env: NDArray[np.float64],
        fs_hz: float,
        cands: Candidates,
        cycles: list[CycleEstimate],
        searched_only: bool = False,
    ) -> tuple[HeartSounds, CycleEstimate]:
        calls.append(searched_only)
        if too_fast and not searched_only:
            times = 0.2 + 0.12 * np.arange(40)
            return HeartSounds(times[0::2], times[1::2]), CycleEstimate(0.24, 0.12, 0.5)
        return segment(env, fs_hz, cands, cycles, searched_only)

    monkeypatch.setattr(heart_analysis, "segment_heart_sounds", spy)
    heart = analyze(_heart(170.0), FS_HZ, "heart").heart
    assert heart is not None
    return calls, heart.rate_bpm


def test_a_chain_past_the_shown_rate_is_searched_again_in_the_searched_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, rate = _searches(monkeypatch, too_fast=True)
    assert calls == [False, True]
    assert rate is not None and abs(rate - 170.0) <= 5.0


def test_a_chain_whose_rate_is_shown_is_searched_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, rate = _searches(monkeypatch, too_fast=False)
    assert calls == [False]
    assert rate is not None and abs(rate - 170.0) <= 5.0
