"""Wire messages: every MQTT payload the agent sends is one of these pydantic models.

JSON Schemas generated from them live in docs/schemas/ (see `python -m edge_agent.wire.schemas`).
Audio never travels inside JSON: it goes as raw FLAC on its own topic, linked by recording_id,
because base64 would add a third to every recording on a rural uplink.
"""

from __future__ import annotations

import json
from collections.abc import Sized
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictStr,
    model_validator,
)

from edge_agent.wire.command_values import MAX_LIVE_S as MAX_LIVE_S  # also named here
from edge_agent.wire.command_values import MAX_RECORD_S as MAX_RECORD_S
from edge_agent.wire.command_values import MIN_RECORD_S as MIN_RECORD_S
from edge_agent.wire.command_values import Disposition as Disposition
from edge_agent.wire.schema_version import SCHEMA_VERSION as SCHEMA_VERSION  # also named here
from stetho_common.ids import SLUG_PATTERN
from stetho_signal.triage import AgeBand, check_details

JSON_CONTENT_TYPE = "application/json"
Level = Literal["routine", "review", "urgent", "rerecord"]
AlertLevel = Literal["review", "urgent"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _empty(value: Sized) -> bool:
    return not value


def _absent(value: object) -> bool:
    return value is None


# A mains fundamental: 50 or 60 Hz as measured (stetho_signal._mains finds it within 0.4 %).
# Looser bounds here, so that a newer agent's finder still passes; tight enough that a number
# of no meaning (0, negative, not finite, a word, true) is refused at the edge.
MainsHumHz = Annotated[StrictFloat, Field(gt=0, le=1000, allow_inf_nan=False)]
MAX_HUMS = 4  # one per mains frequency (two today); a cap keeps a hostile message small
# The analysed band's level in dBFS: under 0 (full scale) and over -200 (a float's rounding
# of silence lies near -300; stetho_signal calls -100 dBFS no sound at all).
FaintLevelDbfs = Annotated[StrictFloat, Field(lt=0, gt=-200, allow_inf_nan=False)]


class Quality(_Message):
    score: float = Field(ge=0, le=1)
    acceptable: bool
    problems: list[str]
    mains_hum_hz: list[MainsHumHz] = Field(
        default_factory=list,
        max_length=MAX_HUMS,
        # Left out while empty: a recording without hum stays what version-1 readers accept.
        exclude_if=_empty,
        description="fundamental of each mains hum (50/60 Hz and harmonics: a charger, a bed "
        "motor, a mains-powered device near the stethoscope) found in the recording and taken "
        "out before the analysis, Hz as measured; never a problem, it changes neither score "
        "nor acceptable; the audio is sent as recorded, hum included; absent without hum and "
        "from older agents",
    )
    faint_level_dbfs: FaintLevelDbfs | None = Field(
        default=None,
        exclude_if=_absent,
        description="level of the analysed band, dBFS, when it lies under the usual level "
        "(-65 dBFS) yet holds a clear sound (a heartbeat, or breath sounds that swell with each "
        "breath): a stethoscope at low gain; never a problem, it changes neither score nor "
        "acceptable; absent otherwise and from older agents",
    )


class HeartFindings(_Message):
    rate_bpm: float | None
    s1_s: list[float]
    s2_s: list[float]
    irregular: bool | None
    murmur_suspected: bool | None


class LungFindings(_Message):
    respiratory_rate_bpm: float | None
    wheeze: bool | None
    wheeze_intervals_s: list[tuple[float, float]]
    crackles: bool | None
    crackle_times_s: list[float]


class Flag(_Message):
    code: str
    reason: str = Field(description="a sentence for the doctor: decision support, not a diagnosis")
    value: float | None
    threshold: float | None
    details: dict[str, StrictFloat | StrictStr] = Field(
        default_factory=dict,
        # Left out while empty: a flag without details stays what version-1 readers accept.
        exclude_if=_empty,
        description="named details the reason states (murmur phase, snap delay, wheeze pitch, "
        "what an unconfirmed rate stood on, why a value is missing): finite numbers or words, "
        "keys from a closed set per code (stetho_signal.triage.FLAG_DETAILS); absent from "
        "older agents' flags, whose reason is then the only text",
    )

    @model_validator(mode="after")
    def _details_fit_the_code(self) -> Flag:
        check_details(self.code, self.details)
        return self


class Triage(_Message):
    level: Level
    flags: list[Flag]


class Analysis(_Message):
    """Exactly the object `stetho analyze --json` prints, without the file name."""

    sample_rate_hz: float
    duration_s: float
    kind: Literal["heart", "lung"]
    quality: Quality
    heart: HeartFindings | None
    lung: LungFindings | None
    triage: Triage


class Gap(_Message):
    start_s: float = Field(description="seconds from the recording's start")
    duration_s: float


class AudioRef(_Message):
    topic: str
    content_type: str
    size_bytes: int
    pcm_sha256: str = Field(description="SHA-256 of the decoded 16-bit little-endian PCM")


class RecordingMessage(_Message):
    """Metadata and analysis of one recording; its FLAC travels on `audio.topic`."""

    schema_name: Literal["stetho.recording"] = Field(default="stetho.recording", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    recording_id: UUID
    site: str
    agent: str
    device: str
    resident: str = Field(description="opaque resident reference, never a name")
    auscultation_site: str
    kind: Literal["heart", "lung"]
    started_at: datetime
    ended_at: datetime
    sample_rate_hz: int
    n_samples: int
    partial: bool = Field(description="true when capture stopped early (shutdown, link lost)")
    gaps: list[Gap]
    audio: AudioRef
    analysis: Analysis | None
    analysis_error: str | None = None
    exam_id: UUID | None = Field(
        default=None,
        description="the exam this recording belongs to; absent for timed monitoring",
    )
    age_band: AgeBand | None = Field(
        default=None,
        description="the exam's age band, which chose the heart and breathing rate ranges of "
        "the triage; absent for timed monitoring (adult ranges)",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    omit_when_absent: ClassVar[tuple[str, ...]] = ("exam_id", "age_band")


class TriageMessage(_Message):
    schema_name: Literal["stetho.triage"] = Field(default="stetho.triage", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    recording_id: UUID
    site: str
    device: str
    resident: str
    auscultation_site: str
    kind: Literal["heart", "lung"]
    recorded_at: datetime
    level: Level
    flags: list[Flag]
    exam_id: UUID | None = Field(default=None, description="the exam, if any (see recording)")
    age_band: AgeBand | None = Field(default=None, description="the age band (see recording)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    omit_when_absent: ClassVar[tuple[str, ...]] = ("exam_id", "age_band")


class AlertMessage(_Message):
    """Sent when triage reaches review or urgent; doctors follow `stetho/v1/+/alerts`."""

    schema_name: Literal["stetho.alert"] = Field(default="stetho.alert", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: UUID
    recording_id: UUID
    site: str
    agent: str
    device: str
    resident: str
    auscultation_site: str
    kind: Literal["heart", "lung"]
    recorded_at: datetime
    level: AlertLevel
    flags: list[Flag]
    audio_topic: str
    recording_topic: str
    exam_id: UUID | None = Field(default=None, description="the exam, if any (see recording)")
    age_band: AgeBand | None = Field(default=None, description="the age band (see recording)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    omit_when_absent: ClassVar[tuple[str, ...]] = ("exam_id", "age_band")


class StatusMessage(_Message):
    """Retained availability of an agent or a device, Home Assistant style."""

    schema_name: Literal["stetho.status"] = Field(default="stetho.status", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    state: Literal["online", "offline"]
    site: str
    agent: str
    device: str | None = None
    at: datetime | None = None
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Free-form. A file device the agent gave up has `given_up`: why, as a class "
            "(not_audio, empty, damaged, rate_unsupported, unreadable, unplayable), never a path."
        ),
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


DISPOSITION_LABELS: dict[str, str] = {  # for doctors and the hospital record (English)
    "no-action": "No action",
    "gp-visit-24h": "GP visit within 24 h",
    "urgent-visit-today": "Urgent visit today",
    "hospital-transfer": "Hospital transfer",
    "re-record": "Re-record requested",
}


class AckMessage(_Message):
    """A doctor acknowledges an alert on `stetho/v1/{site}/acks`; the agent logs and shows it."""

    schema_name: Literal["stetho.ack"] = Field(default="stetho.ack", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: UUID
    by: str = Field(min_length=1, max_length=80, description="who acknowledged (doctor's id)")
    note: str | None = Field(default=None, max_length=1000)
    at: AwareDatetime = Field(description="when it was sent; with a time zone")
    disposition: Disposition | None = Field(
        default=None, description="the doctor's decision, when the ack carries one"
    )
    omit_when_absent: ClassVar[tuple[str, ...]] = ("disposition",)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ReceiptMessage(_Message):
    """The hub archived a recording (metadata and audio stored durably) on `.../{site}/receipts`.

    The agent matches it by `recording_id` and `audio_sha256` (the SHA-256 of the FLAC bytes
    it published) before it forgets the recording; any mismatch means the archive holds
    different bytes, and the recording must be sent again.
    """

    schema_name: Literal["stetho.receipt"] = Field(default="stetho.receipt", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    recording_id: UUID
    site: str
    device: str
    audio_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the FLAC bytes as archived"
    )
    pcm_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="the recording's pcm_sha256, checked by the hub against the decoded audio",
    )
    size_bytes: int = Field(ge=0, description="size of the archived FLAC in bytes")
    archived_at: datetime
    hub: str = Field(min_length=1, max_length=80, description="the hub instance that archived it")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


CommandAction = Literal["live_start", "live_stop", "ping", "record_request"]


class CommandMessage(_Message):
    """A request to an agent or a device on `stetho/v1/{site}/{target}/cmd`.

    Sent to the agent's own topic, `device` names the stethoscope; sent to a
    device's topic, `device` may be left out or must match it.
    """

    schema_name: Literal["stetho.command"] = Field(default="stetho.command", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    command_id: UUID
    action: CommandAction
    device: str | None = Field(default=None, max_length=63)
    timeout_s: float = Field(
        default=120.0, gt=0, le=MAX_LIVE_S, description="live_start: stop streaming after this"
    )
    by: str = Field(min_length=1, max_length=80)
    at: AwareDatetime = Field(description="when it was sent; with a time zone")
    resident: str | None = Field(
        default=None,
        pattern=SLUG_PATTERN,
        description="record_request: opaque resident reference",
    )
    auscultation_site: str | None = Field(
        default=None, max_length=40, description="record_request: where to listen"
    )
    duration_s: float | None = Field(
        default=None,
        ge=MIN_RECORD_S,
        le=MAX_RECORD_S,
        description="record_request: recording length",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    omit_when_absent: ClassVar[tuple[str, ...]] = ("resident", "auscultation_site", "duration_s")

    @model_validator(mode="after")
    def _request_is_complete(self) -> CommandMessage:
        _check_request(self.action, self.resident, self.auscultation_site)
        return self


def _check_request(action: str, resident: str | None, auscultation_site: str | None) -> None:
    # A plain function, not the validator's body: mutmut skips decorated functions.
    if action == "record_request" and (resident is None or auscultation_site is None):
        raise ValueError("record_request needs resident and auscultation_site")


class LiveChunkHeader(_Message):
    """The fixed binary header in front of each live PCM chunk (see docs/mqtt.md).

    Encoded as little-endian `<4sIdI`: magic `STL1`, sequence number, Unix time of
    the chunk's first sample, sample rate in Hz; then mono 16-bit little-endian PCM.
    """

    magic: Literal["STL1"] = "STL1"
    seq: int = Field(ge=0, lt=2**32)
    captured_at: float = Field(description="Unix time (s) of the chunk's first sample")
    sample_rate_hz: int = Field(gt=0, lt=2**32)


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice: which one counts differs between parsers."""


def refuse_duplicate_keys(payload: bytes) -> None:
    """Raise DuplicateKeyError (or ValueError for bad JSON) if any object repeats a key.

    RFC 8259 §4 only says names "SHOULD be unique"; Python keeps the last, other parsers the
    first, so a message could mean one thing to the agent and another to the hub.
    """

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            raise DuplicateKeyError(f"duplicate key(s) {', '.join(repeated)}")
        return dict(items)

    json.loads(payload, object_pairs_hook=pairs)


ExamEvent = Literal["opened", "site_recorded", "closed", "abandoned"]
ExamState = Literal["open", "recording", "done", "abandoned"]


class ExamSite(_Message):
    auscultation_site: str
    state: Literal["pending", "rerecord", "done"]
    recording_ids: list[UUID] = Field(description="every recording taken here, oldest first")
    counted_recording_id: UUID | None = Field(
        description="the last recording of acceptable quality: the one that counts"
    )
    level: Level | None = Field(description="triage level of the counted recording")


class ExamMessage(_Message):
    """One exam at a care home, on `stetho/v1/{site}/exams`: sent when it opens, after each
    recorded site and when it closes, so the doctor sees one exam with all its sites."""

    schema_name: Literal["stetho.exam"] = Field(default="stetho.exam", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    exam_id: UUID
    event: ExamEvent
    state: ExamState
    site: str
    agent: str
    resident: str = Field(description="opaque resident reference, never a name")
    staff: str = Field(description="who examines (staff id)")
    reason: str = Field(max_length=200, description="why, in a few words; never a name")
    protocol: str
    age_band: AgeBand = Field(
        description="adult (16 and over) or a child's band in years; it chooses the heart and "
        "breathing rate ranges of every recording's triage"
    )
    sites: list[ExamSite]
    opened_at: datetime
    closed_at: datetime | None
    at: datetime

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ExamAnswerMessage(_Message):
    """A doctor's answer to an exam, on `stetho/v1/{site}/exams/answers`; shown to the nurse."""

    schema_name: Literal["stetho.exam-answer"] = Field(default="stetho.exam-answer", alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    exam_id: UUID
    by: str = Field(min_length=1, max_length=80, description="the doctor's id")
    disposition: Disposition
    note: str | None = Field(default=None, max_length=1000)
    at: AwareDatetime = Field(description="when it was sent; with a time zone")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def to_json(message: BaseModel) -> bytes:
    # Fields added after version 1 are left out while unset, so a message that does not use
    # them stays byte for byte what version-1 readers (which refuse unknown keys) accept.
    names: tuple[str, ...] = getattr(message, "omit_when_absent", ())
    omit = {n for n in names if getattr(message, n) is None}
    return message.model_dump_json(by_alias=True, exclude=omit or None).encode("utf-8")
