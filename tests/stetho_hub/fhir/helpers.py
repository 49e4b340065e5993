"""Exams for the tests: the documented example, varied by exam and recording ids."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid5

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
