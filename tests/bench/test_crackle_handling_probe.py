"""The twenty-seventh round's handling probe on synthetic bands: runs, levels, rule H."""

from __future__ import annotations

import numpy as np
import pytest

from bench.crackle_handling_probe import episode_jumps, is_handling, left, level, runs

FS = 8000.0


def _band(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, round(seconds * FS))


def test_runs_split_where_a_gap_exceeds_a_tenth_of_a_second() -> None:
    assert runs([0.1, 0.15, 0.25, 0.5, 0.55]) == [[0.1, 0.15, 0.25], [0.5, 0.55]]
    assert runs([]) == []


def test_level_is_the_median_block_rms_and_ignores_a_few_transients() -> None:
    x = np.full(round(FS), 0.02)
    x[100:120] = 5.0  # one block of twenty-five holds a transient
    assert level(x, FS, 0.0, 0.25) == pytest.approx(0.02)
    assert level(x, FS, -0.01, 0.2) is None  # before the recording
    assert level(x, FS, 0.9, 1.1) is None  # past its end
    assert level(x, FS, 0.5, 0.505) is None  # under one block


def test_a_burst_whose_level_jumps_on_both_sides_is_handling() -> None:
    x = _band()
    x[round(0.9 * FS) : round(1.2 * FS)] *= 4.0  # +12 dB from 0.9 to 1.2 s
    rows = episode_jumps([0.95, 1.02, 1.1], x, FS)
    assert len(rows) == 1 and rows[0]["span_s"] == (0.95, 1.1)
    before, after = rows[0]["jump_db"]
    assert 9.0 < before < 13.0 and 9.0 < after < 13.0
    assert is_handling(rows[0])
    assert left([0.3, 0.95, 1.02, 1.1, 1.6], [rows[0]["span_s"]]) == [0.3, 1.6]


def test_crackles_on_a_steady_breath_or_a_step_are_not_handling() -> None:
    steady = episode_jumps([0.95, 1.02, 1.1], _band(), FS)
    assert not is_handling(steady[0])
    step = _band()
    step[round(0.9 * FS) :] *= 4.0  # the level rises and stays: one side only
    assert not is_handling(episode_jumps([0.95, 1.02, 1.1], step, FS)[0])


def test_two_candidates_or_a_cut_neighbour_make_no_handling() -> None:
    x = _band()
    assert episode_jumps([0.95, 1.02], x, FS) == []
    x[: round(0.4 * FS)] *= 4.0
    rows = episode_jumps([0.1, 0.15, 0.2], x, FS)  # the 0.25 s before starts before 0
    assert rows[0]["jump_db"][0] is None and not is_handling(rows[0])
