"""The exam's messages for MQTT: built from the model, sent through the durable outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from edge_agent.exam.model import Exam
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages, topics


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def exam_body(exam: Exam, event: messages.ExamEvent, site: str, agent: str, at: float) -> (
    messages.ExamMessage
):  # fmt: skip
    sites = []
    for status in exam.statuses():
        counted = status.counted
        sites.append(
            messages.ExamSite(
                auscultation_site=status.site,
                state=status.state,
                recording_ids=[r.recording_id for r in exam.recordings if r.site == status.site],
                counted_recording_id=counted.recording_id if counted else None,
                level=counted.level if counted else None,  # type: ignore[arg-type]
            )
        )
    return messages.ExamMessage(
        exam_id=exam.exam_id, event=event, state=exam.state.value, site=site, agent=agent,
        resident=exam.resident, staff=exam.staff, reason=exam.reason, protocol=exam.protocol,
        age_band=exam.age_band, sites=sites, opened_at=_utc(exam.opened_at),
        closed_at=_utc(exam.closed_at) if exam.closed_at is not None else None, at=_utc(at),
    )  # fmt: skip


def exam_message(exam: Exam, event: messages.ExamEvent, site: str, agent: str, at: float) -> (
    OutboundMessage
):  # fmt: skip
    body = exam_body(exam, event, site, agent, at)
    props = (("schema_version", str(messages.SCHEMA_VERSION)), ("exam_id", str(exam.exam_id)))
    return OutboundMessage(
        topics.exams(site), messages.to_json(body), 1, False, messages.JSON_CONTENT_TYPE,
        None, props,
    )  # fmt: skip


def answer_message(
    site: str, exam_id: uuid.UUID, by: str, disposition: messages.Disposition, note: str | None
) -> OutboundMessage:
    """A doctor's answer to an exam (what `stetho answer` publishes)."""
    body = messages.ExamAnswerMessage(
        exam_id=exam_id, by=by, disposition=disposition, note=note, at=datetime.now(tz=UTC)
    )
    return OutboundMessage(
        topics.exam_answers(site),
        messages.to_json(body),
        qos=1,
        content_type=messages.JSON_CONTENT_TYPE,
        user_properties=(("schema_version", str(messages.SCHEMA_VERSION)),),
    )
