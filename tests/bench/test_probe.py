"""What the probes share: a rule against its reach, per patient scores, their JSON and data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import _probe


def test_per_patient_a_patient_is_flagged_when_any_recording_is() -> None:
    truth, patients = [True, False, False, False], ["1", "1", "2", "2"]
    s = _probe.per_patient(truth, patients, [False, True, False, True])
    assert s == {"sensitivity": 1.0, "specificity": 0.0}


def test_the_rule_is_scored_beside_the_shipped_flags_and_the_reach_at_every_bound() -> None:
    truth, patients = [True, True, False, False], ["1", "2", "3", "4"]
    values = [5.0, 2.0, 1.0, 0.0]

    def flags(bound: float) -> list[bool]:
        return [v >= bound for v in values]

    def member(bound: float) -> str:
        return f">= {bound:g}"

    shipped = [True, False, False, False]
    scored = _probe.rule_and_reach(truth, patients, shipped, flags, member, 2.0, (1.0, 2.0, 3.0))
    assert list(scored) == ["rule", "reach"]
    assert list(scored["rule"]["members"]) == ["shipped", ">= 2"]
    assert list(scored["reach"]["members"]) == ["shipped", ">= 1", ">= 2", ">= 3"]
    assert scored["rule"]["members"][">= 2"] == {"sensitivity": 1.0, "specificity": 1.0}


def test_a_flag_is_true_false_or_none() -> None:
    kinds = [_probe.flag_kind(t, f) for t, f in ((True, True), (False, True), (True, False))]
    assert kinds == ["true flag", "false flag", "no flag"]


def test_a_folder_without_the_manifest_is_said_and_results_saved_as_plain_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not _probe.has_manifest(tmp_path)
    assert not _probe.has_manifest(None)
    said = capsys.readouterr().err.splitlines()
    assert said == [f"no MANIFEST.csv under {tmp_path}", "no MANIFEST.csv under None"]
    (tmp_path / "MANIFEST.csv").write_text("split\n")
    assert _probe.has_manifest(tmp_path)
    out = tmp_path / "results" / "probe.json"
    _probe.save(out, {"db": np.float64(1.5)})
    assert json.loads(out.read_text()) == {"db": 1.5}
    args = _probe.arguments("doc", "probe").parse_args(["--data", str(tmp_path)])
    assert (args.data, args.json) == (tmp_path, Path("bench/results/probe.json"))
