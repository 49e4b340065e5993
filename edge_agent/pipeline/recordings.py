"""From a finished capture to the messages that carry it: analysis, FLAC, metadata, triage, alert.

Runs in a worker thread (see `process_capture`): the DSP and the FLAC encoder never hold the
event loop, so BLE notifications and MQTT keep flowing while a recording is analysed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages, topics
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.flac import (
    AGE_BAND_TAG,
    FLAC_CONTENT_TYPE,
    SITE_TAG,
    encode_flac,
    gap_tags,
    pcm_sha256,
    to_pcm16,
)
from firmware_bridge.reassembly import bridged
from stetho_signal import SignalError, TriageThresholds, analyze

ALERT_EXPIRY_S = 7 * 24 * 3600  # an unread alert older than a week is no longer actionable


@dataclass(frozen=True)
class ProcessedRecording:
    recording: messages.RecordingMessage
    outbound: list[OutboundMessage]
    level: str | None
    alert_id: str | None = None


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _analyse(
    capture: Capture, ctx: RecordingContext, thresholds: TriageThresholds
) -> tuple[messages.Analysis | None, str | None]:
    # Samples the link lost are silence in the archive (heard and marked as lost); the analysis
    # reads them bridged, or the steps into and out of that silence read as crackles.
    samples = bridged(capture.samples, capture.gaps)
    try:
        # The exam's age band picks the rate ranges (a child's 132/min is not an adult's).
        result = analyze(samples, capture.sample_rate_hz, ctx.kind, thresholds, ctx.age_band)
    except SignalError as exc:
        return None, str(exc)
    return messages.Analysis.model_validate(result.to_dict()), None


def process_capture(
    capture: Capture, ctx: RecordingContext, thresholds: TriageThresholds
) -> ProcessedRecording:
    """Analyse and encode one capture; return the ordered messages for the outbox.

    Audio goes first, then its metadata, then triage and the alert, so a doctor who
    opens an alert already has the sound it refers to.
    """
    rid = str(capture.recording_id)
    pcm = to_pcm16(capture.samples)
    # The file names its site so that `stetho analyze` picks the heart or lung analysis itself.
    tags = {
        "TITLE": f"{ctx.auscultation_site} {rid}",
        "COMMENT": f"recording_id={rid}",
        "STETHO_DEVICE": ctx.device,
        SITE_TAG: ctx.auscultation_site,
        **gap_tags(capture.gaps),  # `stetho analyze` bridges them as _analyse does
    }
    if ctx.age_band is not None:  # and reads the rates with the exam's band, as _analyse does
        tags[AGE_BAND_TAG] = ctx.age_band
    flac = encode_flac(pcm, capture.sample_rate_hz, tags)
    analysis, error = _analyse(capture, ctx, thresholds)
    audio_topic = topics.recording_audio(ctx.site, ctx.device)
    recording = messages.RecordingMessage(
        recording_id=capture.recording_id,
        **ctx.fields(),
        started_at=_utc(capture.started_at),
        ended_at=_utc(capture.ended_at),
        sample_rate_hz=capture.sample_rate_hz,
        n_samples=len(pcm),
        partial=capture.partial,
        gaps=[
            messages.Gap(
                start_s=g.start_sample / capture.sample_rate_hz,
                duration_s=g.length / capture.sample_rate_hz,
            )
            for g in capture.gaps
        ],
        audio=messages.AudioRef(
            topic=audio_topic,
            content_type=FLAC_CONTENT_TYPE,
            size_bytes=len(flac),
            pcm_sha256=pcm_sha256(pcm),
        ),
        analysis=analysis,
        analysis_error=error,
    )
    props: tuple[tuple[str, str], ...] = (
        ("schema_version", str(messages.SCHEMA_VERSION)),
        ("recording_id", rid),
    )
    if ctx.exam_id is not None:  # readers that refuse unknown keys still see the exam here
        props = (*props, ("exam_id", str(ctx.exam_id)))
    out = [
        OutboundMessage(audio_topic, flac, 1, False, FLAC_CONTENT_TYPE, None, props, rid),
        _json_message(topics.recording(ctx.site, ctx.device), recording, props, rid),
    ]
    level = analysis.triage.level if analysis is not None else None
    alert_id = None
    if analysis is not None:
        triage_out, alert_id = _triage_messages(recording, analysis, ctx, props)
        out.extend(triage_out)
    return ProcessedRecording(recording, out, level, alert_id)


def _json_message(
    topic: str,
    payload: BaseModel,
    props: tuple[tuple[str, str], ...],
    rid: str,
    expiry_s: int | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        topic, messages.to_json(payload), 1, False, messages.JSON_CONTENT_TYPE, expiry_s, props, rid
    )


def _triage_messages(
    recording: messages.RecordingMessage,
    analysis: messages.Analysis,
    ctx: RecordingContext,
    props: tuple[tuple[str, str], ...],
) -> tuple[list[OutboundMessage], str | None]:
    rid = str(recording.recording_id)
    triage = messages.TriageMessage(
        recording_id=recording.recording_id,
        **ctx.where(),
        recorded_at=recording.started_at,
        level=analysis.triage.level,
        flags=analysis.triage.flags,
    )
    out = [_json_message(topics.triage(ctx.site), triage, props, rid)]
    level = analysis.triage.level
    if level == "review" or level == "urgent":
        alert = messages.AlertMessage(
            alert_id=uuid.uuid4(),
            recording_id=recording.recording_id,
            **ctx.fields(),
            recorded_at=recording.started_at,
            level=level,
            flags=analysis.triage.flags,
            audio_topic=recording.audio.topic,
            recording_topic=topics.recording(ctx.site, ctx.device),
        )
        out.append(_json_message(topics.alerts(ctx.site), alert, props, rid, ALERT_EXPIRY_S))
        return out, str(alert.alert_id)
    return out, None
