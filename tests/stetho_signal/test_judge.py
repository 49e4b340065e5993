"""One recording's judge of its chains (:class:`stetho_signal.segmentation._Judge`): each chain
oriented and its dropped sounds counted once, its answers :func:`_oriented`'s and
:func:`_explained_score`'s bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import segmentation as seg
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import PEAK_FLOOR, Candidates


def _cands(times: list[float]) -> Candidates:
    """Candidates at ``times`` (sorted), each as loud as the typical heart sound."""
    none = np.zeros(len(times), dtype=bool)
    reward = np.full(len(times), 2.0 * (1.0 - PEAK_FLOOR))
    return Candidates(np.asarray(times, dtype=np.float64), reward, none, none)


# S1 0.7 s before its S2, 0.3 s after it: "systole" outlasts "diastole", so the chain is turned
# round, and the clear sound at 0.35 s, in its "systole", then lies in a diastole: dropped.
TURNED = _cands([0.0, 0.35, 0.7, 1.0, 1.7, 2.0])
TURNED_CHAIN = [(0, S1), (2, S2), (3, S1), (4, S2), (5, S1)]


@pytest.mark.parametrize("score", [10.0, 0.1, 0.7, 3.3, 0.0, -2.0])
def test_the_judge_answers_as_the_functions_do(score: float) -> None:
    oriented = seg._oriented(TURNED_CHAIN, TURNED)
    assert oriented != TURNED_CHAIN  # turned round
    expected = seg._explained_score(oriented, score, TURNED)
    assert seg._Judge(TURNED).explained(TURNED_CHAIN, score) == (oriented, expected)
    assert seg._Judge(TURNED).oriented(TURNED_CHAIN) == oriented
    if score > 0:
        assert expected == score * 5 / 6  # one sound dropped, in the turned chain's diastole


def test_a_score_stands_without_a_diastole_and_is_scaled_with_one() -> None:
    # 0.1 * 3 / 3 is not 0.1: a chain with no diastole keeps its score as it is, one with a
    # diastole and nothing dropped is scaled all the same, as _explained_score does.
    cands = _cands([0.0, 0.3, 1.0])
    judge = seg._Judge(cands)
    assert judge.explained([(0, S2), (1, S2), (2, S2)], 0.1)[1] == 0.1
    scaled = judge.explained([(0, S1), (1, S2), (2, S1)], 0.1)[1]
    assert scaled == 0.1 * 3 / 3 != 0.1
    assert scaled == seg._explained_score([(0, S1), (1, S2), (2, S1)], 0.1, cands)


def test_a_chain_is_oriented_and_its_dropped_sounds_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = [(0, S1), (1, S2), (3, S1), (4, S2), (5, S1)]  # as many sounds, another chain
    other_oriented = seg._oriented(other, TURNED)
    other_judged = (other_oriented, seg._explained_score(other_oriented, 10.0, TURNED))
    calls = {"oriented": 0, "dropped": 0}
    oriented, dropped = seg._oriented, seg._dropped

    def count_oriented(*args: object) -> object:
        calls["oriented"] += 1
        return oriented(*args)  # type: ignore[arg-type]

    def count_dropped(*args: object) -> object:
        calls["dropped"] += 1
        return dropped(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(seg, "_oriented", count_oriented)
    monkeypatch.setattr(seg, "_dropped", count_dropped)
    judge = seg._Judge(TURNED)
    first = judge.explained(TURNED_CHAIN, 10.0)
    again = judge.explained(list(TURNED_CHAIN), 4.0)  # an equal chain, another list
    assert judge.oriented(list(TURNED_CHAIN)) == first[0] == again[0]
    assert again[1] == 4.0 * 5 / 6
    assert calls == {"oriented": 1, "dropped": 1}
    # Another chain of as many sounds is judged afresh, on its own labels.
    assert judge.explained(other, 10.0) == other_judged
    assert judge.oriented(other) == other_oriented
    assert calls == {"oriented": 2, "dropped": 2}
