"""One recording's judge of its chains (:class:`stetho_signal._chain_judge._Judge`): each chain
oriented and its dropped sounds counted once, its answers :func:`_oriented`'s and
:func:`_explained_score`'s bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import _chain_judge as cj
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
    oriented = cj._oriented(TURNED_CHAIN, TURNED)
    assert oriented != TURNED_CHAIN  # turned round
    expected = cj._explained_score(oriented, score, TURNED)
    assert cj._Judge(TURNED).explained(TURNED_CHAIN, score) == (oriented, expected)
    assert cj._Judge(TURNED).oriented(TURNED_CHAIN) == oriented
    if score > 0:
        assert expected == score * 5 / 6  # one sound dropped, in the turned chain's diastole


def test_a_score_stands_without_a_diastole_and_is_scaled_with_one() -> None:
    # 0.1 * 3 / 3 is not 0.1: a chain with no diastole keeps its score as it is, one with a
    # diastole and nothing dropped is scaled all the same, as _explained_score does.
    cands = _cands([0.0, 0.3, 1.0])
    judge = cj._Judge(cands)
    assert judge.explained([(0, S2), (1, S2), (2, S2)], 0.1)[1] == 0.1
    scaled = judge.explained([(0, S1), (1, S2), (2, S1)], 0.1)[1]
    assert scaled == 0.1 * 3 / 3 != 0.1
    assert scaled == cj._explained_score([(0, S1), (1, S2), (2, S1)], 0.1, cands)


def test_a_chain_is_oriented_and_its_dropped_sounds_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = [(0, S1), (1, S2), (3, S1), (4, S2), (5, S1)]  # as many sounds, another chain
    other_oriented = cj._oriented(other, TURNED)
    other_judged = (other_oriented, cj._explained_score(other_oriented, 10.0, TURNED))
    calls = {"oriented": 0, "dropped": 0}
    oriented, dropped = cj._oriented_arrays, cj._dropped_count

    def count_oriented(*args: object) -> object:
        calls["oriented"] += 1
        return oriented(*args)  # type: ignore[arg-type]

    def count_dropped(*args: object) -> object:
        calls["dropped"] += 1
        return dropped(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cj, "_oriented_arrays", count_oriented)
    monkeypatch.setattr(cj, "_dropped_count", count_dropped)
    judge = cj._Judge(TURNED)
    first = judge.explained(TURNED_CHAIN, 10.0)
    again = judge.explained(list(TURNED_CHAIN), 4.0)  # an equal chain, another list
    assert judge.oriented(list(TURNED_CHAIN)) == first[0] == again[0]
    assert again[1] == 4.0 * 5 / 6
    assert calls == {"oriented": 1, "dropped": 1}
    # Another chain of as many sounds is judged afresh, on its own labels.
    assert judge.explained(other, 10.0) == other_judged
    assert judge.oriented(other) == other_oriented
    assert calls == {"oriented": 2, "dropped": 2}


def test_a_chain_s_phases_begin_where_its_labels_turn() -> None:
    systolic, diastolic = cj._turns(np.array([S1, S2, S1, S1, S2, S2, S1], dtype=np.intp))
    assert systolic.tolist() == [True, False, False, True, False, False]
    assert diastolic.tolist() == [False, True, False, False, False, True]
    gaps = cj._intervals(np.array([0.0, 0.3, 1.0, 1.8, 2.1, 2.5, 2.9]), systolic, diastolic)
    assert [g.tolist() for g in gaps] == [[0.3, 2.1 - 1.8], [1.0 - 0.3, 2.9 - 2.5]]


def _follows_as_before(t: np.ndarray, marks: np.ndarray, step_s: float) -> bool | None:
    """s1_phase_follows_cycle as it read before the phases were shared (the thirty-fourth
    round's code): the triples by three comparisons, the means by ndarray.mean."""
    k = np.flatnonzero((marks[:-2] == S1) & (marks[1:-1] == S2) & (marks[2:] == S1))
    if k.size < cj._STEADY_MIN_CYCLES:
        return None
    first, cycle = t[k + 1] - t[k], t[k + 2] - t[k]
    first, cycle = first - first.mean(), cycle - cycle.mean()
    rounding = step_s**2 / 6.0
    spread = float(np.dot(cycle, cycle))
    if spread <= 0.0 or spread < 4.0 * rounding * k.size:
        return None
    slope = float(np.dot(first, cycle)) / spread
    residual = first - slope * cycle
    error = float(np.sqrt(max(np.dot(residual, residual) / (k.size - 2), rounding) / spread))
    if abs(slope - 0.5) < cj._STEADY_Z * error:
        return None
    return slope > 0.5


@pytest.mark.parametrize("seed", range(80))
def test_the_cycle_s_cue_from_shared_phases_is_the_same_as_before(seed: int) -> None:
    # Chains of 10-60 sounds, some labels repeated (skips), phases that follow the cycle or
    # not, some close to the bound: the same answer from the phases found once as from the
    # labels.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 60))
    marks = np.arange(n, dtype=np.intp) % 2
    marks[rng.random(n) < 0.1] = S1
    cycles = rng.uniform(0.6, 1.2, n)
    share = rng.choice([0.05, 0.3, 0.4, 0.5, 0.6, 0.7, 0.95])  # some near the cue's bound
    spread = rng.normal(0.0, 0.01, n)
    gaps = np.where(marks == S1, 0.3 + share * (cycles - 0.9), 0.6 + (1 - share) * (cycles - 0.9))
    gaps += spread
    t = np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    step = float(rng.choice([0.0, 0.01]))
    expected = _follows_as_before(t, marks, step)
    assert cj._phase_follows(t, *cj._turns(marks), step) == expected
    assert cj.s1_phase_follows_cycle(t, marks, step) == expected


def _fast_chain() -> tuple[list[tuple[int, int]], Candidates]:
    """A steady chain at 150/min, systole as long as diastole: its "S1"s the lower-pitched
    sounds by the centroid (50 Hz against 120 Hz), the higher by the pitch-band share."""
    times = np.cumsum(np.tile([0.2, 0.2], 12))
    is_s1 = np.arange(times.size) % 2 == 0
    table = dict(zip(times.tolist(), np.where(is_s1, 50.0, 120.0).tolist(), strict=True))
    cands = Candidates(
        times_s=times,
        reward=np.ones(times.size),
        weak=np.zeros(times.size, dtype=bool),
        low=np.zeros(times.size, dtype=bool),
        pitch=np.where(is_s1, 0.6, 0.3),
        step_s=0.01,
        centroids=lambda at: np.array([table[t] for t in at.tolist()]),
    )
    return [(i, S1 if s else S2) for i, s in enumerate(is_s1.tolist())], cands


def test_a_judge_is_told_when_its_chains_are_doubled() -> None:
    # The heart's first searches make their judge without saying: close phases, so the share
    # orients the chain (turned), not the centroid as for a doubled chain (kept).
    labels, cands = _fast_chain()
    assert cj._Judge(cands).oriented(labels) == cj._oriented(labels, cands) != labels
    assert cj._Judge(cands, doubled=True).oriented(labels) == labels


def test_a_chain_of_two_sounds_keeps_its_score() -> None:
    # An S2, then an S1 with a clear sound between: one diastole, but under three sounds the
    # chain drops nothing, as _explained_score says; three sounds would drop the middle one.
    cands = _cands([0.0, 0.35, 0.7, 1.0])
    judge = cj._Judge(cands)
    assert judge.explained([(0, S2), (2, S1)], 1.0) == ([(0, S2), (2, S1)], 1.0)
    assert cj._explained_score([(0, S2), (2, S1)], 1.0, cands) == 1.0
    assert judge.explained([(0, S2), (2, S1), (3, S2)], 1.0)[1] == 3 / 4


def test_a_chain_without_a_systole_is_not_turned() -> None:
    # An S2, then two S1s: a diastole and no systole to weigh it against. Its gaps (0.3 s and
    # 0.7 s) would read as a long "systole" against a short "diastole" and turn it round.
    cands = _cands([0.0, 0.3, 1.0])
    chain = [(0, S2), (1, S1), (2, S1)]
    assert cj._oriented(chain, cands) == chain
    assert cj._Judge(cands).oriented(chain) == chain


def test_an_s2_after_an_s2_is_no_diastole_for_the_cycle_s_cue() -> None:
    # S1, S2, S2 over and over: no S1-S2-S1 triple, so no whole cycle, and the cue is silent,
    # however closely the S1-S2 gap follows the S1-S2-S2 span.
    spans = np.random.default_rng(7).uniform(0.6, 1.2, 12)
    starts = 2.0 * np.arange(12)
    times = np.column_stack([starts, starts + spans - 0.3, starts + spans]).ravel()
    marks = np.tile(np.array([S1, S2, S2], dtype=np.intp), 12)
    assert cj.s1_phase_follows_cycle(times, marks) is None
    # The same spans as whole cycles, S1 to S1: the S1-S2 gap takes their every change.
    starts = np.concatenate([[0.0], np.cumsum(spans[:-1])])
    times = np.column_stack([starts, starts + spans - 0.3]).ravel()
    marks = np.tile(np.array([S1, S2], dtype=np.intp), 12)
    assert cj.s1_phase_follows_cycle(times, marks) is True
