"""The hub's FHIR export: every closed exam in the archive, queued as a Bundle and sent.

A closed exam is queued again whenever something of it arrives later (a recording's metadata
or audio after the exam's `closed` message): the queue keeps the newest Bundle, and the server's
conditional creates make a resend harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from pydantic import ValidationError

from edge_agent.wire import messages
from stetho_hub.errors import StorageUnavailableError
from stetho_hub.fhir.bundle import Naming
from stetho_hub.fhir.cli import enqueue_exam
from stetho_hub.fhir.errors import FhirError
from stetho_hub.fhir.from_archive import exam_from_archive
from stetho_hub.fhir.queue import FhirQueue
from stetho_hub.fhir.sender import FhirServerSettings, run_sender
from stetho_hub.storage import AudioStore, StorageOutage
from stetho_hub.storage.database import Database

__all__ = ["changed_closed_exams", "export_changed", "run_export"]

log = logging.getLogger(__name__)
SCAN_S = 5.0  # how soon a closed exam leaves for the hospital record

_CHANGED = (
    "SELECT e.exam_id, e.payload FROM exams e WHERE e.updated_at > ?"
    " OR EXISTS (SELECT 1 FROM recordings r WHERE r.exam_id = e.exam_id AND r.received_at > ?)"
    " OR EXISTS (SELECT 1 FROM recordings r JOIN archived a ON a.recording_id = r.recording_id"
    " WHERE r.exam_id = e.exam_id AND a.archived_at > ?)"
    " OR EXISTS (SELECT 1 FROM exam_answers x WHERE x.exam_id = e.exam_id AND x.received_at > ?)"
)


def changed_closed_exams(db: Database, since: str) -> tuple[list[str], str]:
    """Closed exams touched after `since` (an archive timestamp), and the new high mark."""
    with db.transaction() as tx:
        rows = tx.all(_CHANGED, (since, since, since, since))
        mark = tx.one(
            "SELECT MAX(t) FROM (SELECT MAX(updated_at) AS t FROM exams"
            " UNION ALL SELECT MAX(received_at) FROM recordings"
            " UNION ALL SELECT MAX(archived_at) FROM archived"
            " UNION ALL SELECT MAX(received_at) FROM exam_answers) AS m"
        )
    closed = [str(exam_id) for exam_id, payload in rows if _closed(payload)]
    return closed, str(mark[0]) if mark is not None and mark[0] is not None else since


def _closed(payload: str) -> bool:
    try:
        return messages.ExamMessage.model_validate_json(payload).closed_at is not None
    except ValidationError:  # the archive validated it once; a model change must not stop us
        return False


def export_changed(
    db: Database,
    audio: AudioStore,
    queue: FhirQueue,
    exam_ids: Iterable[str],
    naming: Naming | None = None,
    audio_url: str | None = None,
) -> int:
    """Queue each exam's Bundle; an exam that cannot be exported is logged and skipped."""
    queued = 0
    for exam_id in exam_ids:
        try:
            exam = exam_from_archive(db, audio, exam_id, audio_url)
            queued += enqueue_exam(queue, exam, naming)
        except FhirError as exc:  # logged by id only: the reason names no one
            log.warning("event=fhir_export_skipped exam=%s reason=%r", exam_id, str(exc))
    return queued


async def run_export(
    db: Database,
    audio: AudioStore,
    queue: FhirQueue,
    settings: FhirServerSettings,
    naming: Naming | None = None,
    audio_url: str | None = None,
) -> None:
    """Scan the archive for closed exams and send their Bundles, until cancelled."""
    stop = asyncio.Event()
    sender = asyncio.create_task(run_sender(queue, settings, stop))
    since, outage = "", StorageOutage("fhir_export")
    try:
        while True:
            try:
                exam_ids, mark = await asyncio.to_thread(changed_closed_exams, db, since)
                if exam_ids:
                    queued = await asyncio.to_thread(
                        export_changed, db, audio, queue, exam_ids, naming, audio_url
                    )
                    log.info("event=fhir_exams_queued count=%d", queued)
            except StorageUnavailableError as exc:  # a restart must not stop the hub
                await outage.wait(exc)
                continue  # from the same mark: queueing an exam again is a no-op
            since = mark
            outage.ended()
            await asyncio.sleep(SCAN_S)
    finally:
        stop.set()
        await sender
