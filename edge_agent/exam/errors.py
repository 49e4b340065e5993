"""Errors of the exam layer, typed by what the caller does next.

Every one is refused input: the page, the CLI or the command handler shows the message to
the person who asked and carries on; nothing here means the agent should stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from edge_agent.errors import AgentError
from stetho_common import Response


class ExamError(AgentError):
    """Root of the exam errors: the request is refused, the message says why.

    `words` names the refusal for the nurses' page, which says it in her language from its
    catalogue (``refused.<words>``, formatted with `values`; English and French both word every
    one); an error without `words` shows its message itself.
    """

    response: ClassVar[Response] = Response.DROP

    def __init__(self, message: str, words: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.words = words
        self.values = values


class UnknownExamError(ExamError):
    """No exam has this id (or none open): the page sends the nurse to the resident's page."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "unknown_exam")


class UnknownResidentError(ExamError):
    """No resident has this opaque reference on this Pi."""


class ResidentNotHereError(UnknownResidentError):
    """No resident has `ref` on this Pi (a doctor's request for one never imported here)."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"no resident {ref!r} on this Pi: add or import it first", "unknown_resident", ref=ref
        )


class RequestAnsweredError(ExamError):
    """A doctor's request already accepted or dismissed (by another tablet, say)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "request_answered")


class UnknownSiteError(ExamError):
    """The auscultation site is not one the agent knows, or not in the exam's protocol."""

    def __init__(self, message: str, words: str | None = None, site: str | None = None) -> None:
        super().__init__(message, words)
        self.site = site  # the site no exam knows (check_site), for the CLI to name its option


class UnknownProtocolError(ExamError):
    """The protocol is neither built in nor a valid custom list of sites."""


class ExamStateError(ExamError):
    """The exam's state does not allow this (e.g. recording into a closed exam)."""


class DeviceBusyError(ExamError):
    """Another person or exam holds this stethoscope; `holder` says who (`named` False when it
    is only what holds it, "another exam", for a holder without a staff id: the page's words
    then name no one)."""

    def __init__(self, device: str, holder: str, *, named: bool = True) -> None:
        self.device = device
        self.holder = holder
        message = f"stethoscope {device} is in use by {holder}"
        if named:
            super().__init__(message, "device_busy", device=device, holder=holder)
        else:  # "another exam" is the code's English, not a name to put in a sentence
            super().__init__(message, "device_in_use", device=device)


class DeviceHeldByOwnExamError(ExamError):
    """The nurse's own other exam holds this stethoscope: not "in use by" her own name, but
    that exam, to finish or abandon. `resident` is that exam's resident reference (the page puts
    the resident's label in its place, as it names residents to her; the logs keep neither)."""

    def __init__(self, device: str, exam_id: str, resident: str) -> None:
        self.device = device
        super().__init__(
            f"stethoscope {device} is held by your other exam {exam_id}: finish or abandon it "
            "first",
            "device_own_exam",
            device=device,
            resident=resident,
        )


class DeviceUnavailableError(ExamError):
    """The stethoscope is unknown, not connected, or set to timed monitoring; `device` names it
    (the page says so in the nurse's language)."""

    def __init__(self, device: str, why: str) -> None:
        self.device = device
        super().__init__(why, "device_off", device=device)


@dataclass(frozen=True)
class CsvProblem:
    """One reason a residents CSV is refused: the English `text`, and its `words` and `values`
    for the page (as :class:`ExamError`'s)."""

    text: str
    words: str
    values: dict[str, object] = field(default_factory=dict)


class ResidentImportError(ExamError):
    """A residents CSV has bad lines; `problems` names each line and what is wrong (English),
    `worded` the same for the page."""

    def __init__(self, worded: list[CsvProblem]) -> None:
        self.worded = worded
        self.problems = [p.text for p in worded]
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"residents CSV refused, nothing imported:\n{lines}")


class UnknownAgeBandError(ExamError):
    """The age band is not one the analysis has rate ranges for; the message lists them."""


class RecordingLengthError(ExamError):
    """A recording length asked for that is not a number of seconds from `low` to `high`
    (`asked` as it came, cut short: the page shows it)."""

    def __init__(self, asked: object, low: float, high: float) -> None:
        text = str(asked)
        shown = text if len(text) <= 20 else text[:20] + "…"
        super().__init__(
            f"a recording lasts {low:g} to {high:g} seconds: {shown!r} is not such a number",
            "bad_duration",
            low=f"{low:g}",
            high=f"{high:g}",
            asked=shown,
        )


class NotImplementedExamError(ExamError):
    """The request needs something the agent does not do yet; the message says what."""


class ExamStorageError(ExamError):
    """The exam database cannot be read or written (disk full or failing): the request is
    refused and nothing is half-saved; the operator must look at the disk."""

    response: ClassVar[Response] = Response.RETRY


class RecordingTooLongError(ExamError):
    """The hospital's broker cannot take a recording this long (recordings are not split):
    refused before it starts. `max_s` is the longest that fits; the page words it for the
    nurse in her language (edge_agent/web), without any health data."""

    def __init__(self, device: str, duration_s: float, max_s: int, limit_bytes: int) -> None:
        self.device, self.duration_s, self.max_s = device, duration_s, max_s
        super().__init__(
            f"not started: the hospital's broker takes recordings of at most {max_s} s from "
            f"stethoscope {device} ({limit_bytes} bytes a message), and this one would last "
            f"{duration_s:g} s; ask the care home's IT contact to have the hospital raise the "
            "broker's maximum packet size, or to shorten exam.duration_s",
            "too_long",
            seconds=max_s,
            asked=float(duration_s),  # the page writes it with the nurse's decimal mark
        )
