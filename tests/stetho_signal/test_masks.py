"""stetho_signal._masks.run_lengths counts the runs of True as a plain loop over the mask does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stetho_signal._masks import run_lengths


def _plain_runs(mask: np.ndarray) -> list[int]:
    return [len(list(group)) for value, group in itertools.groupby(mask.tolist()) if value]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 10, 1000])
@pytest.mark.parametrize("share", [0.0, 0.001, 0.3, 0.9, 1.0])
def test_run_lengths_match_a_plain_count(size: int, share: float) -> None:
    rng = np.random.default_rng(size)
    for _ in range(5):
        mask = rng.random(size) < share
        runs = run_lengths(mask)
        assert runs.dtype == np.intp
        assert runs.tolist() == _plain_runs(mask)


def test_runs_at_both_ends_count_whole() -> None:
    mask = np.array([True, True, False, True, False, False, True, True, True])
    assert run_lengths(mask).tolist() == [2, 1, 3]
