"""What the FHIR builder needs to know about one exam, as plain frozen values.

The hub fills these from its database; `from_saved.py` fills them from a `*.recording.json`
saved by `stetho alerts --save`. The builder sees nothing else, so it never touches a
database, a file or the clock.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from enum import Enum
from typing import Literal
from uuid import UUID

from stetho_common.ids import SLUG
from stetho_hub.fhir.errors import InvalidInputError

Kind = Literal["heart", "lung"]
SHA1_BYTES = 20


class FindingKind(Enum):
    """The findings the analysis reports, each tied to its triage flag code."""

    MURMUR = "heart_murmur"
    IRREGULAR = "heart_irregular"
    WHEEZE = "lung_wheeze"
    CRACKLES = "lung_crackles"
    OPENING_SNAP = "heart_opening_snap"


def _require_slug(name: str, value: str) -> None:
    if not SLUG.fullmatch(value):
        raise InvalidInputError(f"{name} must be a slug like 'oak-hill-3', not {value!r}")


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} must carry a time zone")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One finding the analysis looked for; `present` is None when it could not tell.

    `value` and `threshold` come from the triage flag when the finding was flagged
    (the flag carries the measured value against its threshold); `reason` is the flag's
    sentence for the doctor (generated text, no personal data).
    """

    kind: FindingKind
    present: bool | None
    value: float | None = None
    threshold: float | None = None
    reason: str | None = None


# Flags that doubt a measured rate rather than grade it: their reason goes with the rate, with
# no interpretation code (a heart read at 84/min that may beat at 168 is not "high" or "low";
# one read from a clip too short to see a slow heart may be a multiple of a slower one).
RATE_CAVEATS = frozenset({"heart_possible_half_rate", "heart_short_clip"})


@dataclasses.dataclass(frozen=True)
class RateFlag:
    """A triage flag on a rate: `heart_rate_high`, `respiratory_rate_very_low`, or a caveat."""

    code: str
    reason: str
    threshold: float | None


@dataclasses.dataclass(frozen=True)
class Measurements:
    """What the analysis of one recording measured."""

    quality_score: float
    quality_acceptable: bool
    triage_level: str
    heart_rate_bpm: float | None = None
    respiratory_rate_bpm: float | None = None
    rate_flags: tuple[RateFlag, ...] = ()
    findings: tuple[Finding, ...] = ()
    unmeasured: tuple[str, ...] = ()  # the analysis' own notes on what it could not measure
    # Mains hum fundamentals, Hz: taken out before the analysis, still in the audio.
    mains_hum_hz: tuple[float, ...] = ()
    # The analysed band's level, dBFS, when faint yet clear (a stethoscope at low gain).
    faint_level_dbfs: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.quality_score <= 1.0:
            raise InvalidInputError(f"quality score must be in [0, 1], not {self.quality_score}")
        if not all(math.isfinite(hz) and hz > 0.0 for hz in self.mains_hum_hz):
            raise InvalidInputError(
                f"mains hum must be finite frequencies above 0 Hz, not {self.mains_hum_hz}"
            )
        level = self.faint_level_dbfs
        if level is not None and not (math.isfinite(level) and -200.0 < level < 0.0):
            raise InvalidInputError(f"a faint level must be in (-200, 0) dBFS, not {level}")


@dataclasses.dataclass(frozen=True)
class AudioFile:
    """The recording's FLAC as the hub keeps it; `sha1` is None when the bytes are not at hand."""

    size_bytes: int
    sha1: bytes | None
    url: str | None
    content_type: str = "audio/flac"

    def __post_init__(self) -> None:
        if self.size_bytes < 0:
            raise InvalidInputError(f"audio size must be >= 0, not {self.size_bytes}")
        if self.sha1 is not None and len(self.sha1) != SHA1_BYTES:
            raise InvalidInputError("audio sha1 must be the 20-byte digest, not its text form")


@dataclasses.dataclass(frozen=True)
class RecordingRecord:
    """One recording of the exam; `measurements` is None when its analysis failed."""

    recording_id: UUID
    device: str
    auscultation_site: str
    kind: Kind
    started_at: datetime
    ended_at: datetime
    audio: AudioFile
    measurements: Measurements | None
    analysis_error: str | None = None
    partial: bool = False
    gaps_s: float = 0.0  # seconds of audio filled after radio loss

    def __post_init__(self) -> None:
        _require_slug("device", self.device)
        _require_aware("started_at", self.started_at)
        _require_aware("ended_at", self.ended_at)
        if self.ended_at < self.started_at:
            raise InvalidInputError(f"recording {self.recording_id} ends before it starts")

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclasses.dataclass(frozen=True)
class Disposition:
    """A doctor's decision on the exam: `by` is the doctor's id in the hub, never a name."""

    by: str
    decided_at: datetime
    text: str

    def __post_init__(self) -> None:
        if not self.by or len(self.by) > 80:
            raise InvalidInputError("disposition.by must be 1-80 characters")
        if not self.text.strip():
            raise InvalidInputError("a disposition needs its text")
        _require_aware("decided_at", self.decided_at)


@dataclasses.dataclass(frozen=True)
class Software:
    """The analysis software that produced the measurements."""

    name: str
    version: str


@dataclasses.dataclass(frozen=True)
class ExamRecord:
    """A closed exam: one resident, one visit, one or more recordings."""

    exam_id: UUID
    site: str
    agent: str
    resident: str  # opaque resident reference, never a name
    protocol: str | None
    started_at: datetime
    closed_at: datetime
    recordings: tuple[RecordingRecord, ...]
    software: Software
    disposition: Disposition | None = None

    def __post_init__(self) -> None:
        for name in ("site", "agent", "resident"):
            _require_slug(name, getattr(self, name))
        _require_aware("started_at", self.started_at)
        _require_aware("closed_at", self.closed_at)
        if not self.recordings:
            raise InvalidInputError(f"exam {self.exam_id} has no recording")
        ids = [r.recording_id for r in self.recordings]
        if len(set(ids)) != len(ids):
            raise InvalidInputError(f"exam {self.exam_id} lists a recording twice")
