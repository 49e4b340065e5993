"""FHIR R4 export of closed exams: a validated transaction Bundle per exam, queued and sent.

Sans-I/O: `build_bundle(ExamRecord) -> Bundle`. Storage: `FhirQueue` (SQLite). Shell:
`run_sender` (httpx). Mapping and codes: docs/fhir.md.

Names load on first use (PEP 562): the hub's config, its console and its error handling read
the queue, the errors and the identifier rules without loading fhir.resources and httpx, which
only the Bundle builder and the sender need (and which say so when the `hub` extra is absent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stetho_common.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from stetho_hub.fhir.bundle import Naming, build_bundle, bundle_json, parse_bundle
    from stetho_hub.fhir.cli import enqueue_exam, exam_bundle_text, fhir_command
    from stetho_hub.fhir.errors import (
        BundleInvalidError,
        FhirConfigError,
        FhirError,
        InvalidInputError,
        SendRejectedError,
        SendRetryError,
    )
    from stetho_hub.fhir.from_saved import load_saved
    from stetho_hub.fhir.queue import Backoff, FhirQueue, QueueStatus
    from stetho_hub.fhir.records import (
        AudioFile,
        Disposition,
        ExamRecord,
        Finding,
        FindingKind,
        Measurements,
        RateFlag,
        RecordingRecord,
        Software,
    )
    from stetho_hub.fhir.sender import FhirServerSettings, run_sender

_HOMES = {
    "stetho_hub.fhir.bundle": ("Naming", "build_bundle", "bundle_json", "parse_bundle"),
    "stetho_hub.fhir.cli": ("enqueue_exam", "exam_bundle_text", "fhir_command"),
    "stetho_hub.fhir.errors": (
        "BundleInvalidError", "FhirConfigError", "FhirError", "InvalidInputError",
        "SendRejectedError", "SendRetryError",
    ),
    "stetho_hub.fhir.from_saved": ("load_saved",),
    "stetho_hub.fhir.queue": ("Backoff", "FhirQueue", "QueueStatus"),
    "stetho_hub.fhir.records": (
        "AudioFile", "Disposition", "ExamRecord", "Finding", "FindingKind", "Measurements",
        "RateFlag", "RecordingRecord", "Software",
    ),
    "stetho_hub.fhir.sender": ("FhirServerSettings", "run_sender"),
}  # fmt: skip
__getattr__ = lazy_getattr(__name__, _HOMES)


__all__ = [
    "AudioFile",
    "Backoff",
    "BundleInvalidError",
    "Disposition",
    "ExamRecord",
    "FhirConfigError",
    "FhirError",
    "FhirQueue",
    "FhirServerSettings",
    "Finding",
    "FindingKind",
    "InvalidInputError",
    "Measurements",
    "Naming",
    "QueueStatus",
    "RateFlag",
    "RecordingRecord",
    "SendRejectedError",
    "SendRetryError",
    "Software",
    "build_bundle",
    "bundle_json",
    "enqueue_exam",
    "exam_bundle_text",
    "fhir_command",
    "load_saved",
    "parse_bundle",
    "run_sender",
]
