"""Exams for the tests: the documented example, varied by exam and recording ids."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest

from stetho_hub.fhir import Disposition, ExamRecord, build_bundle, bundle_json
from stetho_hub.fhir.example import example_exam

NS = UUID("c4f7d1e0-0000-4000-8000-000000000000")


def exam_variant(n: int, resident: str = "res-0042") -> ExamRecord:
    """The example exam with fresh, deterministic ids (exam n, its recordings)."""
    base = example_exam()
    recordings = tuple(
        dataclasses.replace(r, recording_id=uuid5(NS, f"{n}/{i}"))
        for i, r in enumerate(base.recordings)
    )
    return dataclasses.replace(
        base, exam_id=uuid5(NS, f"exam/{n}"), recordings=recordings, resident=resident
    )


def decided(
    exam: ExamRecord, text: str = "Seen: refer to cardiology within 2 weeks."
) -> ExamRecord:
    return dataclasses.replace(
        exam, disposition=Disposition("dr-17", exam.closed_at + timedelta(hours=2), text)
    )


def bundle_dict(exam: ExamRecord) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bundle_json(build_bundle(exam)))
    return data


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def import_refused(
    monkeypatch: pytest.MonkeyPatch, module: str, absent: str
) -> ModuleNotFoundError:
    """What importing ``module`` afresh raises with package ``absent`` not installed, as on a Pi
    without the `hub` extra (its loaded submodules set aside too: the import system finds a
    loaded submodule without asking for its package)."""
    for name in [m for m in sys.modules if m.startswith(absent + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, absent, None)
    monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module(module)
    return caught.value
