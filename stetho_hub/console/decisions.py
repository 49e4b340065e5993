"""A doctor's decision on a recording, as the messages that carry it back to the care home.

Sans-I/O: the console's handler checks who asks and publishes; this module only decides what
is said. A recording taken in an exam gets the exam's answer (shown on the nurses' page); every
alert raised on it is acknowledged with the same decision (shown in the agent's status).
"""

from __future__ import annotations

from typing import Final, cast, get_args
from uuid import UUID

from edge_agent.config import AuscultationSite
from edge_agent.exam.wire import answer_message
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages
from edge_agent.wire.recording_length import (
    LengthProblem,
    RecordingLengthRefused,
    recording_seconds,
)
from stetho_doctor.client import ack_message, record_request_message
from stetho_hub.console.words import words

__all__ = [
    "DISPOSITIONS",
    "LABELS",
    "SITES",
    "DecisionError",
    "decision_messages",
    "recording_request",
]

DISPOSITIONS: Final = get_args(messages.Disposition)
LABELS: Final = messages.DISPOSITION_LABELS
MAX_NOTE = 1000
SITES: Final = get_args(AuscultationSite)
MAX_REQUEST_S = messages.MAX_RECORD_S  # as `stetho request` and the agent allow


class DecisionError(ValueError):
    """The form asks for what cannot be sent: said to the doctor, nothing published.

    `key` names the sentence in words.py, so the page says it in the doctor's language; the
    exception's own text is the English one, for logs and tests.
    """

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(words("en")[key].format(**params))


def decision_messages(
    site: str,
    exam_id: str | None,
    alert_ids: list[str],
    by: str,
    disposition: str,
    note: str,
) -> list[OutboundMessage]:
    if disposition not in DISPOSITIONS:
        raise DecisionError("decision.choose_decision")
    if len(note) > MAX_NOTE:
        raise DecisionError("decision.note_long", length=len(note), limit=MAX_NOTE)
    choice = cast(messages.Disposition, disposition)  # one of DISPOSITIONS, checked above
    text = note.strip() or None
    out = [answer_message(site, UUID(exam_id), by, choice, text)] if exam_id is not None else []
    out += [ack_message(site, UUID(alert_id), by, text, choice) for alert_id in alert_ids]
    if not out:
        raise DecisionError("decision.no_one_waits")
    return out


def recording_request(
    site: str, agent: str, resident: str, auscultation_site: str, duration: str, by: str
) -> OutboundMessage:
    """The `record_request` command a nurse accepts on the page (as `stetho request` sends)."""
    if auscultation_site not in SITES:
        raise DecisionError("decision.choose_site")
    try:  # a French doctor writes 12,5: the field is text, so no browser turns it to 12.5
        seconds = recording_seconds(duration, MAX_REQUEST_S)
    except RecordingLengthRefused as refused:
        if refused.problem is LengthProblem.NOT_A_NUMBER:
            raise DecisionError("decision.duration_number") from None
        raise DecisionError("decision.duration_range", limit=f"{MAX_REQUEST_S:.0f}") from None
    return record_request_message(site, agent, resident, auscultation_site, seconds, by)
