"""A doctor's decision on a recording, as the messages that carry it back to the care home.

Sans-I/O: the console's handler checks who asks and publishes; this module only decides what
is said. A recording taken in an exam gets the exam's answer (shown on the nurses' page); every
alert raised on it is acknowledged with the same decision (shown in the agent's status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast, get_args
from uuid import UUID

from pydantic import BaseModel

from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages, topics

__all__ = ["DISPOSITIONS", "LABELS", "DecisionError", "decision_messages"]

DISPOSITIONS: Final = get_args(messages.Disposition)
LABELS: Final = {
    "no-action": "No action",
    "gp-visit-24h": "GP visit within 24 h",
    "urgent-visit-today": "Urgent visit today",
    "hospital-transfer": "Hospital transfer",
    "re-record": "Re-record requested",
}
MAX_NOTE = 1000


class DecisionError(ValueError):
    """The form asks for what cannot be sent: said to the doctor, nothing published."""


def decision_messages(
    site: str,
    exam_id: str | None,
    alert_ids: list[str],
    by: str,
    disposition: str,
    note: str,
    now: datetime,
) -> list[OutboundMessage]:
    if disposition not in DISPOSITIONS:
        raise DecisionError(f"choose a decision ({', '.join(LABELS.values())})")
    if len(note) > MAX_NOTE:
        raise DecisionError(f"the note is {len(note)} characters; keep it under {MAX_NOTE}")
    choice = cast(messages.Disposition, disposition)  # one of DISPOSITIONS, checked above
    text = note.strip() or None
    out: list[OutboundMessage] = []
    if exam_id is not None:
        answer = messages.ExamAnswerMessage(
            exam_id=UUID(exam_id), by=by, disposition=choice, note=text, at=now
        )
        out.append(_json(topics.exam_answers(site), answer))
    for alert_id in alert_ids:
        ack = messages.AckMessage(
            alert_id=UUID(alert_id), by=by, note=text, at=now, disposition=choice
        )
        out.append(_json(topics.acks(site), ack))
    if not out:
        raise DecisionError("this recording belongs to no exam and raised no alert: no one waits")
    return out


def _json(topic: str, message: BaseModel) -> OutboundMessage:
    return OutboundMessage(
        topic, messages.to_json(message), qos=1, content_type=messages.JSON_CONTENT_TYPE
    )
