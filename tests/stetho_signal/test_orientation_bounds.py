"""The bounds of S1/S2 orientation, each on its exact value: 130/min, phases 4:5, ties.

``_chain_judge._oriented`` turns a chain round by its phases' order, by the sounds' pitch-band
share when the phases are within 20 % of each other, and by their spectral centroid from
130/min. These tests put a chain on each bound, where ``>`` and ``>=`` part, and give a chain
too short to have both phases.
"""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import _chain_judge as cj
from stetho_signal import segmentation as seg
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import Candidates
from stetho_signal._stats import median


def _chain(
    systole_s: float,
    diastole_s: float,
    centroid: tuple[float, float] | None = (50.0, 120.0),
    share: tuple[float, float] | None = (0.3, 0.6),
) -> tuple[list[tuple[int, int]], Candidates]:
    """A steady chain of 12 beats, its sounds labelled S1 then S2; ``centroid`` and ``share``
    give the "S1"s' value first (None: not measured)."""
    times = np.cumsum(np.tile([diastole_s, systole_s], 12))
    is_s1 = np.arange(times.size) % 2 == 0
    labels = [(i, S1 if s else S2) for i, s in enumerate(is_s1.tolist())]
    table = (
        None
        if centroid is None
        else dict(zip(times.tolist(), np.where(is_s1, *centroid).tolist(), strict=True))
    )
    cands = Candidates(
        times_s=times,
        reward=np.ones(times.size),
        weak=np.zeros(times.size, dtype=bool),
        low=np.zeros(times.size, dtype=bool),
        pitch=None if share is None else np.where(is_s1, *share),
        step_s=0.01,
        centroids=None if table is None else lambda at: np.array([table[t] for t in at.tolist()]),
    )
    return labels, cands


def _flipped(labels: list[tuple[int, int]], cands: Candidates) -> bool:
    return cj._oriented(labels, cands)[0][1] != labels[0][1]


def test_a_chain_at_exactly_the_fast_rate_is_judged_by_its_centroid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Phases 0.2 s and 0.26 s (not close; diastole the longer), the "S1"s the higher centroid.
    # No float chain lands on 130.0/min itself, so the bound is moved onto the chain's rate.
    labels, cands = _chain(0.2, 0.26, centroid=(120.0, 50.0))
    systoles, diastoles = seg._phase_intervals(labels, cands.times_s)
    rate = 60.0 / (median(systoles) + median(diastoles))
    monkeypatch.setattr(cj, "_FAST_PHASES_BPM", rate)
    assert _flipped(labels, cands) is True  # on the bound: fast, the centroid turns it
    monkeypatch.setattr(cj, "_FAST_PHASES_BPM", float(np.nextafter(rate, np.inf)))
    assert _flipped(labels, cands) is False  # just under it: the phases keep it


def test_phases_exactly_four_fifths_apart_are_close() -> None:
    # 0.5 s over 0.625 s is 0.8 to the last bit: close, so the share decides, and the "S1"s
    # have the larger share. 0.5 s over 0.640625 s is not: the phases keep the labels.
    labels, cands = _chain(0.5, 0.625, share=(0.6, 0.3))
    assert cj._CLOSE_PHASES * 0.625 == 0.5
    assert _flipped(labels, cands) is True
    labels, cands = _chain(0.5, 0.640625, share=(0.6, 0.3))
    assert _flipped(labels, cands) is False


def test_equal_phases_with_nothing_else_to_go_by_keep_their_labels() -> None:
    # Neither phase outlasts the other and no pitch was measured: no reason to swap.
    labels, cands = _chain(0.25, 0.25, centroid=None, share=None)
    assert _flipped(labels, cands) is False


def test_equal_centroids_do_not_turn_a_fast_chain() -> None:
    # 171/min, systole 0.2 s over diastole 0.15 s (the phases alone would swap): centroids
    # that tie say the "S1"s are not the higher, so the labels stay.
    labels, cands = _chain(0.2, 0.15, centroid=(100.0, 100.0))
    assert cj._s1_higher_centroid(labels, cands) is False
    assert _flipped(labels, cands) is False


@pytest.mark.parametrize("first", [S1, S2])
def test_a_chain_without_both_phases_is_left_as_labelled(first: int) -> None:
    # One S1-S2 pair has a systole and no diastole (and S2-S1 the reverse): nothing to compare.
    _, cands = _chain(0.3, 0.5)
    pair = [(0, first), (1, S2 if first == S1 else S1)]
    assert cj._oriented(pair, cands) == pair


def test_equal_pitch_shares_do_not_turn_close_phases() -> None:
    # Phases within 20 % (systole 0.3 s, diastole 0.33 s): the share decides, and shares that
    # tie say the "S1"s are not the higher, so the labels stay.
    labels, cands = _chain(0.3, 0.33, centroid=None, share=(0.4, 0.4))
    assert cj._s1_higher_pitched(labels, cands) is False
    assert _flipped(labels, cands) is False


def test_two_s1s_leave_a_fast_chain_to_its_phases() -> None:
    # S2, S1, S2, S1, S2: three "S2"s but two "S1"s, too few to judge the centroid by, so the
    # longer systole (0.2 s over 0.15 s) turns the chain round; the centroids would keep it.
    labels, cands = _chain(0.2, 0.15)
    assert cj._s1_higher_centroid(labels[1:6], cands) is None
    assert _flipped(labels[1:6], cands) is True
