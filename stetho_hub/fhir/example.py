"""The example exam of docs/fhir.md, and the tool that writes its Bundle into the doc.

`python -m stetho_hub.fhir.example --write docs/fhir.md` regenerates the example between
its markers; tests/stetho_hub/fhir/test_docs.py fails when the doc drifts from the code.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from stetho_hub.fhir.bundle import build_bundle, bundle_json
from stetho_hub.fhir.records import (
    AudioFile,
    ExamRecord,
    Finding,
    FindingKind,
    Measurements,
    RecordingRecord,
    Software,
)

BEGIN = "<!-- BEGIN GENERATED EXAMPLE (python -m stetho_hub.fhir.example --write docs/fhir.md) -->"
END = "<!-- END GENERATED EXAMPLE -->"
HUB = "https://hub.example/audio"
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _audio(name: str, size: int) -> AudioFile:
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).digest()
    return AudioFile(size_bytes=size, sha1=digest, url=f"{HUB}/{name}.flac")


def _heart() -> RecordingRecord:
    rid = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f01")
    return RecordingRecord(
        recording_id=rid,
        device="steth-1",
        auscultation_site="mitral",
        kind="heart",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=30),
        audio=_audio(str(rid), 152_318),
        measurements=Measurements(
            quality_score=0.91,
            quality_acceptable=True,
            triage_level="review",
            heart_rate_bpm=78.4,
            findings=(
                Finding(
                    FindingKind.MURMUR,
                    True,
                    2.7,
                    2.0,
                    "Sound in systolic phase is 2.7 times that in diastole (above 2.0): "
                    "possible systolic murmur, a hint to listen to the recording, not a finding.",
                ),
                Finding(FindingKind.IRREGULAR, False),
            ),
        ),
    )


def _lung() -> RecordingRecord:
    rid = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f02")
    start = T0 + timedelta(minutes=1)
    return RecordingRecord(
        recording_id=rid,
        device="steth-1",
        auscultation_site="lung-right-lower",
        kind="lung",
        started_at=start,
        ended_at=start + timedelta(seconds=30),
        audio=_audio(str(rid), 158_990),
        measurements=Measurements(
            quality_score=0.84,
            quality_acceptable=True,
            triage_level="review",
            respiratory_rate_bpm=18.0,
            findings=(
                Finding(FindingKind.WHEEZE, False),
                Finding(
                    FindingKind.CRACKLES,
                    True,
                    9.0,
                    5.0,
                    "9 short explosive sounds (at least 5): possible crackles, listen to the "
                    "recording and compare with earlier ones.",
                ),
            ),
        ),
    )


def _failed() -> RecordingRecord:
    rid = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f03")
    start = T0 + timedelta(minutes=2)
    return RecordingRecord(
        recording_id=rid,
        device="steth-1",
        auscultation_site="trachea",
        kind="lung",
        started_at=start,
        ended_at=start + timedelta(seconds=0.6),
        audio=_audio(str(rid), 3_020),
        measurements=None,
        analysis_error="recording too short: 0.6 s, analysis needs at least 1 s",
        partial=True,
    )


def example_exam() -> ExamRecord:
    """A preliminary exam: heart with a murmur hint, lung with crackles, one failed recording."""
    return ExamRecord(
        exam_id=UUID("7c1e2d4a-5b6f-4a8e-9c0d-1e2f3a4b5c6d"),
        site="oak-hill",
        agent="pi-1",
        resident="res-0042",
        protocol="heart-lung-3",
        started_at=T0,
        closed_at=T0 + timedelta(minutes=3),
        recordings=(_heart(), _lung(), _failed()),
        software=Software("stetho-edge sound analysis (stetho_signal)", "0.1.0"),
    )


def example_json() -> str:
    return bundle_json(build_bundle(example_exam()), indent=2)


def render(doc: str) -> str:
    """The doc with the example between its markers replaced by the generated Bundle."""
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError("the doc lacks the generated-example markers")
    return f"{head}{BEGIN}\n```json\n{example_json()}\n```\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    sys.stdout.write(example_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
