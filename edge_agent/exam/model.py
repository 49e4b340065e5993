"""The exam as a plain state machine (sans-I/O): no clock, no disk, no network.

An exam is one resident listened to at the sites of a protocol, by one member of staff.
States and the only moves between them::

    open --first recording starts--> recording --close--> done
      \\                                 \\
       +-----------abandon---------------+--------------> abandoned

Each site may be recorded several times (re-records are kept); the last recording whose
quality was acceptable is the one that counts for the site.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Final, Literal

from edge_agent.exam.errors import (
    ExamStateError,
    RecordingLengthError,
    UnknownAgeBandError,
    UnknownSiteError,
)
from edge_agent.exam.protocols import check_site
from edge_agent.wire.messages import MAX_RECORD_S, MIN_RECORD_S
from edge_agent.wire.recording_length import RecordingLengthRefused, recording_seconds
from stetho_signal.triage import AGE_BANDS, AgeBand

__all__ = ["AGE_BANDS", "AgeBand", "Exam", "ExamState", "SiteRecording", "SiteStatus"]
MAX_REASON = 200  # a short reason for the doctor; longer notes belong in the care record


class ExamState(enum.Enum):
    OPEN = "open"
    RECORDING = "recording"
    DONE = "done"
    ABANDONED = "abandoned"


ALLOWED: Final[dict[ExamState, frozenset[ExamState]]] = {
    ExamState.OPEN: frozenset({ExamState.RECORDING, ExamState.ABANDONED}),
    ExamState.RECORDING: frozenset({ExamState.DONE, ExamState.ABANDONED}),
    ExamState.DONE: frozenset(),
    ExamState.ABANDONED: frozenset(),
}
_WHY_NOT: Final[dict[tuple[ExamState, ExamState], str]] = {
    (ExamState.OPEN, ExamState.DONE): "nothing was recorded yet: record a site or abandon it",
}


def check_age_band(band: str) -> AgeBand:
    """`band` if it is one the analysis has rate ranges for, else UnknownAgeBandError."""
    if band not in AGE_BANDS:
        # A child's rates depend on age (Fleming et al., Lancet 2011): one "child" band
        # cannot choose them, so the caller must name the age range.
        raise UnknownAgeBandError(
            f"age band {band!r} is not known: one of {', '.join(AGE_BANDS)} "
            "(adult is 16 and over; the others are a child's age in years)",
            "age_band",
        )
    return band


def recording_length(asked: object) -> float | None:
    """The recording length asked for, in seconds: None when none is (the default applies),
    else a number from MIN_RECORD_S to MAX_RECORD_S, given as a number or as the text a form
    sends (either decimal mark: `recording_seconds`); anything else (NaN, a word, a bool) is
    RecordingLengthError."""
    try:
        return recording_seconds(asked, MAX_RECORD_S)
    except RecordingLengthRefused:
        raise RecordingLengthError(asked, MIN_RECORD_S, MAX_RECORD_S) from None


@dataclass(frozen=True)
class SiteRecording:
    """One recording taken for an exam; `acceptable` is the quality verdict."""

    recording_id: uuid.UUID
    site: str
    device: str
    started_at: float  # Unix time
    duration_s: float
    acceptable: bool
    level: str | None  # triage level, None when the analysis failed
    problems: tuple[str, ...]  # quality problem codes (see edge_agent.exam.verdict)
    partial: bool
    findings: dict[str, object] = field(default_factory=dict, compare=False)
    alert_id: str | None = None


@dataclass(frozen=True)
class SiteStatus:
    site: str
    state: Literal["pending", "rerecord", "done"]
    attempts: int
    counted: SiteRecording | None


@dataclass
class Exam:
    """One exam's identity, plan and progress; the store saves and reloads it whole."""

    exam_id: uuid.UUID
    resident: str  # opaque reference; the display label stays in the residents table
    staff: str
    reason: str
    protocol: str
    sites: tuple[str, ...]
    opened_at: float
    age_band: AgeBand = "adult"
    state: ExamState = ExamState.OPEN
    closed_at: float | None = None
    recordings: list[SiteRecording] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_age_band(self.age_band)
        if not self.sites:
            raise UnknownSiteError("an exam needs at least one site", "no_site")
        for site in self.sites:
            check_site(site)
        if len(self.reason) > MAX_REASON:
            raise ExamStateError(
                f"the reason is limited to {MAX_REASON} characters",
                "reason_too_long",
                max=MAX_REASON,
            )

    @property
    def finished(self) -> bool:
        return self.state in (ExamState.DONE, ExamState.ABANDONED)

    def move(self, target: ExamState, at: float) -> None:
        """Change state or raise ExamStateError naming the exam, both states and why."""
        if target not in ALLOWED[self.state]:
            why = _WHY_NOT.get((self.state, target), f"allowed from {self.state.value}: "
                               + (", ".join(sorted(s.value for s in ALLOWED[self.state]))
                                  or "nothing (the exam is finished)"))  # fmt: skip
            raise ExamStateError(
                f"exam {self.exam_id} cannot go from {self.state.value} to {target.value}: {why}",
                "nothing_recorded" if (self.state, target) in _WHY_NOT else "exam_moved",
                state=self.state.value,
            )
        self.state = target
        if self.finished:
            self.closed_at = at

    def check_recordable(self, site: str) -> None:
        """Raise unless a recording at `site` may start now."""
        if self.finished:
            raise ExamStateError(
                f"exam {self.exam_id} is {self.state.value}: start a new exam",
                "exam_finished",
                state=self.state.value,
            )
        if site not in self.sites:
            raise UnknownSiteError(
                f"site {site!r} is not in this exam's protocol ({', '.join(self.sites)})",
                "site_not_in_exam",
            )

    def begin_recording(self, site: str, at: float) -> None:
        self.check_recordable(site)
        if self.state is ExamState.OPEN:
            self.move(ExamState.RECORDING, at)

    def add_recording(self, recording: SiteRecording) -> None:
        """Keep a recording (a re-record never replaces the earlier ones)."""
        if recording.site not in self.sites:
            raise UnknownSiteError(f"site {recording.site!r} is not in exam {self.exam_id}")
        if any(r.recording_id == recording.recording_id for r in self.recordings):
            return  # redelivered after a restart: already kept
        self.recordings.append(recording)
        if self.state is ExamState.OPEN:
            self.state = ExamState.RECORDING

    def site_status(self, site: str) -> SiteStatus:
        mine = [r for r in self.recordings if r.site == site]
        accepted = [r for r in mine if r.acceptable]
        if accepted:
            return SiteStatus(site, "done", len(mine), accepted[-1])
        return SiteStatus(site, "rerecord" if mine else "pending", len(mine), None)

    def statuses(self) -> list[SiteStatus]:
        return [self.site_status(s) for s in self.sites]

    def next_site(self) -> str | None:
        """The first site, in protocol order, without an acceptable recording."""
        for status in self.statuses():
            if status.state != "done":
                return status.site
        return None

    def close(self, at: float) -> None:
        self.move(ExamState.DONE, at)

    def abandon(self, at: float) -> None:
        self.move(ExamState.ABANDONED, at)
