"""bench.heart_sweeps on a few cases, so CI runs its code path; ``make bench`` runs the sweeps."""

from __future__ import annotations

import dataclasses

from bench.heart_sweeps import SWEEPS, Sweep, run_no_heart, run_sweep


def _few(name: str, **grid: tuple[float, ...]) -> Sweep:
    return dataclasses.replace(SWEEPS[name], grid=SWEEPS[name].grid | grid)


def test_simulated_irregular_rhythms_are_read_and_scored() -> None:
    summary = run_sweep(_few("af", rate_bpm=(90.0,), rr_variation=(0.2,), seed=(0, 1)))
    assert (summary["passed"], summary["total"], summary["failures"]) == (2, 2, [])
    assert summary["s1_f1"] > 0.9 and summary["s2_f1"] > 0.9
    assert "extra_sounds" not in summary


def test_an_added_s4_is_counted_and_not_taken_for_s2() -> None:
    sweep = _few("gallop_s4", rate_bpm=(70.0,), s4=(0.5,), jitter=(0.05,), seed=(0,))
    summary = run_sweep(sweep)
    assert (summary["passed"], summary["total"]) == (1, 1)
    assert summary["extra_sounds"] >= 15  # one per beat, 15 s at 70/min
    assert summary["extra_labelled_s2"] == 0


def test_a_failure_lists_its_parameters_true_rate_and_reading() -> None:
    few = _few("pcg", rate_bpm=(72.0,), noise=(0.01,), murmur=(0.0,), seed=(0,))
    summary = run_sweep(dataclasses.replace(few, relative=0.0, absolute_bpm=0.0))
    [failure] = summary["failures"]
    assert failure.keys() == {*few.grid, "true_bpm", "read_bpm"}
    assert failure["rate_bpm"] == 72.0 and failure["jitter"] == 0.1
    assert abs(failure["read_bpm"] - failure["true_bpm"]) < 0.1 * failure["true_bpm"]


def test_murmur_hints_on_murmur_free_cases_are_listed() -> None:
    few = _few("pcg", rate_bpm=(72.0,), noise=(0.01,), murmur=(0.0, 2.0), seed=(0,))
    summary = run_sweep(few)
    # Only the murmur-free case counts; a hint there would be listed with its parameters.
    assert (summary["murmur_free"], summary["murmur_hinted_murmur_free"]) == (1, [])


def test_the_faint_heart_under_breathing_once_read_at_210_is_not_urgent() -> None:
    """The no_heart sweep's last urgent case (docs/accuracy.md, thirteenth round)."""
    grid = {"heart_gain": (0.03,), "breath_gain": (0.25,), "breaths_per_min": (12.0,),
            "crackles": (0.0,), "seed": (0,)}  # fmt: skip
    summary = run_no_heart(grid)
    assert summary["total"] == summary["rate_read"] == 1
    assert summary["levels"] == {"review": 1} and summary["urgent_cases"] == []
