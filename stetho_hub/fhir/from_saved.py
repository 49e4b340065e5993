"""Exam records from what `stetho alerts --save` keeps: `<uuid>.recording.json` + `<uuid>.flac`.

The saved metadata is exactly the `stetho.recording` wire message. Saved files hold single
recordings, so each becomes a one-recording exam whose id is derived from the recording's.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path
from uuid import uuid5

from pydantic import ValidationError

from edge_agent.wire import messages
from firmware_bridge.flac import flac_mismatch
from stetho_hub.fhir.errors import InvalidInputError
from stetho_hub.fhir.records import (
    RATE_CAVEATS,
    AudioFile,
    ExamRecord,
    Finding,
    FindingKind,
    Measurements,
    RateFlag,
    RecordingRecord,
    Software,
)

MAX_METADATA_BYTES = 1_000_000  # a recording's JSON is a few KB; refuse anything absurd
SOFTWARE_NAME = "stetho-edge sound analysis (stetho_signal)"


def software() -> Software:
    """This installation's version: the wire message does not carry the analysing version."""
    try:
        version = importlib.metadata.version("stetho-edge")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return Software(SOFTWARE_NAME, version)


def measurements(analysis: messages.Analysis) -> Measurements:
    flags = {f.code: f for f in analysis.triage.flags}
    heart, lung = analysis.heart, analysis.lung
    found = []
    if heart is not None:
        found += [
            _finding(FindingKind.MURMUR, heart.murmur_suspected, flags),
            _finding(FindingKind.IRREGULAR, heart.irregular, flags),
        ]
        if FindingKind.OPENING_SNAP.value in flags:  # the wire says only when one is heard
            found.append(_finding(FindingKind.OPENING_SNAP, True, flags))
    if lung is not None:
        found += [
            _finding(FindingKind.WHEEZE, lung.wheeze, flags),
            _finding(FindingKind.CRACKLES, lung.crackles, flags),
        ]
    return Measurements(
        quality_score=analysis.quality.score,
        quality_acceptable=analysis.quality.acceptable,
        triage_level=analysis.triage.level,
        heart_rate_bpm=heart.rate_bpm if heart else None,
        respiratory_rate_bpm=lung.respiratory_rate_bpm if lung else None,
        rate_flags=tuple(
            RateFlag(f.code, f.reason, f.threshold)
            for f in flags.values()
            if "_rate_" in f.code or f.code in RATE_CAVEATS
        ),
        findings=tuple(found),
        unmeasured=tuple(f.reason for f in flags.values() if f.code.endswith("_unmeasured")),
        mains_hum_hz=tuple(analysis.quality.mains_hum_hz),
        faint_level_dbfs=analysis.quality.faint_level_dbfs,
    )


def _finding(kind: FindingKind, present: bool | None, flags: dict[str, messages.Flag]) -> Finding:
    flag = flags.get(kind.value)
    if flag is None:
        return Finding(kind, present)
    return Finding(kind, present, flag.value, flag.threshold, flag.reason)


def recording_record(
    msg: messages.RecordingMessage, flac: bytes | None, audio_url: str | None
) -> RecordingRecord:
    """One recording; with the FLAC bytes its size and SHA-1 are those of the real file."""
    audio = AudioFile(
        size_bytes=len(flac) if flac is not None else msg.audio.size_bytes,
        sha1=hashlib.sha1(flac, usedforsecurity=False).digest() if flac is not None else None,
        url=audio_url,
        content_type=msg.audio.content_type,
    )
    return RecordingRecord(
        recording_id=msg.recording_id,
        device=msg.device,
        auscultation_site=msg.auscultation_site,
        kind=msg.kind,
        started_at=msg.started_at,
        ended_at=msg.ended_at,
        audio=audio,
        measurements=measurements(msg.analysis) if msg.analysis is not None else None,
        analysis_error=msg.analysis_error,
        partial=msg.partial,
        gaps_s=sum(g.duration_s for g in msg.gaps),
    )


def audio_url(base: str | None, recording_id: str) -> str | None:
    """Where the hospital fetches a recording: a `{recording_id}` template, or a folder."""
    if not base:
        return None
    if "{recording_id}" in base:
        return base.replace("{recording_id}", recording_id)
    return f"{base.rstrip('/')}/{recording_id}.flac"


def exam_from_message(
    msg: messages.RecordingMessage, flac: bytes | None, audio_base_url: str | None
) -> ExamRecord:
    url = audio_url(audio_base_url, str(msg.recording_id))
    return ExamRecord(
        exam_id=uuid5(msg.recording_id, "exam"),
        site=msg.site,
        agent=msg.agent,
        resident=msg.resident,
        protocol=None,
        started_at=msg.started_at,
        closed_at=msg.ended_at,
        recordings=(recording_record(msg, flac, url),),
        software=software(),
    )


def load_saved(path: Path, audio_base_url: str | None = None) -> ExamRecord:
    """Read `<uuid>.recording.json` (and `<uuid>.flac` beside it, when there)."""
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise InvalidInputError(f"{path.name}: larger than a recording's metadata can be")
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        msg = messages.RecordingMessage.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInputError(
            f"{path.name} is not a saved stetho.recording ({exc.error_count()} errors, "
            f"first: {exc.errors()[0]['msg']})"
        ) from exc
    flac_path = path.with_name(f"{msg.recording_id}.flac")
    try:
        flac = flac_path.read_bytes()
    except FileNotFoundError:
        flac = None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {flac_path}: {exc.strerror}") from exc
    problem = (
        None if flac is None else flac_mismatch(flac, msg.audio.size_bytes, msg.audio.pcm_sha256)
    )
    if problem is not None:  # the Bundle would name this file's size and hash as the recording's
        raise InvalidInputError(
            f"{flac_path.name} is not the audio {path.name} names ({problem}): save the "
            "recording again"
        )
    return exam_from_message(msg, flac, audio_base_url)
