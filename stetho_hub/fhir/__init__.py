"""FHIR R4 export of closed exams: a validated transaction Bundle per exam, queued and sent.

Sans-I/O: `build_bundle(ExamRecord) -> Bundle`. Storage: `FhirQueue` (SQLite). Shell:
`run_sender` (httpx). Mapping and codes: docs/fhir.md.
"""

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
