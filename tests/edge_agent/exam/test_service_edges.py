"""The exam service at its edges: the journal line of each step, word for word; what each
recording keeps; a stethoscope freed when its exam ends; the button's refusals; the events a
stethoscope sends; the broker's limit; the doctors' requests kept to the newest."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge_agent.exam import (
    DeviceBusyError,
    DeviceHeldByOwnExamError,
    ExamState,
    ExamStateError,
    UnknownExamError,
)
from edge_agent.exam.errors import RecordingLengthError, RecordingTooLongError
from edge_agent.exam.service import MAX_REQUESTS, ExamService, Progress
from edge_agent.pipeline.recordings import ProcessedRecording, process_capture
from edge_agent.transport.capture_limit import CaptureGate
from edge_agent.transport.packet_size import PacketLimit
from edge_agent.wire import messages
from firmware_bridge.sources import AudioBlock, DeviceEvent, EventKind
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize
from tests.edge_agent.exam.test_service import RATE, Harness

SMALL = PacketLimit(65536, configured=False)  # 7 s at 4 kHz
STILL_RUNNING = "a recording is still running: wait for it or stop it first"


def _captured(service: ExamService, device: str, seconds: float) -> list[ProcessedRecording]:
    """Feed the device's segmenter and analyse what it completes, without handing it back."""
    slot = service.slots[device]
    assert slot.segmenter is not None
    audio = synthesize("normal", seconds, RATE, seed=2).samples
    done = []
    for start in range(0, len(audio), RATE // 10):
        for capture in slot.segmenter.feed(audio[start : start + RATE // 10], start / RATE):
            ctx = service.context_for(device, capture.recording_id)
            assert ctx is not None
            done.append(process_capture(capture, ctx, TriageThresholds()))
    return done


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "edge_agent.exam.service"]


def test_each_step_writes_its_journal_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids: dict[str, object] = {}

    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        await s.add_resident("res-2", "Room 2")
        assert await s.import_residents("ref,label\nres-2,Room 2b\nres-3,Room 3\n") == (1, 1)
        assert [r.label for r in await s.search_residents("room")] == [
            "Room 1", "Room 2b", "Room 3"]  # fmt: skip
        assert [r.ref for r in await s.search_residents("2b")] == ["res-2"]
        s.attach("steth-1", RATE)
        s.button("steth-1")  # no exam uses it yet
        exam = await s.open_exam("res-1", "nurse-a", " cough ", "custom", ("mitral",), "2_to_5")
        ids["exam"] = exam.exam_id
        assert exam.reason == "cough"
        ids["first"] = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        assert _captured(s, "steth-1", 1.0) == []  # still recording
        assert s.stop("steth-2") is False and s.stop("steth-1") is True
        (short,) = _captured(s, "steth-1", 0.5)
        await s.recorded(short)
        ids["second"] = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        (full,) = _captured(s, "steth-1", 4.5)
        await s.recorded(full)
        assert exam.site_status("mitral").state == "done"
        s.button("steth-1")  # every site is done
        s.gate, s.default_duration_s = CaptureGate("home", lambda: SMALL), 15.0
        exam.recordings.clear()  # the site pending again: the button would record it
        s.button("steth-1")
        await asyncio.sleep(0.05)
        assert not s._button_tasks  # the refused press's task was let go
        ids["third"] = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a", 4.0)
        (late,) = _captured(s, "steth-1", 4.5)
        await s.close(exam.exam_id, "nurse-a")
        await s.recorded(late)  # the exam closed meanwhile: kept by the daemon, not the exam
        now = datetime.now(tz=UTC)
        for exam_id, taken in ((exam.exam_id, True), (uuid.uuid4(), False)):
            answer = messages.ExamAnswerMessage(
                exam_id=exam_id, by="dr-b", disposition="gp-visit-24h", at=now
            )
            assert await s.answered(answer) is taken
        await s.open_exam("res-2", "nurse-b", "", "heart-4")
        s.store.close()
        again = Harness(tmp_path)
        assert await again.service.recover() == 1
        again.service.store.close()

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    exam, first, second, third = ids["exam"], ids["first"], ids["second"], ids["third"]
    said = _lines(caplog)
    opened_b = said[-2]
    assert said == [
        "event=resident_saved resident=res-2",
        "event=residents_imported added=1 updated=1",
        "event=button_ignored device=steth-1 reason=no exam uses this stethoscope",
        f"event=exam_opened exam={exam} resident=res-1 staff=nurse-a protocol=custom "
        "age_band=2_to_5",
        f"event=exam_recording_started exam={exam} site=mitral device=steth-1 "
        f"recording={first} by=nurse-a",
        "event=exam_recording_stop_asked device=steth-1",
        f"event=exam_recording_started exam={exam} site=mitral device=steth-1 "
        f"recording={second} by=nurse-a",
        "event=button_ignored device=steth-1 reason=every site is done",
        "event=button_refused device=steth-1 reason=\"not started: the hospital's broker takes "
        "recordings of at most 7 s from stethoscope steth-1 (65536 bytes a message), and this "
        "one would last 15 s; ask the care home's IT contact to have the hospital raise the "
        "broker's maximum packet size, or to shorten exam.duration_s\"",
        f"event=exam_recording_started exam={exam} site=mitral device=steth-1 "
        f"recording={third} by=nurse-a",
        f"event=exam_done exam={exam} by=nurse-a",
        f"event=exam_recording_late exam={exam} recording={third}",
        f"event=exam_answered exam={exam} by=dr-b disposition=gp-visit-24h",
        opened_b,
        "event=exams_recovered count=1",
    ]
    assert opened_b.startswith("event=exam_opened ") and "staff=nurse-b" in opened_b


def test_a_recording_keeps_its_stethoscope_start_findings_and_frees_the_slot(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-2", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "custom", ("mitral",))
        rid = await s.record(exam.exam_id, "mitral", "steth-2", "nurse-a")
        assert s.slots["steth-2"].recording == rid
        (done,) = _captured(s, "steth-2", 4.5)
        await s.recorded(done)
        (kept,) = exam.recordings
        assert (kept.recording_id, kept.device, kept.partial) == (rid, "steth-2", False)
        assert kept.started_at == done.recording.started_at.timestamp()
        assert kept.duration_s == pytest.approx(4.0)
        assert kept.findings["level"] == done.level and "rate_bpm" in kept.findings
        assert s.slots["steth-2"].recording is None
        before = time.time()
        await s.close(exam.exam_id, "nurse-a")
        stored = await s.exam(exam.exam_id)  # finished: read back from the store
        assert stored.state is ExamState.DONE and stored.recordings == [kept]
        assert stored.closed_at is not None and before <= stored.closed_at <= time.time()
        s.store.close()

    asyncio.run(main())


def test_an_exam_ended_frees_its_stethoscope_for_the_next(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        first = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        second = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        await s.record(first.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        assert s.store.exam(first.exam_id).state is ExamState.RECORDING  # saved at once
        with pytest.raises(ExamStateError, match=f"^{STILL_RUNNING}$") as running:
            await s.close(first.exam_id, "nurse-a")
        assert running.value.words == "still_recording"  # the page words it in French
        with pytest.raises(DeviceBusyError) as busy:  # the same exam: the recording holds it
            await s.record(first.exam_id, "pulmonic", "steth-1", "nurse-c")
        assert (busy.value.device, busy.value.holder) == ("steth-1", "nurse-a")
        await s.recorded(_captured(s, "steth-1", 1.5)[0])
        with pytest.raises(DeviceBusyError) as claimed:  # another exam: the exam holds it
            await s.record(second.exam_id, "aortic", "steth-1", "nurse-b")
        assert str(claimed.value) == "stethoscope steth-1 is in use by nurse-a"
        assert claimed.value.device == "steth-1"
        ended = await s.close(first.exam_id, "nurse-a")
        assert ended.state is ExamState.DONE
        with pytest.raises(UnknownExamError, match=f"^no open exam {first.exam_id}: it is "
                           "finished or unknown$"):  # fmt: skip
            await s.record(first.exam_id, "pulmonic", "steth-1", "nurse-a")
        await s.record(second.exam_id, "aortic", "steth-1", "nurse-b", 1.0)
        assert s.slots["steth-1"].claimed_by == second.exam_id
        s.store.close()

    asyncio.run(main())


def test_an_exam_abandoned_says_so(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        exam = await h.service.open_exam("res-1", "nurse-a", "", "heart-4")
        ended = await h.service.close(exam.exam_id, "nurse-a", abandon=True)
        assert ended.state is ExamState.ABANDONED
        assert [e["event"] for e in h.exams_sent()] == ["opened", "abandoned"]
        h.service.store.close()

    asyncio.run(main())


def test_a_recording_the_broker_cannot_take_is_not_started(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        segmenter = s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        s.gate = CaptureGate("home", lambda: SMALL)
        with pytest.raises(RecordingTooLongError) as refused:
            await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a", 15.0)
        assert (refused.value.device, refused.value.duration_s, refused.value.max_s) == (
            "steth-1", 15.0, 7)  # fmt: skip
        assert "(65536 bytes a message)" in str(refused.value)
        assert not segmenter.busy and s.gate.alarms["steth-1"]
        assert s.gate.alarms["steth-1"].endswith("or set exam.duration_s to 7 or less")
        await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a", 7.0)  # what fits, starts
        assert segmenter.busy and "steth-1" not in s.gate.alarms
        gated = ExamService(s.store, "home", "pi", ["steth-2"], h._put, 15.0,
                            CaptureGate("home", lambda: SMALL))  # fmt: skip
        gated.attach("steth-2", RATE)
        other = await gated.open_exam("res-1", "nurse-a", "", "heart-4")
        with pytest.raises(RecordingTooLongError):  # the daemon's gate, given at the start
            await gated.record(other.exam_id, "aortic", "steth-2", "nurse-a")
        s.store.close()

    asyncio.run(main())


def test_a_button_recording_is_held_by_the_button(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        await s.recorded(_captured(s, "steth-1", 1.5)[0])
        s.event("steth-1", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))
        assert len(s._button_tasks) == 1  # kept until it ends, so it is not collected
        await asyncio.sleep(0.05)
        assert not s._button_tasks
        with pytest.raises(DeviceBusyError, match=r"in use by button$"):
            await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a")
        s.store.close()

    asyncio.run(main())


def test_a_stethoscopes_battery_contact_and_sound_reach_the_page(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        assert [slot.device for slot in s.slots.values()] == ["steth-1", "steth-2"]
        segmenter = s.attach("steth-7", RATE)  # paired after the start
        assert s.slots["steth-7"].device == "steth-7" and s.slots["steth-7"].connected
        s.add_device("steth-8")
        assert s.slots["steth-8"].device == "steth-8" and not s.slots["steth-8"].connected
        assert s.context_for("steth-8", uuid.uuid4()) is None  # not connected
        s.event("steth-7", DeviceEvent(EventKind.BATTERY, 0.0, 41))
        assert s.slots["steth-7"].battery_percent == 41
        s.event("steth-9", DeviceEvent(EventKind.BATTERY, 0.0, 41))  # not an exam stethoscope
        assert "steth-9" not in s.slots
        assert s.context_for("steth-9", uuid.uuid4()) is None  # not an exam stethoscope
        loud = np.full(RATE // 10, 0.3, dtype=np.float32)
        s.offer("steth-7", AudioBlock(loud, RATE, RATE, 1.0))
        frame = s.monitor.latest("steth-7")
        assert frame is not None and frame.contact and frame.captured_at == pytest.approx(1.1)
        s.event("steth-7", DeviceEvent(EventKind.CONTACT_CHANGED, 0.0, False))
        s.offer("steth-7", AudioBlock(loud, RATE, RATE + RATE // 10, 1.1))
        frame = s.monitor.latest("steth-7")
        assert frame is not None and not frame.contact  # the chest piece says it is off
        s.event("steth-7", DeviceEvent(EventKind.CONTACT_CHANGED, 0.0, True))
        s.offer("steth-7", AudioBlock(loud, RATE, RATE + 2 * RATE // 10, 1.2))
        frame = s.monitor.latest("steth-7")
        assert frame is not None and frame.contact is True
        assert s.slots["steth-7"].battery_percent == 41  # a contact event is not a battery one
        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(exam.exam_id, "aortic", "steth-7", "nurse-a", 1.0)
        segmenter.feed(loud, 0.0)
        assert segmenter.take_appended()  # the pieces the journal keeps for a restart
        version = s.changes.version
        s.detach("steth-7")
        assert not s.slots["steth-7"].connected and s.monitor.latest("steth-7") is None
        assert s.changes.version == version + 1
        s.store.close()

    asyncio.run(main())


def test_the_newest_doctors_requests_are_kept(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        now = datetime.now(tz=UTC)
        ids = [uuid.uuid4() for _ in range(MAX_REQUESTS + 1)]
        before = time.time()
        for n, command_id in enumerate(ids):
            h.service.requested(messages.CommandMessage(
                command_id=command_id, action="record_request", by=f"dr-{n}", at=now,
                resident="res-1", auscultation_site="trachea", duration_s=20.0))  # fmt: skip
            assert len(h.service.requests) == min(n + 1, MAX_REQUESTS)
        assert list(h.service.requests) == ids[1:]  # the oldest let go
        last = h.service.requests[ids[-1]]
        assert (last.request_id, last.resident, last.site, last.duration_s, last.by) == (
            ids[-1], "res-1", "trachea", 20.0, f"dr-{MAX_REQUESTS}")  # fmt: skip
        assert before <= last.at <= time.time()
        h.service.store.close()

    asyncio.run(main())


def test_every_change_moves_the_version_the_page_waits_on(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        changes = h.service.changes
        waiting = changes.event
        assert changes.version == 0
        h.service.add_device("steth-3")
        assert changes.version == 1 and waiting.is_set() and not changes.event.is_set()
        h.service.add_device("steth-4")
        assert changes.version == 2
        h.service.store.close()

    asyncio.run(main())


def test_a_button_on_no_exam_stethoscope_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        h.service.event("steth-9", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))  # not configured
        h.service.event("steth-2", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))  # not connected
        h.service.store.close()

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    assert _lines(caplog) == [
        f"event=button_ignored device={d} reason=no exam uses this stethoscope"
        for d in ("steth-9", "steth-2")
    ]


def test_a_holder_without_a_name_is_said_as_what_holds_it(tmp_path: Path) -> None:
    # The local API passes the staff id as given; an empty one still gets a readable refusal.
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        first = await s.open_exam("res-1", "", "", "heart-4")
        second = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        await s.record(first.exam_id, "aortic", "steth-1", "", 1.0)
        with pytest.raises(DeviceBusyError, match=r"^stethoscope steth-1 is in use by another "
                           r"recording$"):  # fmt: skip
            await s.record(first.exam_id, "aortic", "steth-1", "nurse-b")
        with pytest.raises(DeviceBusyError, match=r"^stethoscope steth-1 is in use by another "
                           r"exam$"):  # fmt: skip
            await s.record(second.exam_id, "aortic", "steth-1", "nurse-b")
        s.store.close()

    asyncio.run(main())


def test_a_doctors_answer_is_kept_as_it_came_on_the_wire(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        exam = await h.service.open_exam("res-1", "nurse-a", "", "heart-4")
        answer = messages.ExamAnswerMessage(exam_id=exam.exam_id, by="dr-b",
                                            disposition="re-record", note="mitral again",
                                            at=datetime.now(tz=UTC))  # fmt: skip
        await h.service.answered(answer)
        assert await h.service.answers(exam.exam_id) == [json.loads(messages.to_json(answer))]
        h.service.store.close()

    asyncio.run(main())


def test_her_own_running_recording_is_still_recording_not_in_use_by_her(
    tmp_path: Path,
) -> None:
    # Before: the nurse tapping Record again while her recording ran read "Stethoscope steth-1
    # is in use by Marie", Marie being herself. A colleague is still told who holds it.
    async def main() -> tuple[ExamStateError, DeviceBusyError]:
        s = Harness(tmp_path).service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        with pytest.raises(ExamStateError, match=f"^{STILL_RUNNING}$") as hers:
            await s.record(exam.exam_id, "pulmonic", "steth-1", "nurse-a")
        with pytest.raises(DeviceBusyError) as colleague:
            await s.record(exam.exam_id, "pulmonic", "steth-1", "nurse-b")
        s.store.close()
        return hers.value, colleague.value

    hers, colleague = asyncio.run(main())
    assert hers.words == "still_recording"
    assert colleague.words == "device_busy" and colleague.values["holder"] == "nurse-a"


def test_a_holder_is_named_in_the_page_s_words_only_when_it_has_a_staff_id(
    tmp_path: Path,
) -> None:
    async def main() -> list[tuple[str | None, dict[str, object]]]:
        s = Harness(tmp_path).service
        s.attach("steth-1", RATE)
        s.attach("steth-2", RATE)
        unnamed = await s.open_exam("res-1", "", "", "heart-4")  # the local API takes ""
        named = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        other = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        await s.record(unnamed.exam_id, "aortic", "steth-1", "", 1.0)
        await s.record(named.exam_id, "aortic", "steth-2", "nurse-a", 1.0)
        out = []
        asks = [(unnamed.exam_id, "steth-1"), (other.exam_id, "steth-1"),
                (named.exam_id, "steth-2"), (other.exam_id, "steth-2")]  # fmt: skip
        for exam_id, device in asks:
            with pytest.raises(DeviceBusyError) as busy:  # the recording's holder, the exam's
                await s.record(exam_id, "pulmonic", device, "nurse-b")
            out.append((busy.value.words, dict(busy.value.values)))
        s.store.close()
        return out

    assert asyncio.run(main()) == [
        ("device_in_use", {"device": "steth-1"}),
        ("device_in_use", {"device": "steth-1"}),
        ("device_busy", {"device": "steth-2", "holder": "nurse-a"}),
        ("device_busy", {"device": "steth-2", "holder": "nurse-a"}),
    ]


def test_her_own_other_open_exam_holding_the_stethoscope_is_named_by_its_resident(
    tmp_path: Path,
) -> None:
    # Before: a nurse who left one exam open and started another read "Stethoscope steth-1 is
    # in use by Marie", Marie being herself, and no word of which exam to finish.
    async def main() -> tuple[DeviceHeldByOwnExamError, DeviceBusyError]:
        s = Harness(tmp_path).service
        s.attach("steth-1", RATE)
        left_open = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(left_open.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        await s.recorded(_captured(s, "steth-1", 1.5)[0])
        mine = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        with pytest.raises(DeviceHeldByOwnExamError) as hers:
            await s.record(mine.exam_id, "aortic", "steth-1", "nurse-a")
        theirs = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        with pytest.raises(DeviceBusyError) as colleague:  # a colleague is told who holds it
            await s.record(theirs.exam_id, "aortic", "steth-1", "nurse-b")
        s.store.close()
        return hers.value, colleague.value

    hers, colleague = asyncio.run(main())
    assert hers.words == "device_own_exam"
    assert hers.values == {"device": "steth-1", "resident": "res-1"}
    assert str(hers).startswith("stethoscope steth-1 is held by your other exam ")
    assert colleague.words == "device_busy" and colleague.values["holder"] == "nurse-a"


def test_a_recording_s_length_and_state_as_a_waiting_cli_asks_them(tmp_path: Path) -> None:
    # `stetho exam record` waits on these: the length it bounds its wait by, then `running`
    # (None) until the recording is kept with its exam, then the recording as kept.
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "custom", ("mitral", "aortic"))
        assert s.length_for(exam.exam_id, None) == 4.0  # the configured length
        assert s.length_for(exam.exam_id, "2,5") == 2.5  # as the form sends it
        s.asked_s[exam.exam_id] = 6.0  # a doctor's request asked for 6 s
        assert s.length_for(exam.exam_id, None) == 6.0
        assert s.length_for(exam.exam_id, 3) == 3.0  # the nurse's own wins
        with pytest.raises(RecordingLengthError):
            s.length_for(exam.exam_id, 0.5)
        del s.asked_s[exam.exam_id]
        rid = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a", 4.5)
        assert await s.recording(exam.exam_id, rid) is None  # running
        await h.play("steth-1", "normal", 4.6)
        kept = await s.recording(exam.exam_id, rid)
        assert kept is not None and kept.recording_id == rid and kept.site == "mitral"
        assert kept.duration_s == 4.5 and kept.acceptable
        with pytest.raises(UnknownExamError) as unknown:
            await s.recording(exam.exam_id, uuid.UUID(int=9))
        assert str(unknown.value) == (
            f"exam {exam.exam_id} has no recording {uuid.UUID(int=9)}: it is unknown, or the "
            "agent restarted while it ran"
        )
        second = await s.open_exam("res-1", "nurse-a", "", "custom", ("mitral",))
        running = await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a")
        with pytest.raises(UnknownExamError, match=f"has no recording {running}: "):
            await s.recording(second.exam_id, running)  # another exam's
        assert await s.recording(exam.exam_id, running) is None

    asyncio.run(main())


def test_a_recording_dropped_before_any_sound_is_said_not_waited_for(tmp_path: Path) -> None:
    # Before: a recording stopped (or its stethoscope gone) before its first block was dropped
    # by the segmenter, yet read as running: `stetho exam record` waited its whole bound.
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "custom", ("mitral", "aortic"))
        stopped = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a", 4.0)
        assert s.stop("steth-1")
        assert await s.recording(exam.exam_id, stopped) is None  # the stop takes the next block
        await h.play("steth-1", "normal", 0.1)
        with pytest.raises(UnknownExamError) as caught:
            await s.recording(exam.exam_id, stopped)
        assert str(caught.value) == (
            f"recording {stopped} of exam {exam.exam_id} was stopped before any sound arrived: "
            "nothing was kept; record the site again"
        )
        cut = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a", 4.0)
        assert await s.recording(exam.exam_id, cut) is None
        slot = s.slots["steth-1"]
        assert slot.segmenter is not None and slot.segmenter.flush() is None  # link lost
        s.detach("steth-1")
        with pytest.raises(UnknownExamError, match=f"recording {cut} of exam "):
            await s.recording(exam.exam_id, cut)
        s.attach("steth-1", RATE)  # back: a new segmenter, the slot still knows
        with pytest.raises(UnknownExamError, match="was stopped before any sound arrived"):
            await s.recording(exam.exam_id, cut)
        kept = await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a", 1.0)
        assert await s.recording(exam.exam_id, kept) is None  # a new one runs as before
        await h.play("steth-1", "normal", 1.1)
        assert (await s.recording(exam.exam_id, kept)) is not None

    asyncio.run(main())


def test_a_running_recording_s_seconds_of_sound_are_its_own(tmp_path: Path) -> None:
    # The page and `stetho exam record` read these while a recording runs: the seconds it
    # holds, not another stethoscope's nor the length asked; 0.0 once it ends or is unknown.
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        s.attach("steth-2", RATE)
        s.add_device("steth-3")  # paired, never connected: no segmenter
        first = await s.open_exam("res-1", "nurse-a", "", "custom", ("mitral",))
        second = await s.open_exam("res-1", "nurse-b", "", "custom", ("mitral",))
        other = await s.record(first.exam_id, "mitral", "steth-1", "nurse-a", 4.0)
        ours = await s.record(second.exam_id, "mitral", "steth-2", "nurse-b", 4.0)
        await h.play("steth-1", "normal", 0.5)
        await h.play("steth-2", "normal", 1.0)
        assert s.recorded_s(ours) == 1.0  # steth-1's 0.5 s comes first in the slots
        assert s.recorded_s(other) == 0.5
        # The one walk both read (the page's bar by exam): each running one, in slot order.
        assert s.running() == [
            Progress("steth-1", other, first.exam_id, 0.5, 4.0),
            Progress("steth-2", ours, second.exam_id, 1.0, 4.0),
        ]
        await h.play("steth-2", "normal", 3.1)  # ended and kept
        assert await s.recording(second.exam_id, ours) is not None
        assert s.recorded_s(ours) == 0.0
        assert [p.recording_id for p in s.running()] == [other]
        assert s.recorded_s(uuid.UUID(int=9)) == 0.0

    asyncio.run(main())
