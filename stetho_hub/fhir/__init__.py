"""FHIR R4 export of closed exams: a validated transaction Bundle per exam, queued and sent.

Sans-I/O: `build_bundle(ExamRecord) -> Bundle`. Storage: `FhirQueue` (SQLite). Shell:
`run_sender` (httpx). Mapping and codes: docs/fhir.md.
"""

try:  # the `hub` extra: absent on a Pi, and the message should say how to get it
    import fhir.resources  # noqa: F401
    import httpx  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise ModuleNotFoundError(
        f"stetho_hub.fhir needs the 'hub' extra ({exc.name} is missing): "
        "pip install 'stetho-edge[hub]'"
    ) from exc

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
