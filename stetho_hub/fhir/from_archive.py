"""Exam records from the hub's archive: the exam's latest message, its recordings, their FLAC.

The archive keeps each message exactly as the care home sent it, so the FHIR export reads the
same wire models as everything else; the FLAC is read back from the audio store for its size
and SHA-1 (what FHIR's Attachment wants).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError

from edge_agent.wire import messages
from stetho_hub.fhir.errors import InvalidInputError
from stetho_hub.fhir.from_saved import audio_url, recording_record, software
from stetho_hub.fhir.records import Disposition, ExamRecord
from stetho_hub.storage import AudioStore
from stetho_hub.storage.database import Database

__all__ = ["exam_from_archive"]


def exam_from_archive(
    db: Database, audio: AudioStore, exam_id: str, audio_base_url: str | None = None
) -> ExamRecord:
    """The exam `exam_id` as the hub archived it; InvalidInputError saying what is missing."""
    with db.transaction() as tx:
        row = tx.one("SELECT payload FROM exams WHERE exam_id = ?", (exam_id,))
        if row is None:
            raise InvalidInputError(f"no exam {exam_id} in the archive")
        rows = tx.all(
            "SELECT r.payload, a.audio_sha256 FROM recordings r"
            " LEFT JOIN archived a ON a.recording_id = r.recording_id"
            " WHERE r.exam_id = ? ORDER BY r.started_at",
            (exam_id,),
        )
    try:
        exam = messages.ExamMessage.model_validate_json(row[0])
        recordings = [messages.RecordingMessage.model_validate_json(r[0]) for r in rows]
    except ValidationError as exc:
        raise InvalidInputError(f"exam {exam_id}: an archived message no longer validates") from exc
    if exam.closed_at is None:
        raise InvalidInputError(f"exam {exam_id} is not closed yet ({exam.state})")
    answer = _latest_answer(db, exam_id)
    records = []
    for message, (_, audio_sha256) in zip(recordings, rows, strict=True):
        # A recording whose audio never arrived is still reported, with what is missing.
        flac = audio.read(audio_sha256) if audio_sha256 else None
        url = audio_url(audio_base_url, str(message.recording_id))
        records.append(recording_record(message, flac, url))
    return ExamRecord(
        exam_id=UUID(str(exam.exam_id)),
        site=exam.site,
        agent=exam.agent,
        resident=exam.resident,
        protocol=exam.protocol,
        started_at=exam.opened_at,
        closed_at=exam.closed_at,
        recordings=tuple(records),
        software=software(),
        disposition=answer,
    )


def _latest_answer(db: Database, exam_id: str) -> Disposition | None:
    """The doctor's latest answer to the exam, as the report's conclusion (then `final`)."""
    with db.transaction() as tx:
        row = tx.one(
            "SELECT payload FROM exam_answers WHERE exam_id = ?"
            " ORDER BY answered_at DESC, received_at DESC LIMIT 1",
            (exam_id,),
        )
    if row is None:
        return None
    answer = messages.ExamAnswerMessage.model_validate_json(row[0])
    label = messages.DISPOSITION_LABELS[answer.disposition]
    text = f"{label}: {answer.note}" if answer.note else label
    return Disposition(by=answer.by, decided_at=answer.at, text=text)
