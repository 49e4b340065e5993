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
from stetho_doctor.client import ack_message, record_request_message

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
MAX_REQUEST_S = 120.0  # as `stetho request` allows


class DecisionError(ValueError):
    """The form asks for what cannot be sent: said to the doctor, nothing published."""


def decision_messages(
    site: str,
    exam_id: str | None,
    alert_ids: list[str],
    by: str,
    disposition: str,
    note: str,
) -> list[OutboundMessage]:
    if disposition not in DISPOSITIONS:
        raise DecisionError(f"choose a decision ({', '.join(LABELS.values())})")
    if len(note) > MAX_NOTE:
        raise DecisionError(f"the note is {len(note)} characters; keep it under {MAX_NOTE}")
    choice = cast(messages.Disposition, disposition)  # one of DISPOSITIONS, checked above
    text = note.strip() or None
    out = [answer_message(site, UUID(exam_id), by, choice, text)] if exam_id is not None else []
    out += [ack_message(site, UUID(alert_id), by, text, choice) for alert_id in alert_ids]
    if not out:
        raise DecisionError("this recording belongs to no exam and raised no alert: no one waits")
    return out


def recording_request(
    site: str, agent: str, resident: str, auscultation_site: str, duration: str, by: str
) -> OutboundMessage:
    """The `record_request` command a nurse accepts on the page (as `stetho request` sends)."""
    if auscultation_site not in SITES:
        raise DecisionError(f"choose where to listen ({', '.join(SITES)})")
    try:
        seconds = float(duration) if duration.strip() else None
    except ValueError:
        raise DecisionError("the duration is a number of seconds") from None
    if seconds is not None and not 1 <= seconds <= MAX_REQUEST_S:
        raise DecisionError(f"the duration is 1 to {MAX_REQUEST_S:.0f} s")
    return record_request_message(site, agent, resident, auscultation_site, seconds, by)
