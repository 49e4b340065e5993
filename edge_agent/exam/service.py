"""The exam service: the async shell between the exam core, the stethoscopes and the outbox.

The page, the CLI, the stethoscope's button and a doctor's `record_request` all end here, so
the same rules apply whoever asks. The store is called through `asyncio.to_thread` (SQLite
fsyncs must not hold the event loop); the device loops call only the non-awaiting methods.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from edge_agent.config import kind_at_site
from edge_agent.exam.errors import (
    DeviceBusyError,
    DeviceHeldByOwnExamError,
    DeviceUnavailableError,
    ExamStateError,
    RecordingTooLongError,
    UnknownExamError,
)
from edge_agent.exam.model import (
    AgeBand,
    Exam,
    ExamState,
    SiteRecording,
    check_age_band,
    recording_length,
)
from edge_agent.exam.monitor import LiveMonitor
from edge_agent.exam.protocols import CUSTOM, check_site, resolve_protocol
from edge_agent.exam.record_requests import MAX_REQUESTS as MAX_REQUESTS
from edge_agent.exam.record_requests import RecordRequest as RecordRequest
from edge_agent.exam.record_requests import RecordRequests
from edge_agent.exam.residents import Resident, check_ref, parse_residents_csv
from edge_agent.exam.store import ExamStore
from edge_agent.exam.verdict import findings_of, verdict_of
from edge_agent.exam.wire import exam_message
from edge_agent.pipeline.on_demand import OnDemandSegmenter
from edge_agent.pipeline.recordings import ProcessedRecording
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.capture_limit import CaptureGate
from edge_agent.wire import messages
from edge_agent.wire.recording import RecordingContext
from firmware_bridge.sources import AudioBlock, DeviceEvent, EventKind
from stetho_common.logfmt import quote

log = logging.getLogger(__name__)
BUTTON = "button"  # the holder named when the stethoscope's own button started a recording


@dataclass
class DeviceSlot:
    """A stethoscope the exams may use, while its device loop has it connected."""

    device: str
    segmenter: OnDemandSegmenter | None = None
    claimed_by: uuid.UUID | None = None  # the exam using it; released when the exam ends
    claimed_staff: str | None = None
    battery_percent: int | None = None
    recording: uuid.UUID | None = None
    dropped: uuid.UUID | None = None  # its segmenter's last dropped recording, once detached

    def dropped_it(self, recording_id: uuid.UUID) -> bool:
        """Whether this recording was stopped or cut before any sound: it will never be kept."""
        last = self.segmenter.last_dropped if self.segmenter is not None else None
        return recording_id in (last, self.dropped)

    @property
    def connected(self) -> bool:
        return self.segmenter is not None


@dataclass(frozen=True)
class Progress:
    """A recording running on one stethoscope: its seconds of sound so far, and asked."""

    device: str
    recording_id: uuid.UUID | None
    exam_id: uuid.UUID | None  # the exam holding the stethoscope, if one does
    done_s: float
    wanted_s: float


@dataclass
class _Changes:
    """A counter the page waits on: every change to exams, devices or requests bumps it."""

    version: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def bump(self) -> None:
        self.version += 1
        self.event.set()
        self.event = asyncio.Event()


class ExamService:
    def __init__(
        self,
        store: ExamStore,
        site: str,
        agent: str,
        devices: list[str],
        publish: Callable[[list[OutboundMessage]], Awaitable[object]],
        default_duration_s: float,
        gate: CaptureGate | None = None,
    ) -> None:
        self.store, self.site, self.agent = store, site, agent
        self.gate = gate  # refuses a recording the broker could not take, before it starts
        self.slots = {d: DeviceSlot(d) for d in devices}
        self._publish = publish
        self.default_duration_s = default_duration_s
        self.exams: dict[uuid.UUID, Exam] = {}  # exams not finished, kept in memory
        self.requests = RecordRequests()  # a doctor's, waiting on the page; who took which
        # The length a doctor asked for, by the exam opened for it; in memory only: after a
        # restart such an exam records the default length.
        self.asked_s: dict[uuid.UUID, float] = {}
        self.monitor = LiveMonitor()
        self.changes = _Changes()
        self._button_tasks: set[asyncio.Task[None]] = set()

    async def recover(self) -> int:
        """Reload the exams a previous run left open or recording (restart, power cut)."""
        found = await asyncio.to_thread(self.store.exams, (ExamState.OPEN, ExamState.RECORDING))
        for exam in found:
            self.exams[exam.exam_id] = exam
        log.info("event=exams_recovered count=%d", len(found))
        return len(found)

    # Residents ------------------------------------------------------------------------------

    async def add_resident(self, ref: str, label: str) -> None:
        await asyncio.to_thread(self.store.add_residents, [Resident(ref, label)])
        log.info("event=resident_saved resident=%s", ref)  # the label is never logged

    async def import_residents(self, text: str) -> tuple[int, int]:
        residents = parse_residents_csv(text)
        added, updated = await asyncio.to_thread(self.store.add_residents, residents)
        log.info("event=residents_imported added=%d updated=%d", added, updated)
        return added, updated

    async def search_residents(self, text: str) -> list[Resident]:
        return await asyncio.to_thread(self.store.search_residents, text)

    async def resident(self, ref: str) -> Resident:
        return await asyncio.to_thread(self.store.resident, check_ref(ref))

    # Exams ----------------------------------------------------------------------------------

    async def open_exam(
        self,
        resident: str,
        staff: str,
        reason: str,
        protocol: str,
        custom_sites: tuple[str, ...] = (),
        age_band: AgeBand = "adult",
    ) -> Exam:
        await self.resident(resident)  # unknown resident: a clear refusal
        check_age_band(age_band)
        exam = Exam(uuid.uuid4(), resident, staff, reason.strip(), protocol,
                    resolve_protocol(protocol, custom_sites), time.time(), age_band)  # fmt: skip
        await self._save_and_publish(exam, "opened")
        log.info("event=exam_opened exam=%s resident=%s staff=%s protocol=%s age_band=%s",
                 exam.exam_id, resident, quote(staff), protocol, age_band)  # fmt: skip
        return exam

    async def exam(self, exam_id: uuid.UUID) -> Exam:
        if exam_id in self.exams:
            return self.exams[exam_id]
        return await asyncio.to_thread(self.store.exam, exam_id)

    def active(self, exam_id: uuid.UUID) -> Exam:
        exam = self.exams.get(exam_id)
        if exam is None:
            raise UnknownExamError(f"no open exam {exam_id}: it is finished or unknown")
        return exam

    async def record(
        self,
        exam_id: uuid.UUID,
        site: str,
        device: str,
        staff: str,
        duration_s: float | None = None,
    ) -> uuid.UUID:
        """Start a recording of `site` on `device` for the exam; return its recording id.
        `duration_s` None: the doctor's request's length, else the configured one."""
        length_s = self.length_for(exam_id, duration_s)
        exam = self.active(exam_id)
        exam.check_recordable(check_site(site))
        slot = self._slot_for(device, exam, staff)
        assert slot.segmenter is not None
        ctx = RecordingContext(self.site, self.agent, device, exam.resident, site,
                               kind_at_site(site), exam.exam_id, exam.age_band)  # fmt: skip
        if slot.segmenter.busy:
            holder = slot.segmenter.holder  # a staff id, or BUTTON: no one to name
            if staff and holder == staff:  # her own recording: not "in use by" her own name
                raise _still_recording()
            named = bool(holder) and holder != BUTTON
            raise DeviceBusyError(device, holder or "another recording", named=named)
        self._check_fits(device, length_s, slot.segmenter.sample_rate_hz)
        rid = slot.segmenter.start(ctx, length_s, staff)
        slot.claimed_by, slot.claimed_staff, slot.recording = exam.exam_id, exam.staff, rid
        was_open = exam.state is ExamState.OPEN
        exam.begin_recording(site, time.time())
        if was_open:
            await asyncio.to_thread(self.store.save_exam, exam)
        log.info("event=exam_recording_started exam=%s site=%s device=%s recording=%s by=%s",
                 exam.exam_id, site, device, rid, quote(staff))  # fmt: skip
        self.changes.bump()
        return rid

    def length_for(self, exam_id: uuid.UUID, duration_s: float | None) -> float:
        """The seconds a recording of the exam lasts when `duration_s` is asked (checked)."""
        return recording_length(duration_s) or self.asked_s.get(exam_id) or self.default_duration_s

    async def recording(self, exam_id: uuid.UUID, recording_id: uuid.UUID) -> SiteRecording | None:
        """The exam's recording once analysed and kept; None while it runs or is analysed."""
        exam = await self.exam(exam_id)
        kept = next((r for r in exam.recordings if r.recording_id == recording_id), None)
        if kept is not None:
            return kept
        ours = [s for s in self.slots.values()
                if s.recording == recording_id and s.claimed_by == exam_id]  # fmt: skip
        if not ours:
            raise UnknownExamError(  # a restart forgets the recordings that were running
                f"exam {exam_id} has no recording {recording_id}: "
                "it is unknown, or the agent restarted while it ran"
            )
        if ours[0].dropped_it(recording_id):
            raise UnknownExamError(
                f"recording {recording_id} of exam {exam_id} was stopped before any sound "
                "arrived: nothing was kept; record the site again"
            )
        return None

    def running(self) -> list[Progress]:
        """Each recording running now, in the slots' order: the API reads one by recording
        (:meth:`recorded_s`), the nurse's page one by exam."""
        found = []
        for slot in self.slots.values():
            progress = slot.segmenter.progress() if slot.segmenter else None
            if progress is not None:
                found.append(Progress(slot.device, slot.recording, slot.claimed_by, *progress))
        return found

    def recorded_s(self, recording_id: uuid.UUID) -> float:
        """Seconds of sound a running recording holds so far (0.0 once it no longer runs)."""
        return next((p.done_s for p in self.running() if p.recording_id == recording_id), 0.0)

    def _check_fits(self, device: str, duration_s: float, rate_hz: int) -> None:
        if self.gate is None:  # no broker limit known to check against
            return
        refused = self.gate.check(device, duration_s, rate_hz, "exam.duration_s")
        if refused is not None:
            raise RecordingTooLongError(device, duration_s, refused.max_s, refused.limit.bytes)

    def _slot_for(self, device: str, exam: Exam, staff: str = "") -> DeviceSlot:
        slot = self.slots.get(device)
        if slot is None:
            raise DeviceUnavailableError(
                device, f"no stethoscope {device!r} for exams (unknown, or set to timed monitoring)"
            )
        if not slot.connected:
            raise DeviceUnavailableError(device, f"stethoscope {device} is not connected")
        if slot.claimed_by not in (None, exam.exam_id):
            who = slot.claimed_staff
            holding = self.exams.get(slot.claimed_by)
            if staff and who == staff and holding is not None:  # her own other exam
                raise DeviceHeldByOwnExamError(device, str(holding.exam_id), holding.resident)
            raise DeviceBusyError(device, who or "another exam", named=bool(who))
        return slot

    def recording_for(self, staff: str) -> bool:
        """Whether a stethoscope is recording for this staff member now: for her exam (the
        chest piece's button may have started it) or started by her."""
        for slot in self.slots.values():
            holder = slot.segmenter.holder if slot.segmenter else None  # None: not recording
            if holder is not None and staff in (slot.claimed_staff, holder):
                return True
        return False

    def stop(self, device: str) -> bool:
        """Stop the device's recording early (kept, shorter); False if it was not recording."""
        slot = self.slots.get(device)
        stopped = bool(slot and slot.segmenter and slot.segmenter.stop())
        if stopped:
            log.info("event=exam_recording_stop_asked device=%s", device)
        return stopped

    async def close(self, exam_id: uuid.UUID, staff: str, abandon: bool = False) -> Exam:
        exam = self.active(exam_id)
        if any(s.segmenter and s.segmenter.busy for s in self.slots.values()
               if s.claimed_by == exam_id):  # fmt: skip
            raise _still_recording()
        (exam.abandon if abandon else exam.close)(time.time())
        del self.exams[exam_id]
        self.asked_s.pop(exam_id, None)
        for slot in self.slots.values():
            if slot.claimed_by == exam_id:
                slot.claimed_by = slot.claimed_staff = None
        await self._save_and_publish(exam, "abandoned" if abandon else "closed")
        log.info("event=exam_%s exam=%s by=%s", exam.state.value, exam_id, quote(staff))
        return exam

    async def recorded(self, processed: ProcessedRecording) -> None:
        """A recording was analysed and stored: add it to its exam and tell the doctor."""
        rec = processed.recording
        for slot in self.slots.values():
            if slot.recording == rec.recording_id:
                slot.recording = None
        if rec.exam_id is None:
            return
        exam = self.exams.get(rec.exam_id)
        if exam is None:  # finished meanwhile (or recovered after it closed): keep it anyway
            log.warning("event=exam_recording_late exam=%s recording=%s",
                        rec.exam_id, rec.recording_id)  # fmt: skip
            return
        verdict = verdict_of(rec)
        exam.add_recording(SiteRecording(
            rec.recording_id, rec.auscultation_site, rec.device, rec.started_at.timestamp(),
            rec.n_samples / rec.sample_rate_hz, verdict.acceptable, processed.level,
            verdict.codes, rec.partial, findings_of(rec.analysis), processed.alert_id,
        ))  # fmt: skip
        await self._save_and_publish(exam, "site_recorded")

    async def answered(self, answer: messages.ExamAnswerMessage) -> bool:
        """A doctor answered: keep it with the exam (finished or not) for the page. False when
        this care home holds no such exam: the inbound handler counts and logs the refusal."""
        try:
            await self.exam(answer.exam_id)
        except UnknownExamError:
            return False
        body = answer.model_dump(mode="json", by_alias=True)
        await asyncio.to_thread(self.store.add_answer, answer.exam_id, body)
        log.info("event=exam_answered exam=%s by=%s disposition=%s",
                 answer.exam_id, quote(answer.by), answer.disposition)  # fmt: skip
        self.changes.bump()
        return True

    async def answers(self, exam_id: uuid.UUID) -> list[dict[str, object]]:
        return await asyncio.to_thread(self.store.answers, exam_id)

    def requested(self, command: messages.CommandMessage) -> None:
        """A doctor's record_request: shown on the page until a nurse accepts or dismisses it."""
        self.requests.add(command)
        self.changes.bump()

    def dismiss(self, request_id: uuid.UUID) -> None:
        self.requests.pop(request_id, None)
        self.changes.bump()

    async def accept(self, request_id: uuid.UUID, staff: str, age_band: AgeBand = "adult") -> Exam:
        """Open an exam of the one site a doctor asked for, in the resident's `age_band` (the
        nurse names it: the request does not); its recordings last as long as they asked (or
        the default). Refusals and a nurse's second tap: `RecordRequests.accept`."""

        async def open_for(wanted: RecordRequest) -> Exam:
            exam = await self.open_exam(
                wanted.resident, staff, f"requested by {wanted.by}", CUSTOM, (wanted.site,),
                age_band,
            )  # fmt: skip
            if wanted.duration_s is not None:
                self.asked_s[exam.exam_id] = wanted.duration_s
            return exam

        return await self.requests.accept(request_id, staff, open_for, self.exam)

    async def _save_and_publish(self, exam: Exam, event: messages.ExamEvent) -> None:
        await asyncio.to_thread(self.store.save_exam, exam)
        if not exam.finished:
            self.exams[exam.exam_id] = exam
        await self._publish([exam_message(exam, event, self.site, self.agent, time.time())])
        self.changes.bump()

    # Called by the device loops (never await) ------------------------------------------------

    def add_device(self, device: str) -> None:
        """A stethoscope joined after the start (paired with `stetho pair`)."""
        self.slots.setdefault(device, DeviceSlot(device))
        self.changes.bump()

    def attach(self, device: str, sample_rate_hz: int) -> OnDemandSegmenter:
        """A stethoscope connected: exams may record from it through the returned segmenter."""
        slot = self.slots.setdefault(device, DeviceSlot(device))
        slot.segmenter = OnDemandSegmenter(sample_rate_hz, track_appends=True)
        self.changes.bump()
        return slot.segmenter

    def detach(self, device: str) -> None:
        slot = self.slots.get(device)
        if slot is not None:
            if slot.segmenter is not None:
                slot.dropped = slot.segmenter.last_dropped
            slot.segmenter = None
            # A recording cut short here reaches `recorded` as partial, with the nurse told.
        self.monitor.forget(device)
        self.changes.bump()

    def context_for(self, device: str, recording_id: uuid.UUID) -> RecordingContext | None:
        slot = self.slots.get(device)
        if slot is None or slot.segmenter is None:
            return None
        return slot.segmenter.context_for(recording_id)

    def button(self, device: str) -> None:
        """The chest piece's button (docs/ble-profile.md §4): stop a running recording early,
        or start the next site of the exam this stethoscope serves."""
        if self.stop(device):
            return
        slot = self.slots.get(device)
        exam = self.exams.get(slot.claimed_by) if slot and slot.claimed_by else None
        site = exam.next_site() if exam else None
        if exam is None or site is None:
            log.info(
                "event=button_ignored device=%s reason=%s",
                device,
                "no exam uses this stethoscope" if exam is None else "every site is done",
            )
            return  # fmt: skip
        task = asyncio.get_running_loop().create_task(
            self._record_quietly(exam.exam_id, site, device), name=f"button-{device}"
        )
        self._button_tasks.add(task)
        task.add_done_callback(self._button_tasks.discard)

    async def _record_quietly(self, exam_id: uuid.UUID, site: str, device: str) -> None:
        try:
            await self.record(exam_id, site, device, BUTTON)
        except Exception as exc:  # the button has no screen: log it, the page shows the state
            log.warning("event=button_refused device=%s reason=%r", device, str(exc))

    def battery(self, device: str, percent: int) -> None:
        slot = self.slots.get(device)
        if slot is not None:
            slot.battery_percent = percent

    def offer(self, device: str, block: AudioBlock) -> None:
        """Every block of an exam stethoscope: the live page's waveform, level and contact."""
        self.monitor.offer(device, block.samples, block.sample_rate_hz,
                           block.start_time + block.duration_s)  # fmt: skip

    def event(self, device: str, event: DeviceEvent) -> None:
        if event.kind is EventKind.BUTTON_PRESSED:
            self.button(device)
        elif event.kind is EventKind.BATTERY:
            self.battery(device, int(event.value))
        elif event.kind is EventKind.CONTACT_CHANGED:
            self.monitor.set_contact(device, bool(event.value))


def _still_recording() -> ExamStateError:
    return ExamStateError(
        "a recording is still running: wait for it or stop it first", "still_recording"
    )
