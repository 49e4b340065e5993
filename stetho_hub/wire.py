"""What the hub receives, parsed: topic + payload in, a typed item out, or a refusal.

Sans-I/O: no broker, no database, no clock. Every payload is checked against the topic it
came on (a care home's message names that care home, a device topic that device), and
every size is capped before parsing, so a bad or hostile message costs little and is
refused with a short, stable reason code that the service counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from edge_agent.wire import messages, topics
from edge_agent.wire.v311 import recording_id_in
from firmware_bridge.flac import FLAC_CONTENT_TYPE
from stetho_common.ids import SLUG
from stetho_hub.errors import MalformedMessageError

# Caps, far above what the agent sends, so a broken or hostile sender is refused cheaply:
# a 30 min recording at 4 kHz is ~9 MB of FLAC; metadata with every S1/S2 time stays < 200 KB.
MAX_AUDIO_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024

# Topic filters the hub subscribes to (docs/mqtt.md §1).
SUBSCRIPTIONS: tuple[str, ...] = (
    f"{topics.ROOT}/+/+/recordings",
    f"{topics.ROOT}/+/+/recordings/audio",
    f"{topics.ROOT}/+/triage",
    f"{topics.ROOT}/+/alerts",
    f"{topics.ROOT}/+/acks",
    f"{topics.ROOT}/+/exams",
    f"{topics.ROOT}/+/exams/answers",
    f"{topics.ROOT}/+/+/status",
)


def subscription_filters(shared_group: str | None) -> tuple[str, ...]:
    """The filters, as MQTT v5 shared subscriptions (`$share/<group>/...`) when grouped."""
    if shared_group is None:
        return SUBSCRIPTIONS
    return tuple(f"$share/{shared_group}/{f}" for f in SUBSCRIPTIONS)


@dataclass(frozen=True)
class RecordingMeta:
    message: messages.RecordingMessage
    raw: bytes

    @property
    def recording_id(self) -> str:
        return str(self.message.recording_id)

    @property
    def exam_id(self) -> str | None:
        # Recordings of timed monitoring, and those of older agents, have none.
        return str(self.message.exam_id) if self.message.exam_id is not None else None


@dataclass(frozen=True)
class RecordingAudio:
    recording_id: str
    site: str
    device: str
    flac: bytes


@dataclass(frozen=True)
class TriageItem:
    message: messages.TriageMessage
    raw: bytes


@dataclass(frozen=True)
class AlertItem:
    message: messages.AlertMessage
    raw: bytes


@dataclass(frozen=True)
class AckItem:
    site: str
    message: messages.AckMessage
    raw: bytes


@dataclass(frozen=True)
class StatusItem:
    source: str  # the agent's or the device's id, from the topic
    message: messages.StatusMessage
    raw: bytes


@dataclass(frozen=True)
class ExamItem:
    """A `stetho.exam` message (opened, a site recorded, closed), kept as sent."""

    exam_id: str
    site: str
    raw: bytes


@dataclass(frozen=True)
class ExamAnswerItem:
    """A doctor's `stetho.exam-answer`, kept as sent (the exam's decision, for FHIR)."""

    site: str
    message: messages.ExamAnswerMessage
    raw: bytes


Incoming = (
    RecordingMeta
    | RecordingAudio
    | TriageItem
    | AlertItem
    | AckItem
    | StatusItem
    | ExamItem
    | ExamAnswerItem
)
_M = TypeVar("_M", bound=BaseModel)


def classify(
    topic: str,
    payload: bytes,
    user_properties: tuple[tuple[str, str], ...] = (),
    content_type: str | None = None,
) -> Incoming:
    """Parse one received message; raise MalformedMessageError(reason) when it is not valid."""
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != topics.ROOT or not SLUG.fullmatch(parts[2]):
        raise MalformedMessageError("unexpected_topic")
    site, rest = parts[2], parts[3:]
    if rest[-2:] == ["recordings", "audio"] and len(rest) == 3:
        return _audio(site, _slug(rest[0]), payload, user_properties, content_type)
    if not payload:
        raise MalformedMessageError("empty_payload")
    if len(payload) > MAX_JSON_BYTES:
        raise MalformedMessageError("too_large", f"{len(payload)} bytes")
    if len(rest) == 1:
        return _site_level(site, rest[0], payload)
    if rest == ["exams", "answers"]:
        answer = _parse(messages.ExamAnswerMessage, payload, "exam_answer")
        return ExamAnswerItem(site, answer, payload)
    if len(rest) == 2:
        return _source_level(site, _slug(rest[0]), rest[1], payload)
    raise MalformedMessageError("unexpected_topic")


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise MalformedMessageError("unexpected_topic")
    return value


def _site_level(site: str, leaf: str, payload: bytes) -> Incoming:
    if leaf == "triage":
        triage = _parse(messages.TriageMessage, payload, "triage")
        _same(site, triage.site, "site")
        return TriageItem(triage, payload)
    if leaf == "alerts":
        alert = _parse(messages.AlertMessage, payload, "alert")
        _same(site, alert.site, "site")
        return AlertItem(alert, payload)
    if leaf == "acks":
        return AckItem(site, _parse(messages.AckMessage, payload, "ack"), payload)
    if leaf == "exams":
        return _exam(site, payload)
    raise MalformedMessageError("unexpected_topic")


def _source_level(site: str, source: str, leaf: str, payload: bytes) -> Incoming:
    if leaf == "recordings":
        meta = _parse(messages.RecordingMessage, payload, "recording")
        _same(site, meta.site, "site")
        _same(source, meta.device, "device")
        if meta.audio.size_bytes > MAX_AUDIO_BYTES:
            raise MalformedMessageError("too_large", "audio.size_bytes")
        return RecordingMeta(meta, payload)
    if leaf == "status":
        status = _parse(messages.StatusMessage, payload, "status")
        _same(site, status.site, "site")
        _same(source, status.device if status.device is not None else status.agent, "source")
        return StatusItem(source, status, payload)
    raise MalformedMessageError("unexpected_topic")


def _audio(
    site: str,
    device: str,
    payload: bytes,
    user_properties: tuple[tuple[str, str], ...],
    content_type: str | None,
) -> RecordingAudio:
    if content_type is not None and content_type != FLAC_CONTENT_TYPE:
        raise MalformedMessageError("wrong_content_type", content_type[:40])
    if len(payload) > MAX_AUDIO_BYTES:
        raise MalformedMessageError("too_large", f"{len(payload)} bytes")
    if not payload.startswith(b"fLaC"):
        raise MalformedMessageError("not_flac")
    ids = [value for key, value in user_properties if key == "recording_id"]
    if not user_properties:  # MQTT 3.1.1 (no properties): the FLAC's own Vorbis comment
        found = recording_id_in(topics.recording_audio(site, device), payload)
        ids = [found] if found is not None else []
    if len(ids) != 1:
        raise MalformedMessageError("missing_recording_id")
    try:
        recording_id = str(UUID(ids[0]))
    except ValueError:
        raise MalformedMessageError("missing_recording_id", "not a UUID") from None
    return RecordingAudio(recording_id, site, device, payload)


def _exam(site: str, payload: bytes) -> ExamItem:
    exam = _parse(messages.ExamMessage, payload, "exam")
    _same(site, exam.site, "site")
    return ExamItem(str(exam.exam_id), site, payload)


def _parse(model: type[_M], payload: bytes, kind: str) -> _M:
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        # Location and error type only: the input may hold a note, never to be logged.
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise MalformedMessageError(f"invalid_{kind}", f"{where}: {first['type']}") from None


def _same(expected: str, found: object, field: str) -> None:
    if found != expected:
        raise MalformedMessageError("topic_mismatch", field)
