"""Cycle models the chain search weighs lie in the range the autocorrelation searches.

A model read off the loud sounds alone can be faster than any heart the analysis reads: CirCor
49897_PV made to beat at 170/min (bench.heart_faster) has split sounds and murmur peaks 0.12 s
apart, and their model, 255/min, won with a chain whose rate, past the range, was not shown
(docs/accuracy.md, twenty-eighth round).
"""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import segmentation as seg
from stetho_signal._peaks import Candidates
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    MAX_RATE_BPM,
    MIN_RATE_BPM,
    CycleEstimate,
    searched_period,
)


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


def _models_weighed(monkeypatch: pytest.MonkeyPatch, cands: Candidates) -> list[float]:
    """The periods of the models the first chain search of ``cands`` is given."""
    seen: list[list[float]] = []
    search = seg._searched_chain

    def spy(
        candidates: Candidates, models: list[CycleEstimate], *args: object, **kwargs: object
    ) -> object:
        seen.append([m.period_s for m in models])
        return search(candidates, models, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(seg, "_searched_chain", spy)
    env = np.ones(round((cands.times_s[-1] + 0.5) * ENVELOPE_RATE_HZ))
    seg.segment_heart_sounds(env, ENVELOPE_RATE_HZ, cands, [CycleEstimate(0.36, 0.15, 0.5)])
    return seen[0]


def test_a_loud_sounds_model_faster_than_the_range_is_not_weighed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    periods = _models_weighed(monkeypatch, _loud_every(0.12))  # their model: 0.24 s, 250/min
    assert periods and all(searched_period(p) for p in periods), periods
    assert 0.36 in periods


def test_a_loud_sounds_model_in_the_range_is_still_weighed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    periods = _models_weighed(monkeypatch, _loud_every(0.14))  # 0.28 s, 214/min
    assert any(p == pytest.approx(0.28) for p in periods), periods
