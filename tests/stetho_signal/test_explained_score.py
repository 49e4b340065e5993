"""The chain's score scaled by the clear sounds it leaves in its diastoles (dropped beats), a
third or fourth heart sound at a fixed delay in most diastoles excepted
(:func:`stetho_signal._chain_judge._explained_score`; the sounds it counts are
:func:`stetho_signal._short_beats.left_in_diastoles`, shared with the second chain search)."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal._chain_judge import _explained_score
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import PEAK_FLOOR, Candidates

SYSTOLE_S = 0.3
# Cycles that vary, as AF's do: a sound at a fixed delay from S2 is then at no fixed delay
# from the next S1, and the other way round.
CYCLES_S = (0.8, 1.0, 0.9, 1.1, 0.85)


def _cands(times: list[float]) -> Candidates:
    """Candidates at ``times``, each as loud as the typical heart sound."""
    n = len(times)
    order = np.argsort(times)
    none = np.zeros(n, dtype=bool)
    reward = np.full(n, 2.0 * (1.0 - PEAK_FLOOR))
    return Candidates(np.asarray(times, dtype=np.float64)[order], reward, none, none)


def _beats(extra: str | None) -> tuple[list[tuple[int, int]], Candidates, int]:
    """A chain of S1-S2 beats at CYCLES_S and a sound in every diastole (``extra``: "s3" 0.15 s
    after S2, "s4" 0.12 s before the next S1); the chain and candidates, and the count of
    sounds it leaves out."""
    s1 = np.concatenate([[0.0], np.cumsum(CYCLES_S)])
    times = [*s1, *(s1[:-1] + SYSTOLE_S)]
    if extra == "s3":
        times += list(s1[:-1] + SYSTOLE_S + 0.15)
    elif extra == "s4":
        times += list(s1[1:] - 0.12)
    cands = _cands(times)
    chain_s1 = {round(t, 9) for t in s1}
    chain_s2 = {round(t, 9) for t in s1[:-1] + SYSTOLE_S}
    labels = [
        (i, S1 if round(t, 9) in chain_s1 else S2)
        for i, t in enumerate(cands.times_s)
        if round(t, 9) in chain_s1 | chain_s2
    ]
    return labels, cands, cands.times_s.size - len(labels)


def test_a_clear_sound_left_in_the_only_diastole_is_a_dropped_beat() -> None:
    # S1 at 0, S2 at 0.3, a left-out sound at 0.6, S1 at 1.0; a sound in systole (0.15) is
    # not searched. Three labels and one dropped beat: the score times 3 / 4.
    cands = _cands([0.0, 0.15, 0.3, 0.6, 1.0])
    labels = [(0, S1), (2, S2), (4, S1)]
    assert _explained_score(labels, 10.0, cands) == 7.5
    assert _explained_score(labels, 0.5, cands) == 0.375


@pytest.mark.parametrize("score", [0.0, -2.0])
def test_a_score_at_or_under_zero_is_not_scaled(score: float) -> None:
    cands = _cands([0.0, 0.3, 0.6, 1.0])
    assert _explained_score([(0, S1), (1, S2), (3, S1)], score, cands) == score


def test_a_chain_of_two_sounds_is_not_judged() -> None:
    cands = _cands([0.0, 0.3, 0.6])
    assert _explained_score([(0, S1), (1, S2)], 10.0, cands) == 10.0


def test_a_chain_without_a_diastole_is_not_judged() -> None:
    cands = _cands([0.0, 0.3, 0.6, 1.0])
    assert _explained_score([(0, S2), (1, S2), (3, S2)], 10.0, cands) == 10.0


@pytest.mark.parametrize("extra", ["s3", "s4"])
def test_a_sound_at_a_fixed_delay_in_every_diastole_is_a_gallop_not_dropped_beats(
    extra: str,
) -> None:
    labels, cands, left = _beats(extra)
    assert left == len(CYCLES_S)
    assert _explained_score(labels, 10.0, cands) == 10.0


def test_a_gallop_needs_its_sound_in_half_the_diastoles_not_half_the_links() -> None:
    # Four beats, an S3 in three of their four diastoles, then four S1s in a row (skipped
    # S2s): the S1-S1 links are no diastoles, and three of four is a gallop.
    s1 = [0.0, 0.8, 1.8, 2.7, 3.8, 4.6, 5.4, 6.2, 7.0]
    s2 = [t + SYSTOLE_S for t in s1[:4]]
    s3 = [t + 0.15 for t in s2[:3]]
    cands = _cands(s1 + s2 + s3)
    kinds = {**dict.fromkeys(s1, S1), **dict.fromkeys(s2, S2)}
    labels = [(i, kinds[t]) for i, t in enumerate(cands.times_s.tolist()) if t in kinds]
    assert _explained_score(labels, 10.0, cands) == 10.0
