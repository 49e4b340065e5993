"""The exam service with a real store, the real analysis and a collecting outbox: the rules the
page, the CLI, the button and the doctor's request all share."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.exam import (
    DeviceBusyError,
    DeviceUnavailableError,
    Exam,
    ExamState,
    ExamStateError,
    ExamStore,
    RequestAnsweredError,
    Resident,
    ResidentNotHereError,
    UnknownResidentError,
)
from edge_agent.exam.service import ExamService
from edge_agent.pipeline.recordings import process_capture
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages
from firmware_bridge.sources import DeviceEvent, EventKind
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize

RATE = 4000


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.sent: list[OutboundMessage] = []
        store = ExamStore(tmp / "exams" / "exams.sqlite3")
        store.add_residents([Resident("res-1", "Room 1")])
        self.service = ExamService(store, "home", "pi", ["steth-1", "steth-2"], self._put, 4.0)

    async def _put(self, out: list[OutboundMessage]) -> None:
        self.sent.extend(out)

    def exams_sent(self) -> list[dict[str, object]]:
        return [json.loads(m.payload) for m in self.sent if m.topic == "stetho/v1/home/exams"]

    async def play(self, device: str, scenario: str, seconds: float) -> None:
        """Feed the attached segmenter; accept what it completes as the daemon would."""
        slot = self.service.slots[device]
        assert slot.segmenter is not None
        audio = synthesize(scenario, seconds, RATE, seed=2).samples
        for start in range(0, len(audio), RATE // 10):
            for capture in slot.segmenter.feed(audio[start : start + RATE // 10], start / RATE):
                ctx = self.service.context_for(device, capture.recording_id)
                assert ctx is not None
                done = process_capture(capture, ctx, TriageThresholds())
                await self.service.recorded(done)


def test_an_exam_from_open_to_done(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "cough", "custom", ("mitral", "aortic"))
        await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        await h.play("steth-1", "poor-contact", 4.5)
        assert exam.site_status("mitral").state == "rerecord"
        await s.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        await h.play("steth-1", "normal", 4.5)
        assert exam.site_status("mitral").state == "done" and exam.next_site() == "aortic"
        s.event("steth-1", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))  # next site, by button
        await asyncio.sleep(0.05)
        assert s.slots["steth-1"].segmenter is not None and s.slots["steth-1"].segmenter.busy
        await h.play("steth-1", "normal", 1.0)
        s.event("steth-1", DeviceEvent(EventKind.BUTTON_PRESSED, 1.0))  # pressed again: stop
        await h.play("steth-1", "normal", 0.5)
        (short,) = [r for r in exam.recordings if r.site == "aortic"]
        assert short.duration_s == pytest.approx(1.0) and not short.partial
        with pytest.raises(ExamStateError, match="cannot go"):
            exam.move(ExamState.OPEN, 0.0)
        await s.close(exam.exam_id, "nurse-a")
        events = [e["event"] for e in h.exams_sent()]
        assert events == ["opened", "site_recorded", "site_recorded", "site_recorded", "closed"]
        recordings = [json.loads(m.payload) for m in h.sent if m.topic.endswith("/recordings")]
        assert recordings == []  # the service publishes exams; recordings go through the daemon
        s.store.close()

    asyncio.run(main())


def test_refusals_name_the_reason(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        s = h.service
        with pytest.raises(UnknownResidentError):
            await s.open_exam("res-9", "nurse-a", "", "heart-4")
        a = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        b = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        with pytest.raises(DeviceUnavailableError, match="not connected") as off:
            await s.record(a.exam_id, "aortic", "steth-1", "nurse-a")
        assert off.value.device == "steth-1"  # the page names it
        with pytest.raises(DeviceUnavailableError, match="timed monitoring") as unknown:
            await s.record(a.exam_id, "aortic", "steth-9", "nurse-a")
        assert unknown.value.device == "steth-9"
        s.attach("steth-1", RATE)
        await s.record(a.exam_id, "aortic", "steth-1", "nurse-a")
        with pytest.raises(DeviceBusyError, match="nurse-a"):  # one wins, the other sees who
            await s.record(b.exam_id, "aortic", "steth-1", "nurse-b")
        with pytest.raises(ExamStateError, match="still running"):
            await s.close(a.exam_id, "nurse-a")
        s.store.close()

    asyncio.run(main())


def test_open_exams_come_back_after_a_restart(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        exam = await h.service.open_exam("res-1", "nurse-a", "", "heart-4")
        h.service.store.close()
        again = Harness(tmp_path)
        assert await again.service.recover() == 1
        assert again.service.active(exam.exam_id).sites == exam.sites
        again.service.store.close()

    asyncio.run(main())


def test_a_doctors_answer_and_request_reach_the_page(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        exam = await h.service.open_exam("res-1", "nurse-a", "", "heart-4")
        now = datetime.now(tz=UTC)
        answer = messages.ExamAnswerMessage(
            exam_id=exam.exam_id, by="dr-b", disposition="gp-visit-24h", note="at 4 pm", at=now
        )
        await h.service.answered(answer)
        assert (await h.service.answers(exam.exam_id))[0]["disposition"] == "gp-visit-24h"
        h.service.requested(messages.CommandMessage(
            command_id=uuid.uuid4(), action="record_request", by="dr-b", at=now,
            resident="res-1", auscultation_site="trachea"))  # fmt: skip
        assert [r.site for r in h.service.requests.values()] == ["trachea"]
        h.service.store.close()

    asyncio.run(main())


def test_a_doctors_id_in_an_answer_from_the_broker_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The answer's `by` is any 1-80 characters a broker client sends on .../exams/answers;
    # exam_answered (and exam_answer_unknown, since gone) wrote it raw, so a newline wrote a
    # line of the sender's choosing in the care home's journal.
    forged = "dr-b\nevent=exam_answered exam=x by=dr-a"

    async def main() -> None:
        h = Harness(tmp_path)
        exam = await h.service.open_exam("res-1", "nurse-a", "", "heart-4")
        now = datetime.now(tz=UTC)
        for exam_id in (exam.exam_id, uuid.uuid4()):  # an open exam, then one it never had
            answer = messages.ExamAnswerMessage(
                exam_id=exam_id, by=forged, disposition="no-action", at=now
            )
            await h.service.answered(answer)
        h.service.store.close()

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    said = [r.getMessage() for r in caplog.records if "answer" in r.getMessage()]
    assert [line.split()[0] for line in said] == ["event=exam_answered"]  # the unknown: inbound
    assert not any("\n" in line for line in said)
    assert all('by="dr-b\\nevent=exam_answered exam=x by=dr-a"' in line for line in said)


def test_a_staff_name_from_the_local_api_cannot_forge_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `stetho exam start/close --staff` reach the service unchecked (the local socket is the
    # agent user's own); the three exam log lines wrote the name raw.
    forged = "nurse-a\nevent=exam_done exam=x by=dr"

    async def main() -> None:
        s = Harness(tmp_path).service
        exam = await s.open_exam("res-1", forged, "", "heart-4")
        await s.close(exam.exam_id, forged, abandon=True)

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("event=exam_")]
    assert len(said) == 2 and not any("\n" in line for line in said)
    assert 'staff="nurse-a\\nevent=exam_done exam=x by=dr"' in said[0]


def test_an_accepted_request_records_for_as_long_as_the_doctor_asked(tmp_path: Path) -> None:
    # Before: accepting opened the exam of the site, and its recording lasted the exam's
    # default (4 s here) whatever the doctor had asked for (12 s); a re-record too.
    async def main() -> None:
        h = Harness(tmp_path)
        h.service.attach("steth-1", RATE)
        h.service.requested(messages.CommandMessage(
            command_id=uuid.uuid4(), action="record_request", by="dr-b",
            at=datetime.now(tz=UTC), resident="res-1", auscultation_site="mitral",
            duration_s=12.0))  # fmt: skip
        (wanted,) = h.service.requests.values()
        exam = await h.service.accept(wanted.request_id, "nurse-a")
        assert exam.sites == ("mitral",) and exam.reason == "requested by dr-b"
        assert not h.service.requests
        await h.service.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        segmenter = h.service.slots["steth-1"].segmenter
        assert segmenter is not None and segmenter.progress() == (0.0, 12.0)
        with pytest.raises(RequestAnsweredError, match=r"^this request was already answered$"):
            await h.service.accept(wanted.request_id, "nurse-b")
        h.service.store.close()

    asyncio.run(main())


def test_a_request_accepted_on_two_tablets_at_once_opens_one_exam(tmp_path: Path) -> None:
    # Before: both accepts read the request, then both awaited open_exam (its save runs in a
    # thread) before either removed it: two exams for one request, and no refusal.
    async def main() -> list[object]:
        h = Harness(tmp_path)
        h.service.requested(messages.CommandMessage(
            command_id=uuid.uuid4(), action="record_request", by="dr-b",
            at=datetime.now(tz=UTC), resident="res-1", auscultation_site="mitral"))  # fmt: skip
        (wanted,) = h.service.requests.values()
        out = await asyncio.gather(h.service.accept(wanted.request_id, "nurse-a"),
                                   h.service.accept(wanted.request_id, "nurse-b"),
                                   return_exceptions=True)  # fmt: skip
        assert len(h.service.exams) == 1
        h.service.store.close()
        return list(out)

    first, second = asyncio.run(main())
    assert isinstance(first, Exam) and isinstance(second, RequestAnsweredError)


def test_a_request_whose_exam_cannot_open_is_still_there_to_accept(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        h.service.requested(messages.CommandMessage(
            command_id=uuid.uuid4(), action="record_request", by="dr-b",
            at=datetime.now(tz=UTC), resident="res-404", auscultation_site="mitral"))  # fmt: skip
        (wanted,) = h.service.requests.values()
        with pytest.raises(ResidentNotHereError):  # the nurse adds the resident, then accepts
            await h.service.accept(wanted.request_id, "nurse-a")
        assert h.service.requests == {wanted.request_id: wanted}
        h.service.store.close()

    asyncio.run(main())


def test_an_exam_ended_forgets_the_length_its_request_asked(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        h.service.requested(messages.CommandMessage(
            command_id=uuid.uuid4(), action="record_request", by="dr-b",
            at=datetime.now(tz=UTC), resident="res-1", auscultation_site="mitral",
            duration_s=12.0))  # fmt: skip
        (wanted,) = h.service.requests.values()
        exam = await h.service.accept(wanted.request_id, "nurse-a")
        assert h.service.asked_s == {exam.exam_id: 12.0}
        await h.service.close(exam.exam_id, "nurse-a", abandon=True)
        assert h.service.asked_s == {}
        h.service.store.close()

    asyncio.run(main())


def test_who_is_recording_now(tmp_path: Path) -> None:
    # The idle sign-out asks this (edge_agent.web.idle); it used to read the slots itself.
    async def main() -> list[tuple[bool, bool, bool]]:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        s.attach("steth-2", RATE)
        asked = []

        def who() -> None:
            asked.append(tuple(s.recording_for(n) for n in ("nurse-a", "nurse-b", "nurse-c")))

        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        who()  # an exam open, nothing recording
        await s.record(exam.exam_id, "aortic", "steth-1", "nurse-b", 1.0)  # her colleague's
        who()
        await h.play("steth-1", "normal", 1.5)
        who()  # the recording ended: the stethoscope stays with her exam, not recording
        s.event("steth-1", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))  # the next site
        await asyncio.sleep(0.05)
        who()
        s.stop("steth-1")
        await h.play("steth-1", "normal", 0.5)
        who()
        s.store.close()
        return asked

    assert asyncio.run(main()) == [
        (False, False, False),
        (True, True, False),
        (False, False, False),
        (True, False, False),
        (False, False, False),
    ]


def _request(h: Harness, resident: str = "res-1") -> uuid.UUID:
    h.service.requested(messages.CommandMessage(
        command_id=uuid.uuid4(), action="record_request", by="dr-b",
        at=datetime.now(tz=UTC), resident=resident, auscultation_site="mitral"))  # fmt: skip
    (wanted,) = h.service.requests.values()
    return wanted.request_id


def test_her_second_tap_while_the_first_opens_lands_on_the_same_exam(tmp_path: Path) -> None:
    # Before: the second tap, sent while the first was opening the exam (its save runs in a
    # thread), was told "this request was already answered".
    async def main() -> list[object]:
        h = Harness(tmp_path)
        request_id = _request(h)
        taps = await asyncio.gather(h.service.accept(request_id, "nurse-a"),
                                    h.service.accept(request_id, "nurse-a"),
                                    h.service.accept(request_id, "nurse-b"),
                                    return_exceptions=True)  # fmt: skip
        assert len(h.service.exams) == 1 and not h.service.requests.opening
        again = await h.service.accept(request_id, "nurse-a")  # a third tap, after
        h.service.store.close()
        return [*taps, again]

    first, second, other, again = asyncio.run(main())
    assert isinstance(first, Exam) and second is first and again is first
    assert isinstance(other, RequestAnsweredError)  # another nurse is still refused


def test_her_second_tap_on_a_request_that_cannot_open_is_told_why(tmp_path: Path) -> None:
    async def main() -> list[object]:
        h = Harness(tmp_path)
        request_id = _request(h, "res-404")
        taps = await asyncio.gather(h.service.accept(request_id, "nurse-a"),
                                    h.service.accept(request_id, "nurse-a"),
                                    return_exceptions=True)  # fmt: skip
        assert list(h.service.requests) == [request_id]  # still there to accept
        h.service.store.close()
        return list(taps)

    first, second = asyncio.run(main())
    assert isinstance(first, ResidentNotHereError) and second is first


def test_a_second_tap_while_a_cancelled_first_opened_is_refused(tmp_path: Path) -> None:
    async def main() -> object:
        h = Harness(tmp_path)
        request_id = _request(h)
        first = asyncio.create_task(h.service.accept(request_id, "nurse-a"))
        await asyncio.sleep(0)  # the first is opening the exam
        second = asyncio.create_task(h.service.accept(request_id, "nurse-a"))
        await asyncio.sleep(0)  # the second waits for it
        first.cancel()
        outcome = (await asyncio.gather(second, return_exceptions=True))[0]
        assert not h.service.requests.opening
        await asyncio.sleep(0.1)  # the cancelled save's thread ends before the store closes
        h.service.store.close()
        return outcome

    assert isinstance(asyncio.run(main()), RequestAnsweredError)
