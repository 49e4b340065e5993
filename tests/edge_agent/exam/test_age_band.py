"""An exam's age band reaches the analysis of each of its recordings and every message about
them: a heart at 132/min is urgent for an adult (NEWS2 >= 131) and normal at 1 to 2 years."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pytest

from edge_agent.exam import ExamStore, Resident, SiteRecording, UnknownAgeBandError
from edge_agent.exam.service import ExamService
from edge_agent.pipeline.recordings import process_capture
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages
from edge_agent.wire.recording import RecordingContext
from stetho_signal import TriageThresholds
from stetho_sim.sounds import pcg

RATE = 4000


async def _record_132(tmp: Path, band: str) -> tuple[list[OutboundMessage], SiteRecording]:
    sent: list[OutboundMessage] = []

    async def put(out: list[OutboundMessage]) -> None:
        sent.extend(out)

    store = ExamStore(tmp / band / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    service = ExamService(store, "home", "pi", ["steth-1"], put, 10.0)
    segmenter = service.attach("steth-1", RATE)
    exam = await service.open_exam("res-1", "nurse-a", "", "custom", ("mitral",), band)  # type: ignore[arg-type]
    await service.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
    audio = pcg(132.0, 10.5, RATE, seed=4)[0].astype(np.float32)
    for start in range(0, len(audio), RATE // 10):
        for capture in segmenter.feed(audio[start : start + RATE // 10], start / RATE):
            ctx = service.context_for("steth-1", capture.recording_id)
            assert ctx is not None and ctx.age_band == band
            done = process_capture(capture, ctx, TriageThresholds())
            sent.extend(done.outbound)
            await service.recorded(done)
    store.close()
    (recorded,) = exam.recordings
    return sent, recorded


def _payloads(sent: list[OutboundMessage], suffix: str) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in sent if m.topic.endswith(suffix)]


def test_a_toddlers_132_per_min_is_not_urgent_but_an_adults_is(tmp_path: Path) -> None:
    child, child_recording = asyncio.run(_record_132(tmp_path, "1_to_2"))
    adult, adult_recording = asyncio.run(_record_132(tmp_path, "adult"))
    assert adult_recording.level == "urgent"
    assert child_recording.level == "routine"  # APLS 1-2 years: 100-150/min
    assert child_recording.alert_id is None
    (rec,) = _payloads(child, "/steth-1/recordings")
    assert rec["age_band"] == "1_to_2" and 125 < rec["analysis"]["heart"]["rate_bpm"] < 140
    (triage,) = _payloads(child, "/triage")
    assert triage["age_band"] == "1_to_2" and triage["level"] == "routine"
    (alert,) = _payloads(adult, "/alerts")
    assert alert["age_band"] == "adult" and alert["level"] == "urgent"
    assert adult_recording.alert_id == alert["alert_id"]  # the page links the site to it
    exams = _payloads(child, "/exams")
    assert {e["age_band"] for e in exams} == {"1_to_2"}
    messages.ExamMessage.model_validate(exams[-1])
    messages.TriageMessage.model_validate(triage)


def test_an_unknown_band_is_refused_by_name(tmp_path: Path) -> None:
    async def main() -> None:
        async def put(out: list[OutboundMessage]) -> None:
            return None

        store = ExamStore(tmp_path / "exams.sqlite3")
        store.add_residents([Resident("res-1", "Room 1")])
        service = ExamService(store, "home", "pi", [], put, 10.0)
        with pytest.raises(UnknownAgeBandError, match=r"'child'.*1_to_2"):
            await service.open_exam("res-1", "nurse-a", "", "heart-4", (), "child")  # type: ignore[arg-type]
        store.close()

    asyncio.run(main())


def test_timed_monitoring_messages_stay_version_1_bytes() -> None:
    ctx = RecordingContext("home", "pi", "steth-1", "res-1", "mitral", "heart")
    assert ctx.where()["age_band"] is None
    assert RecordingContext.from_fields({**ctx.fields(), "age_band": "2_to_5"}).age_band == "2_to_5"
    with pytest.raises(ValueError, match="toddler"):
        RecordingContext.from_fields({**ctx.fields(), "age_band": "toddler"})


def test_adult_rows_written_before_child_bands_still_load(tmp_path: Path) -> None:
    path = tmp_path / "exams.sqlite3"
    ExamStore(path).close()  # the same schema as before: age_band was already a column
    exam_id = uuid.uuid4()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO residents(ref, label) VALUES('res-1', 'Room 1')")
    db.execute(
        "INSERT INTO exams VALUES(?, 'res-1', 'nurse-a', '', 'heart-4', ?, 'adult', 'open', 1.0,"
        " NULL)",
        (str(exam_id), json.dumps(["aortic", "pulmonic", "tricuspid", "mitral"])),
    )
    db.commit()
    db.close()
    store = ExamStore(path)
    assert store.exam(exam_id).age_band == "adult"
    store.close()
