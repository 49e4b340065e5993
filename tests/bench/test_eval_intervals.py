"""A 95 % interval beside every issue-17 figure of ``bench.evaluate``'s JSON, on a tiny fixture."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bench import evaluate
from bench._eval_intervals import FIGURES, add_intervals, interval_lines
from bench._eval_lung import _confusion, _within_rr
from bench._eval_summary import issue_measures


def _circor(i: int) -> dict[str, Any]:
    beats = {"reference": 20, "detected": 20 - i % 3, "hits": 18 - i % 3}
    murmur = i % 2 == 0
    return {
        "file": f"c{i}.wav",
        "patient": f"p{i // 2}",  # two recordings a patient
        "S1": dict(beats),
        "S2": dict(beats),
        "hr_reference_bpm": 80.0,
        "hr_estimate_bpm": [80.0, 81.0, 160.0, None][i % 4],
        "annotation_plausible": i != 3,
        "murmur_label": ["Present", "Absent"][i // 2 % 2],
        "murmur_suspected": murmur,
        "valve_hint": murmur or i == 5,
    }


def _icbhi(i: int) -> dict[str, Any]:
    return {
        "file": f"l{i}.wav",
        "patient": f"q{i // 3}",  # three recordings a patient
        "age_band": "adult",
        "crackle_cycles": int(i < 6 and i % 2 == 1),  # patients q0 and q1 only
        "wheeze_cycles": int(i % 5 == 0),
        "crackles_flagged": i % 3 == 0,
        "wheeze_flagged": i % 4 == 0,
        "level": "urgent" if i == 2 else "review",
        "flags": [],
        "rr_reference_bpm": 16.0,
        "rr_estimate_bpm": 16.0 + i % 4,
    }


def _results() -> dict[str, Any]:
    circor = [_circor(i) for i in range(12)]
    lung = [_icbhi(i) for i in range(12)]
    yaseen = [
        {"patient": f"{c}-{i % (2 if c == 'N' else 5)}", "yaseen_class": c,
         "murmur_suspected": c != "N" and i % 3 > 0, "valve_hint": c != "N" and i % 4 > 0}
        for c in ("N", "MR", "MS", "MVP") for i in range(5)
    ]  # fmt: skip
    total = [
        sum(r[s][k] for r in circor for s in ("S1", "S2"))
        for k in ("reference", "detected", "hits")
    ]
    results: dict[str, Any] = {
        "circor": {"per_recording": circor, "S1_S2": evaluate._prf(*total)},
        "yaseen": _yaseen_figures(yaseen),
        "icbhi": {
            "recordings_detail": lung,
            "per_recording": {k: _lung_confusion(lung, k) for k in ("crackle", "wheeze")},
            "rr_within_3_bpm": _within_rr(lung),
        },
    }
    issue = results["issue_17"] = issue_measures(results)
    # Held out as if every fold chose the kept grid point: the plain figures again.
    by_patient: dict[str, list[int]] = {}
    for r in circor:
        counts = by_patient.setdefault(r["patient"], [0, 0, 0])
        for i, k in enumerate(("reference", "detected", "hits")):
            counts[i] += r["S1"][k] + r["S2"][k]
    issue["s1_s2_close_phases_lopo"] = {
        "leave_one_patient_out_f1": issue["s1_s2"]["f1"],
        "held_out_by_patient": by_patient,
    }
    murmur = issue["murmur_circor"]
    issue["murmur_paired_lopo"] = {
        "leave_one_patient_out": {
            k: murmur[k] for k in ("balanced_accuracy", "sensitivity", "specificity")
        },
        "held_out_by_recording": {
            r["file"]: {k: r[k] for k in ("patient", "murmur_label", "murmur_suspected")}
            for r in circor
        },
    }
    return results


def _yaseen_figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, dict[str, list[bool | None]]] = {"murmur": {}, "valve": {}}
    for r in records:
        by["murmur"].setdefault(r["yaseen_class"], []).append(r["murmur_suspected"])
        by["valve"].setdefault(r["yaseen_class"], []).append(r["valve_hint"])
    murmur = evaluate._class_balance(by["murmur"])
    return {
        "murmur_sensitivity": murmur["sensitivity"],
        "murmur_specificity": murmur["specificity"],
        "murmur_balanced_accuracy": murmur["balanced_accuracy"],
        "murmur_hint_by_class": murmur["by_class"],
        "murmur_or_snap": evaluate._class_balance(by["valve"]),
        "per_recording": records,
    }


def _lung_confusion(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    flag = {"crackle": "crackles_flagged", "wheeze": "wheeze_flagged"}[kind]
    cells = [0, 0, 0, 0]
    for r in records:
        truth, flagged = r[f"{kind}_cycles"] > 0, r[flag]
        cells[
            {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[
                (flagged, truth)
            ]
        ] += 1
    return _confusion(cells)


def _kept(before: Any, after: Any) -> bool:
    """Every key of ``before`` is in ``after`` with the same value; added keys are allowed."""
    if isinstance(before, dict):
        return isinstance(after, dict) and all(
            k in after and _kept(v, after[k]) for k, v in before.items()
        )
    return bool(before == after)


def test_every_issue_17_figure_gets_an_interval_beside_it_and_nothing_else_changes() -> None:
    results = _results()
    before = copy.deepcopy(results["issue_17"])
    add_intervals(results["issue_17"], results, resamples=200)
    issue = results["issue_17"]
    assert _kept(before, issue)
    assert len(issue["ci95"]["figures"]) == len(FIGURES)
    for figure in FIGURES:
        block = issue
        for part in figure.block.split("."):
            block = block[part]
        count = figure.of is not None or isinstance(block[figure.key], dict)
        interval = block[f"{figure.key}_share_ci95" if count else f"{figure.key}_ci95"]
        assert interval is not None, f"{figure.block}.{figure.key}"
        shown = block[f"{figure.key}_share"] if count else block[figure.key]
        assert 0.0 <= interval[0] <= shown <= interval[1] <= 1.0, f"{figure.block}.{figure.key}"
    assert issue["breathing_rate"]["of"] == 12
    json.dumps(results)  # the JSON can be written


def test_the_intervals_repeat_exactly_with_the_seed() -> None:
    a, b = _results(), _results()
    add_intervals(a["issue_17"], a, resamples=200)
    add_intervals(b["issue_17"], b, resamples=200)
    assert json.dumps(a["issue_17"]["ci95"]) == json.dumps(b["issue_17"]["ci95"])


def test_a_figure_with_no_recording_reads_no_data() -> None:
    results = _results()
    for r in results["icbhi"]["recordings_detail"]:
        r["wheeze_cycles"] = 0
    results["icbhi"]["per_recording"]["wheeze"] = _lung_confusion(
        results["icbhi"]["recordings_detail"], "wheeze"
    )
    held = {k: results["issue_17"][k] for k in ("s1_s2_close_phases_lopo", "murmur_paired_lopo")}
    results["issue_17"] = {**issue_measures(results), **held}
    add_intervals(results["issue_17"], results, resamples=200)
    assert results["issue_17"]["wheezes_per_recording"]["sensitivity_ci95"] is None
    assert any("no data" in line for line in interval_lines(results["issue_17"]))


def test_a_recomputed_figure_unlike_the_printed_one_is_refused() -> None:
    results = _results()
    results["issue_17"]["crackles_per_recording"]["specificity"] = 0.123
    with pytest.raises(ValueError, match=r"crackles_per_recording\.specificity"):
        add_intervals(results["issue_17"], results, resamples=200)


def test_the_intervals_go_into_issue_17_only() -> None:
    results = _results()
    circor, icbhi = copy.deepcopy(results["circor"]), copy.deepcopy(results["icbhi"])
    add_intervals(results["issue_17"], results, resamples=200)
    assert results["circor"] == circor and results["icbhi"] == icbhi
