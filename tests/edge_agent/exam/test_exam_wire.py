"""The exam and the doctor's answer as they leave for the broker (docs/mqtt.md §1's table):
each site with every recording taken there and the one that counts, times with their zone,
QoS 1, never retained, never expiring, and the properties a subscriber reads without parsing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from edge_agent.exam import Exam, SiteRecording, resolve_protocol
from edge_agent.exam.wire import answer_message, exam_message
from edge_agent.wire import messages

EXAM_ID = uuid.UUID("00000000-0000-4000-8000-000000000042")


def _exam() -> Exam:
    return Exam(EXAM_ID, "res-0001", "nurse-a", "breathless", "heart-4",
                resolve_protocol("heart-4"), 1_000_000.0)  # fmt: skip


def _rec(site: str, ok: bool, level: str) -> SiteRecording:
    return SiteRecording(uuid.uuid4(), site, "steth-1", 1_000_010.0, 8.0, ok, level,
                         () if ok else ("no_signal",), False)  # fmt: skip


def test_each_site_lists_every_recording_and_the_one_that_counts() -> None:
    exam = _exam()
    poor, good, other = _rec("aortic", False, "rerecord"), _rec("aortic", True, "review"), \
        _rec("pulmonic", False, "rerecord")  # fmt: skip
    for recording in (poor, other, good):
        exam.add_recording(recording)
    body = messages.ExamMessage.model_validate_json(
        exam_message(exam, "site_recorded", "home-1", "pi", 1_000_020.0).payload
    )
    aortic, pulmonic, tricuspid, mitral = body.sites
    assert (aortic.auscultation_site, aortic.state) == ("aortic", "done")
    assert aortic.recording_ids == [poor.recording_id, good.recording_id]  # oldest first
    assert aortic.counted_recording_id == good.recording_id and aortic.level == "review"
    assert (pulmonic.state, pulmonic.recording_ids) == ("rerecord", [other.recording_id])
    assert pulmonic.counted_recording_id is None and pulmonic.level is None
    assert (tricuspid.state, tricuspid.recording_ids) == ("pending", [])
    assert mitral.auscultation_site == "mitral"
    assert (body.exam_id, body.event, body.state) == (EXAM_ID, "site_recorded", "recording")
    assert (body.site, body.agent, body.resident, body.staff, body.reason, body.protocol) == (
        "home-1", "pi", "res-0001", "nurse-a", "breathless", "heart-4",
    )  # fmt: skip


def test_times_are_utc_and_an_open_exam_has_no_close() -> None:
    exam = _exam()
    opened = json.loads(exam_message(exam, "opened", "home-1", "pi", 1_000_001.0).payload)
    assert opened["closed_at"] is None
    assert datetime.fromisoformat(opened["opened_at"]) == datetime.fromtimestamp(1_000_000, UTC)
    assert datetime.fromisoformat(opened["at"]).utcoffset() is not None  # never local time
    exam.begin_recording("aortic", 1_000_002.0)
    exam.close(1_000_300.0)
    closed = json.loads(exam_message(exam, "closed", "home-1", "pi", 1_000_301.0).payload)
    assert datetime.fromisoformat(closed["closed_at"]) == datetime.fromtimestamp(1_000_300, UTC)
    assert datetime.fromisoformat(closed["at"]) == datetime.fromtimestamp(1_000_301, UTC)


def test_an_exam_goes_once_to_its_topic_with_its_properties() -> None:
    out = exam_message(_exam(), "opened", "home-1", "pi", 1_000_001.0)
    assert out.topic == "stetho/v1/home-1/exams"
    assert (out.qos, out.retain, out.expiry_s) == (1, False, None)
    assert out.content_type == "application/json"
    assert out.user_properties == (("schema_version", "1"), ("exam_id", str(EXAM_ID)))


def test_a_doctors_answer_reaches_the_care_homes_answers_topic() -> None:
    before = datetime.now(tz=UTC)
    out = answer_message("home-1", EXAM_ID, "dr-b", "gp-visit-24h", "listen again tomorrow")
    assert out.topic == "stetho/v1/home-1/exams/answers"
    assert (out.qos, out.retain, out.expiry_s) == (1, False, None)
    assert out.content_type == "application/json"
    assert out.user_properties == (("schema_version", "1"),)
    answer = messages.ExamAnswerMessage.model_validate_json(out.payload)
    assert (answer.exam_id, answer.by, answer.disposition, answer.note) == (
        EXAM_ID, "dr-b", "gp-visit-24h", "listen again tomorrow",
    )  # fmt: skip
    assert before <= answer.at <= datetime.now(tz=UTC)
    bare = answer_message("home-1", EXAM_ID, "dr-b", "no-action", None)
    assert messages.ExamAnswerMessage.model_validate_json(bare.payload).note is None
