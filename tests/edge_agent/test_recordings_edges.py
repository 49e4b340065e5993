"""A finished capture turned into the messages that carry it, each field checked, direct.

What reaches the hospital is these messages: the audio first (FLAC of the samples as recorded,
tagged with what `stetho analyze` needs), its metadata (dated from the capture, its gaps in
seconds, the analysis or why there is none), then triage and, for review or urgent, an alert
that expires after a week. A synthetic heart at 72.7/min is read with thresholds or an age band
that make it routine, review or urgent; a 0.1 s capture is one the analysis cannot read.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
import soundfile

from edge_agent.pipeline.recordings import ALERT_EXPIRY_S, process_capture
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages
from edge_agent.wire.recording import Capture, Gap, RecordingContext
from firmware_bridge.flac import pcm_sha256, to_pcm16
from firmware_bridge.flac_tags import read_vorbis_comments
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize

RATE = 4000
STARTED = 1_765_000_000.25  # 2025-12-06 05:46:40.25 UTC
HEART = synthesize("normal", 7.0, RATE, seed=2).samples  # 72.7/min: routine for an adult
EXAM = uuid.UUID(int=7)
MONITORING = RecordingContext("home-1", "pi", "steth-1", "res-1", "mitral", "heart")
ADULT_EXAM = RecordingContext("home-1", "pi", "steth-1", "res-1", "mitral", "heart", EXAM)
CHILD = RecordingContext("home-1", "pi", "steth-1", "res-1", "mitral", "heart", EXAM, "2_to_5")
FAST_REVIEW = TriageThresholds(heart_rate_review_high_bpm=60)  # 72.7/min: review
FAST_URGENT = TriageThresholds(
    heart_rate_urgent_low_bpm=20,
    heart_rate_review_low_bpm=30,
    heart_rate_review_high_bpm=50,
    heart_rate_urgent_high_bpm=55,
)
JSON = "application/json"


def _capture(
    samples: np.ndarray = HEART, gaps: tuple[Gap, ...] = (), partial: bool = False
) -> Capture:
    return Capture(uuid.UUID(int=1), STARTED, RATE, samples, gaps, partial)


def _props(exam: bool) -> tuple[tuple[str, str], ...]:
    rid = (("schema_version", "1"), ("recording_id", str(uuid.UUID(int=1))))
    return (*rid, ("exam_id", str(EXAM))) if exam else rid


def test_a_routine_recording_is_audio_then_metadata_then_triage() -> None:
    done = process_capture(_capture(), MONITORING, TriageThresholds())
    assert done.level == "routine" and done.alert_id is None
    rid = str(uuid.UUID(int=1))
    audio, meta, triage = done.outbound
    base = "stetho/v1/home-1"
    assert audio == OutboundMessage(
        f"{base}/steth-1/recordings/audio", audio.payload, 1, False, "audio/flac", None,
        _props(False), rid,
    )  # fmt: skip
    assert meta == OutboundMessage(
        f"{base}/steth-1/recordings", messages.to_json(done.recording), 1, False, JSON, None,
        _props(False), rid,
    )  # fmt: skip
    assert (triage.topic, triage.qos, triage.retain, triage.content_type) == (
        f"{base}/triage", 1, False, JSON)  # fmt: skip
    assert (triage.expiry_s, triage.user_properties, triage.recording_id) == (
        None, _props(False), rid)  # fmt: skip
    body = json.loads(triage.payload)
    assert body["recording_id"] == rid and body["level"] == "routine" and body["flags"] == []
    assert body["recorded_at"] == "2025-12-06T05:46:40.250000Z"
    assert (body["site"], body["device"], body["resident"]) == ("home-1", "steth-1", "res-1")
    assert (body["auscultation_site"], body["kind"]) == ("mitral", "heart")
    assert "agent" not in body


def test_the_audio_is_the_samples_as_recorded_and_tagged_for_a_later_analysis() -> None:
    samples = HEART.copy()
    samples[4000:4400] = 0.0  # the silence the reassembler put where frames were lost
    done = process_capture(_capture(samples, (Gap(4000, 400),)), CHILD, TriageThresholds())
    flac = done.outbound[0].payload
    rid = str(uuid.UUID(int=1))
    tags = read_vorbis_comments(flac)
    assert tags == {
        "TITLE": f"mitral {rid}",
        "COMMENT": f"recording_id={rid}",
        "STETHO_DEVICE": "steth-1",
        "STETHO_SITE": "mitral",
        "STETHO_GAPS": "[[4000, 400]]",
        "STETHO_LOST_SAMPLES": "400",
        "STETHO_AGE_BAND": "2_to_5",
    }
    decoded, rate = soundfile.read(io.BytesIO(flac), dtype="int16")
    assert rate == RATE and np.array_equal(decoded, to_pcm16(samples))
    assert done.outbound[0].user_properties == _props(True)


def test_a_monitoring_recording_names_no_age_band_in_its_file() -> None:
    done = process_capture(_capture(), MONITORING, TriageThresholds())
    assert "STETHO_AGE_BAND" not in read_vorbis_comments(done.outbound[0].payload)


def test_the_metadata_dates_counts_and_points_at_the_audio() -> None:
    gaps = (Gap(2000, 100), Gap(8000, 4000))
    done = process_capture(_capture(gaps=gaps, partial=True), CHILD, TriageThresholds())
    rec = done.recording
    pcm = to_pcm16(HEART)
    assert rec.recording_id == uuid.UUID(int=1)
    assert rec.started_at == datetime(2025, 12, 6, 5, 46, 40, 250000, tzinfo=UTC)
    assert rec.ended_at == datetime(2025, 12, 6, 5, 46, 47, 250000, tzinfo=UTC)
    assert rec.started_at.utcoffset() is not None
    assert (rec.sample_rate_hz, rec.n_samples, rec.partial) == (RATE, 28000, True)
    assert [(g.start_s, g.duration_s) for g in rec.gaps] == [(0.5, 0.025), (2.0, 1.0)]
    assert rec.audio.topic == "stetho/v1/home-1/steth-1/recordings/audio"
    assert rec.audio.content_type == "audio/flac"
    assert rec.audio.size_bytes == len(done.outbound[0].payload)
    assert rec.audio.pcm_sha256 == pcm_sha256(pcm)
    assert (rec.agent, rec.exam_id, rec.age_band) == ("pi", EXAM, "2_to_5")
    assert rec.analysis is not None and rec.analysis_error is None
    assert done.outbound[1].user_properties == _props(True)


def test_the_metadata_says_a_whole_recording_is_whole() -> None:
    done = process_capture(_capture(), MONITORING, TriageThresholds())
    assert done.recording.partial is False and done.recording.gaps == []


def test_the_analysis_reads_the_exam_s_age_band() -> None:
    done = process_capture(_capture(), CHILD, TriageThresholds())
    assert done.level == "review"  # 72.7/min is slow for 2 to 5 years; for an adult, routine
    analysis = done.recording.analysis
    assert analysis is not None and [f.code for f in analysis.triage.flags] == ["heart_rate_low"]


def test_the_analysis_reads_the_thresholds_given() -> None:
    done = process_capture(_capture(), MONITORING, FAST_REVIEW)
    assert done.level == "review"


def test_the_analysis_reads_the_samples_bridged_over_what_was_lost() -> None:
    silent = HEART.copy()
    silent[:12000] = 0.0  # the first half lost: silence in the file
    done = process_capture(_capture(silent, (Gap(0, 12000),)), MONITORING, TriageThresholds())
    assert done.recording.analysis is not None  # bridged, the half left is read
    assert done.recording.analysis.heart is not None
    assert done.recording.analysis.heart.rate_bpm == pytest.approx(72.7, abs=3)


@pytest.mark.parametrize(
    ("thresholds", "level"), [(FAST_REVIEW, "review"), (FAST_URGENT, "urgent")]
)
def test_review_and_urgent_raise_an_alert_kept_for_a_week(
    thresholds: TriageThresholds, level: str
) -> None:
    done = process_capture(_capture(), ADULT_EXAM, thresholds)
    assert done.level == level and ALERT_EXPIRY_S == 604800
    assert [m.topic.rsplit("/", 1)[-1] for m in done.outbound] == [
        "audio", "recordings", "triage", "alerts"]  # fmt: skip
    alert = done.outbound[3]
    assert alert.topic == "stetho/v1/home-1/alerts"
    assert (alert.qos, alert.retain, alert.content_type, alert.expiry_s) == (1, False, JSON, 604800)
    assert (alert.user_properties, alert.recording_id) == (_props(True), str(uuid.UUID(int=1)))
    body = json.loads(alert.payload)
    assert done.alert_id is not None and body["alert_id"] == done.alert_id
    assert uuid.UUID(done.alert_id).version == 4
    assert body["recording_id"] == str(uuid.UUID(int=1)) and body["level"] == level
    assert body["recorded_at"] == "2025-12-06T05:46:40.250000Z"
    assert (body["agent"], body["device"], body["exam_id"]) == ("pi", "steth-1", str(EXAM))
    assert body["audio_topic"] == "stetho/v1/home-1/steth-1/recordings/audio"
    assert body["recording_topic"] == "stetho/v1/home-1/steth-1/recordings"
    triage = json.loads(done.outbound[2].payload)
    assert body["flags"] == triage["flags"] and triage["flags"] != []
    assert triage["level"] == level and triage["exam_id"] == str(EXAM)


def test_each_alert_has_its_own_id() -> None:
    first = process_capture(_capture(), MONITORING, FAST_REVIEW).alert_id
    assert (
        first is not None and first != process_capture(_capture(), MONITORING, FAST_REVIEW).alert_id
    )


def test_a_capture_the_analysis_cannot_read_still_goes_with_the_reason() -> None:
    done = process_capture(_capture(HEART[:400], partial=True), MONITORING, TriageThresholds())
    assert done.level is None and done.alert_id is None
    assert [m.topic.rsplit("/", 1)[-1] for m in done.outbound] == ["audio", "recordings"]
    assert done.recording.analysis is None
    assert done.recording.analysis_error == "recording lasts 0.100 s; at least 1 s is needed"
    assert done.recording.n_samples == 400
    body = json.loads(done.outbound[1].payload)
    assert body["analysis"] is None
    assert body["analysis_error"] == "recording lasts 0.100 s; at least 1 s is needed"
