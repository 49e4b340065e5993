"""The AF chains' beat-by-beat score: matched, missed, swapped, spurious and lost S1s."""

from __future__ import annotations

import numpy as np

from bench.af_beats import beat_score, matched


def test_matched_is_one_to_one_within_the_tolerance() -> None:
    hit = matched(np.array([1.0, 1.02, 2.0]), np.array([1.01, 2.07]))
    assert hit.tolist() == [True, False, False]


def test_a_swap_run_and_a_merged_pair_are_told_apart() -> None:
    s1_ref = np.arange(8) * 0.8  # eight annotated beats
    s2_ref = s1_ref + 0.3
    # The chain: beats 0-2 right, beats 3-4 labelled S2 and their S2s S1 (a swap run), beat 5
    # missed (merged), beats 6-7 right, and one S1 on nothing.
    s1 = np.sort(np.concatenate([s1_ref[[0, 1, 2, 6, 7]], s2_ref[[3, 4]], [5.0]]))
    s2 = np.array([0.3, 1.1, 1.9, 2.4, 3.2, 5.1, 5.9])
    score = beat_score(s1_ref, s2_ref, s1, s2)
    assert score == {
        "spanned": 8, "matched": 5, "missed": 3, "swapped": 2, "chain": 8, "spurious": 3,
        "lost": 0,
    }  # fmt: skip
    # Beats left out altogether are lost, not swapped.
    left = beat_score(s1_ref, s2_ref, s1_ref[[0, 1, 2, 5, 6, 7]], s2_ref[[0, 1, 2]])
    assert left["swapped"] == 0 and left["missed"] == 2 and left["lost"] == 2


def test_only_the_span_of_the_chain_counts() -> None:
    s1_ref = np.arange(10) * 1.0
    score = beat_score(s1_ref, s1_ref + 0.3, s1_ref[2:6], np.zeros(0))
    assert score["spanned"] == 4 and score["lost"] == 0 and score["missed"] == 0
