"""A 95 % interval beside every issue-17 figure of ``bench.evaluate``'s JSON, on a tiny fixture."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

from bench import evaluate
from bench._eval_crackle_features import logistic_scores
from bench._eval_intervals import (
    FIGURES,
    _outward,
    _share,
    add_held_out_intervals,
    add_intervals,
    held_out_folds,
    interval_lines,
)
from bench._eval_lung import _confusion, _within_rr
from bench._eval_lung_probe import _held_out, held_out_flags
from bench._eval_lung_round5 import family_scores
from bench._eval_summary import issue_measures
from bench._intervals import SEED, wilson


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


# The crackle and wheeze probes' held-out Se / Sp: their folds kept, an interval beside each.


def test_held_out_folds_count_each_patients_result() -> None:
    patients = ["a", "a", "b", "c", "c", "c"]
    truth = [True, False, True, False, False, True]
    flagged = [True, True, False, False, True, True]
    assert held_out_folds(patients, truth, flagged) == {
        "a": [1, 1, 0, 1],  # its crackle flagged, its clean recording flagged too
        "b": [0, 1, 0, 0],
        "c": [1, 1, 1, 2],
    }


def _family() -> dict[str, Any]:
    # Six patients, one recording each but p0 (three): the member chosen on the others.
    patients = ["p0", "p0", "p0", "p1", "p2", "p3", "p4", "p5"]
    truth = [True, True, False, True, False, False, True, False]
    rules = {
        "shipped": [True, False, True, True, False, True, True, False],
        "other": [True, True, False, False, False, False, True, True],
    }
    return family_scores(truth, patients, rules)


def test_a_held_out_figure_gets_the_plain_figures_interval_from_its_folds() -> None:
    family = _family()
    probe = {"crackles": {"family": family}, "per_recording": [{"leave_one_patient_out": 1}]}
    before = copy.deepcopy(probe)
    written = add_held_out_intervals(probe, resamples=200)
    assert written == ["crackles.family.leave_one_patient_out"]
    assert _kept(before, probe)
    held = probe["crackles"]["family"]["leave_one_patient_out"]
    folds = np.array(list(family["held_out_by_patient"].values()), dtype=float)
    for name, columns in (("sensitivity", slice(0, 2)), ("specificity", slice(2, 4))):
        k, n = folds[:, columns].sum(axis=0)
        assert round(k / n, 3) == held[name]
        interval = _share(folds[:, columns], None, 200, SEED)[0]
        assert held[f"{name}_ci95"] == _outward(interval)
        assert held[f"{name}_ci95"][0] <= held[name] <= held[f"{name}_ci95"][1]
    # p0 gives three recordings: the sensitivity's effective n, not Wilson on 4 alone.
    assert _share(folds[:, 0:2], None, 200, SEED)[1] == "Wilson, effective n"


def test_one_unit_a_patient_is_plain_wilson() -> None:
    folds = held_out_folds(["a", "b", "c", "d", "e"], [True, True, True, False, False],
                           [True, True, False, False, True])  # fmt: skip
    tree = {
        "leave_one_patient_out": {"x": {"sensitivity": 0.667, "specificity": 0.5}},
        "held_out_by_patient": {"x": folds},
    }
    assert add_held_out_intervals(tree) == ["leave_one_patient_out.x"]
    held = tree["leave_one_patient_out"]["x"]
    assert held["sensitivity_ci95"] == _outward(wilson(2, 3))
    assert held["specificity_ci95"] == _outward(wilson(1, 2))


def test_nested_figures_and_units_are_matched_by_name() -> None:
    folds = {"a": [1, 1, 1, 1], "b": [0, 1, 1, 1]}
    tree = {
        "logistic": {
            "leave_one_patient_out": {"1": {"sensitivity": 0.5, "specificity": 1.0}},
            "nested_leave_one_patient_out": {"sensitivity": 0.5, "specificity": 1.0},
            "held_out_by_patient": {"1": folds},
            "nested_held_out_by_patient": folds,
        },
        # round 7's shape: units with a plain Se / Sp and counts beside them
        "annotated": {
            "leave_one_patient_out": {
                "per_recording": {"sensitivity": 0.5, "specificity": 1.0, "tp": 1},
                "chosen_per_patient": {"a": "lambda 1"},
            },
            "held_out_by_patient": {"per_recording": folds},
        },
    }
    assert add_held_out_intervals(tree) == [
        "logistic.leave_one_patient_out.1",
        "logistic.nested_leave_one_patient_out",
        "annotated.leave_one_patient_out.per_recording",
    ]
    assert "sensitivity_ci95" not in tree["annotated"]["leave_one_patient_out"]


def test_a_figure_without_its_folds_or_without_positives_is_left_or_reads_no_data() -> None:
    tree: dict[str, Any] = {
        "leave_one_patient_out_f1": 0.9,
        "held_out_by_patient": {"a": [1, 2, 3]},  # the S1/S2 grid's: another shape, its own
        "wheezes": {
            "leave_one_patient_out": {"sensitivity": None, "specificity": 1.0},
            "held_out_by_patient": {"a": [0, 0, 2, 2]},
        },
        "other": {"leave_one_patient_out": {"sensitivity": 1.0, "specificity": 1.0}},
    }
    assert add_held_out_intervals(tree) == ["wheezes.leave_one_patient_out"]
    assert tree["wheezes"]["leave_one_patient_out"]["sensitivity_ci95"] is None
    # 2 of 2 from one patient: at n of n the patient counts once.
    assert tree["wheezes"]["leave_one_patient_out"]["specificity_ci95"] == _outward(wilson(1, 1))
    assert tree["other"]["leave_one_patient_out"].keys() == {"sensitivity", "specificity"}


def test_a_held_out_figure_unlike_its_folds_is_refused() -> None:
    family = _family()
    family["leave_one_patient_out"]["specificity"] = 0.123
    with pytest.raises(ValueError, match=r"family\.leave_one_patient_out\.specificity"):
        add_held_out_intervals({"family": family})


def test_add_intervals_covers_the_probes_in_issue_17() -> None:
    results = _results()
    results["issue_17"]["fifth_round_probe"] = {"crackles": {"count": _family()}}
    add_intervals(results["issue_17"], results, resamples=200)
    issue = results["issue_17"]
    assert issue["ci95"]["held_out_probe_figures"] == [
        "fifth_round_probe.crackles.count.leave_one_patient_out"
    ]
    assert (
        "specificity_ci95"
        in issue["fifth_round_probe"]["crackles"]["count"]["leave_one_patient_out"]
    )
    json.dumps(results)


def test_the_probes_keep_folds_that_add_up_to_their_held_out_figures() -> None:
    rows = [
        {
            "patient": str(k // 2),
            "crackles": k % 3 == 0,
            "log_detections": 3.0 + 0.1 * k if k % 3 == 0 else 0.5 + 0.05 * k,
            "low_band_periodicity": 0.1 if k % 3 == 0 else 0.4,
            "breath_window_share": 0.8 if k % 3 == 0 else 0.2,
            "detections": float(k % 4),
        }
        for k in range(12)
    ]
    logistic = logistic_scores(rows)
    probe = {
        "leave_one_patient_out": {"detections": _held_out(rows, "detections")},
        "held_out_by_patient": {"detections": held_out_flags(rows, "detections")},
        "logistic": logistic,
    }
    assert len(logistic["nested_held_out_by_patient"]) == 6
    assert add_held_out_intervals(probe, resamples=200) == [
        "leave_one_patient_out.detections",
        "logistic.leave_one_patient_out.0.1",
        "logistic.leave_one_patient_out.1",
        "logistic.leave_one_patient_out.3",
        "logistic.nested_leave_one_patient_out",
    ]


def test_a_held_out_figure_with_the_plain_flags_gets_the_plain_interval() -> None:
    results = _results()
    lung = results["icbhi"]["recordings_detail"]
    folds = held_out_folds(
        [r["patient"] for r in reversed(lung)],  # any order: folds are sorted by patient
        [r["crackle_cycles"] > 0 for r in reversed(lung)],
        [r["crackles_flagged"] for r in reversed(lung)],
    )
    plain = results["issue_17"]["crackles_per_recording"]
    held = {k: plain[k] for k in ("sensitivity", "specificity")}
    results["issue_17"]["probe"] = {"leave_one_patient_out": held, "held_out_by_patient": folds}
    add_intervals(results["issue_17"], results, resamples=200)
    plain = results["issue_17"]["crackles_per_recording"]
    assert held["sensitivity_ci95"] == plain["sensitivity_ci95"]
    assert held["specificity_ci95"] == plain["specificity_ci95"]
    assert any("1 held-out probe figures" in line for line in interval_lines(results["issue_17"]))
