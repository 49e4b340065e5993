"""The care-home exam: one resident, the sites of a protocol, one or more recordings per site.

Sans-I/O core (model, protocols, residents, verdict, trigger), a durable SQLite store, and the
async service that ties them to the daemon's stethoscopes and the MQTT outbox.
"""

from edge_agent.exam.errors import (
    DeviceBusyError,
    DeviceHeldByYouError,
    DeviceUnavailableError,
    ExamError,
    ExamStateError,
    ExamStorageError,
    NotImplementedExamError,
    RequestAnsweredError,
    ResidentImportError,
    ResidentNotHereError,
    UnknownAgeBandError,
    UnknownExamError,
    UnknownProtocolError,
    UnknownResidentError,
    UnknownSiteError,
)
from edge_agent.exam.model import (
    AGE_BANDS,
    AgeBand,
    Exam,
    ExamState,
    SiteRecording,
    SiteStatus,
    check_age_band,
)
from edge_agent.exam.protocols import BUILT_IN, KNOWN_SITES, resolve_protocol
from edge_agent.exam.residents import Resident, parse_residents_csv
from edge_agent.exam.store import ExamStore

__all__ = [
    "AGE_BANDS",
    "BUILT_IN",
    "KNOWN_SITES",
    "AgeBand",
    "DeviceBusyError",
    "DeviceHeldByYouError",
    "DeviceUnavailableError",
    "Exam",
    "ExamError",
    "ExamState",
    "ExamStateError",
    "ExamStorageError",
    "ExamStore",
    "NotImplementedExamError",
    "RequestAnsweredError",
    "Resident",
    "ResidentImportError",
    "ResidentNotHereError",
    "SiteRecording",
    "SiteStatus",
    "UnknownAgeBandError",
    "UnknownExamError",
    "UnknownProtocolError",
    "UnknownResidentError",
    "UnknownSiteError",
    "check_age_band",
    "parse_residents_csv",
    "resolve_protocol",
]
