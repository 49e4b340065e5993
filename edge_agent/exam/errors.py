"""Errors of the exam layer, typed by what the caller does next.

Every one is refused input: the page, the CLI or the command handler shows the message to
the person who asked and carries on; nothing here means the agent should stop.
"""

from __future__ import annotations

from typing import ClassVar

from edge_agent.errors import AgentError
from stetho_common import Response


class ExamError(AgentError):
    """Root of the exam errors: the request is refused, the message says why."""

    response: ClassVar[Response] = Response.DROP


class UnknownExamError(ExamError):
    """No exam has this id."""


class UnknownResidentError(ExamError):
    """No resident has this opaque reference on this Pi."""


class UnknownSiteError(ExamError):
    """The auscultation site is not one the agent knows, or not in the exam's protocol."""


class UnknownProtocolError(ExamError):
    """The protocol is neither built in nor a valid custom list of sites."""


class ExamStateError(ExamError):
    """The exam's state does not allow this (e.g. recording into a closed exam)."""


class DeviceBusyError(ExamError):
    """Another person or exam holds this stethoscope; `holder` says who."""

    def __init__(self, device: str, holder: str) -> None:
        self.device = device
        self.holder = holder
        super().__init__(f"stethoscope {device} is in use by {holder}")


class DeviceUnavailableError(ExamError):
    """The stethoscope is unknown, not connected, or set to timed monitoring."""


class ResidentImportError(ExamError):
    """A residents CSV has bad lines; `problems` names each line and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"residents CSV refused, nothing imported:\n{lines}")


class UnknownAgeBandError(ExamError):
    """The age band is not one the analysis has rate ranges for; the message lists them."""


class NotImplementedExamError(ExamError):
    """The request needs something the agent does not do yet; the message says what."""


class ExamStorageError(ExamError):
    """The exam database cannot be read or written (disk full or failing): the request is
    refused and nothing is half-saved; the operator must look at the disk."""

    response: ClassVar[Response] = Response.RETRY
