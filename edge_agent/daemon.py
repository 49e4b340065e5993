"""The agent's single root coroutine: devices, analysis, outbox and publisher in one TaskGroup.

Cancelling `run` (SIGTERM, SIGINT) closes each recording in progress as a partial
recording in the outbox, says `offline` on the status topic, waits for queued disk
writes and returns. A recording in progress is also journalled (edge_agent/journal.py), so
after a SIGKILL or a power cut the next start recovers it as a partial recording.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent import messages, topics
from edge_agent.backoff import next_delay
from edge_agent.capture import Capture, Segmenter
from edge_agent.commands import InboundHandler, InboundStats
from edge_agent.config import AgentConfig, DeviceConfig
from edge_agent.errors import OutboxError, OutboxFullError
from edge_agent.exam.service import ExamService
from edge_agent.exam.store import ExamStore, exam_dir
from edge_agent.exam.trigger import OnDemandSegmenter
from edge_agent.journal import (
    CaptureJournal,
    IncompleteJournalError,
    JournalCorruptError,
    list_journals,
    load_journal,
    move_aside,
    remove_journal,
)
from edge_agent.live import LiveStreamer
from edge_agent.mqtt import MqttSettings
from edge_agent.outbox import OutboundMessage, Outbox, OutboxStore
from edge_agent.publisher import Publisher
from edge_agent.recordings import ProcessedRecording, RecordingContext, process_capture
from edge_agent.sdnotify import Notifier
from edge_agent.sources import open_source
from edge_agent.status import report_status
from edge_agent.watchdog import run_watchdog
from firmware_bridge import BridgeError
from firmware_bridge.sources import AudioBlock, AudioSource, EventKind

log = logging.getLogger(__name__)
STATUS_QOS = 1


@dataclass
class DeviceStats:
    recordings: int = 0
    refused: int = 0
    last_recording_at: float | None = None
    last_level: str | None = None
    connected: bool = False
    battery_percent: int | None = None


@dataclass
class AgentState:
    """Live counters, read by `stetho demo` and the status reporter."""

    devices: dict[str, DeviceStats] = field(default_factory=dict)
    # The latest few only: a daemon that runs for months must not keep every recording.
    recordings: deque[ProcessedRecording] = field(default_factory=lambda: deque(maxlen=50))
    outbox_alarm: str | None = None
    inbound: InboundStats = field(default_factory=InboundStats)  # acks: who acknowledged what
    live_devices: list[str] = field(default_factory=list)

    @property
    def acknowledgements(self) -> list[dict[str, object]]:
        """Who acknowledged which alert, oldest first (no resident reference)."""
        return [
            {"alert_id": a.alert_id, "by": a.by, "note": a.note, "at": a.at.isoformat()}
            for a in self.inbound.acknowledged.values()
        ]

    @property
    def last_alerts(self) -> list[dict[str, object]]:
        acked = self.inbound.acknowledged
        return [
            {
                "alert_id": r.alert_id,
                "recording_id": str(r.recording.recording_id),
                "device": r.recording.device,
                "level": r.level,
                "recorded_at": r.recording.started_at.isoformat(),
                "acknowledged_by": acked[r.alert_id].by if r.alert_id in acked else None,
            }
            for r in self.recordings
            if r.alert_id is not None
        ]


def mqtt_settings(config: AgentConfig, subscriptions: tuple[str, ...] = ()) -> MqttSettings:
    b = config.broker
    offline = status_message(config, "offline", None)
    return MqttSettings(
        host=b.host,
        port=b.port,
        client_id=b.client_id or f"stetho-{config.site}-{config.agent_id}",
        keepalive_s=b.keepalive_s,
        session_expiry_s=b.session_expiry_s,
        tls=b.tls,
        ca_file=str(b.ca_file) if b.ca_file else None,
        cert_file=str(b.cert_file) if b.cert_file else None,
        key_file=str(b.key_file) if b.key_file else None,
        username=b.username,
        password=config.mqtt_password(),
        will=offline,
        max_inflight=b.max_inflight,
        subscriptions=subscriptions,
    )


def status_message(
    config: AgentConfig, state: str, device: str | None, detail: dict[str, object] | None = None
) -> OutboundMessage:
    body = messages.StatusMessage(
        state="online" if state == "online" else "offline",
        site=config.site,
        agent=config.agent_id,
        device=device,
        at=datetime.now(tz=UTC),
        detail=detail or {},
    )
    topic = (
        topics.device_status(config.site, device)
        if device
        else topics.agent_status(config.site, config.agent_id)
    )
    return OutboundMessage(
        topic, messages.to_json(body), STATUS_QOS, True, messages.JSON_CONTENT_TYPE
    )


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.state = AgentState()
        storage = config.storage
        store = OutboxStore(
            storage.state_dir / "outbox.sqlite3",
            quota_bytes=int(storage.quota_mb * 1024 * 1024),
            alarm_fraction=storage.alarm_fraction,
            min_free_disk_bytes=int(storage.min_free_disk_mb * 1024 * 1024),
        )
        self.outbox = Outbox(store)
        self.journal = CaptureJournal(
            storage.state_dir / "journal", min_free_bytes=store.min_free_disk_bytes
        )
        self.live = LiveStreamer(config.site, lambda m: self.publisher.send_volatile(m))
        # Exams: stethoscopes without timed monitoring record on demand (edge_agent/exam).
        self.exams = ExamService(
            ExamStore(exam_dir(storage.state_dir) / "exams.sqlite3"),
            config.site,
            config.agent_id,
            [d.id for d in config.devices if d.monitoring is None],
            self.outbox.put_many,
            config.exam.duration_s,
        )
        self.inbound = InboundHandler(
            config.site,
            config.agent_id,
            frozenset(d.id for d in config.devices),
            self.live,
            self._publish_status,
            on_exam_answer=lambda a: self._spawn(self.exams.answered(a), "exam-answer"),
            on_record_request=self.exams.requested,
        )
        self._spawned: set[asyncio.Task[None]] = set()
        self.state.inbound = self.inbound.stats
        settings = mqtt_settings(config, self.inbound.subscriptions())
        self.publisher = Publisher(settings, self.outbox, settings.will)
        self.thresholds = config.analysis.triage_thresholds()

    async def run(self, notifier: Notifier | None = None) -> None:
        notifier = notifier if notifier is not None else Notifier.from_env()
        self._publish_status()
        try:
            leftovers = await self._leftover_journals()
            await self.exams.recover()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.publisher.run(), name="publisher")
                group.create_task(self._recover(leftovers), name="journal-recovery")
                group.create_task(self._inbound(), name="inbound")
                group.create_task(self._housekeeping(), name="housekeeping")
                group.create_task(report_status(self, notifier), name="status")
                group.create_task(run_watchdog(notifier), name="watchdog")
                if self.config.web is not None:
                    from edge_agent.web import serve  # the page's stack loads only when used

                    group.create_task(serve(self, self.config.web), name="web")
                for device in self.config.devices:
                    group.create_task(self._device_loop(device), name=f"device-{device.id}")
                notifier.ready(f"site {self.config.site}: {len(self.config.devices)} device(s)")
        except asyncio.CancelledError:
            notifier.stopping("closing recordings and the outbox")
            raise
        finally:
            self.journal.close()
            self.outbox.close()
            self.exams.store.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _leftover_journals(self) -> list[Path]:
        """Journals a killed agent left, listed before any device starts one of its own."""
        try:
            await asyncio.to_thread(self.journal.prepare)
            return await asyncio.to_thread(list_journals, self.journal.directory)
        except OSError as exc:  # recording goes on without journals (each failure is logged)
            log.error("event=journal_failed path=%s error=%r", self.journal.directory, str(exc))
            return []

    def _publish_status(self) -> None:
        """Retained agent status: the outbox alarm, if any, and the latest acknowledgements."""
        detail: dict[str, object] = {"acknowledged": self.state.acknowledgements[-10:]}
        if self.state.outbox_alarm:
            detail["alarm"] = self.state.outbox_alarm
        self.publisher.set_state(status_message(self.config, "online", None, detail))

    def _set_alarm(self, alarm: str | None) -> None:
        if alarm == self.state.outbox_alarm:
            return
        self.state.outbox_alarm = alarm
        if alarm is None:
            log.info("event=outbox_alarm_cleared")
        else:
            log.error("event=outbox_alarm reason=%r", alarm)
        self._publish_status()

    async def _inbound(self) -> None:
        while True:
            message = await self.publisher.inbox.get()
            self.inbound.handle(message)
            self.state.live_devices = sorted(self.live.sessions)

    async def _housekeeping(self) -> None:
        keep_s = self.config.storage.keep_sent_hours * 3600
        while True:
            await self.outbox.prune_sent(keep_s)
            if self.state.outbox_alarm is not None:
                admission = await self.outbox.admission(0)
                self._set_alarm(admission.reason if admission.alarm else None)
            await asyncio.sleep(60)

    async def _device_loop(self, device: DeviceConfig) -> None:
        stats = self.state.devices.setdefault(device.id, DeviceStats())
        attempt = 0
        while True:
            try:
                await self._record_from(device, stats)
                log.info("event=source_ended device=%s", device.id)
                return
            except Exception as exc:  # one device's failure must not stop the others
                stats.connected = False
                delay = next_delay(attempt)
                attempt += 1
                log.warning(
                    "event=source_failed device=%s error=%r retry_in_s=%.0f",
                    device.id,
                    str(exc),
                    delay,
                    exc_info=not isinstance(exc, BridgeError),
                )
                await asyncio.sleep(delay)

    async def _record_from(self, device: DeviceConfig, stats: DeviceStats) -> None:
        source = open_source(device)
        ctx = RecordingContext(
            site=self.config.site,
            agent=self.config.agent_id,
            device=device.id,
            resident=device.resident or "unassigned",  # exam recordings carry their own
            auscultation_site=device.auscultation_site,
            kind=device.analysis_kind,
        )
        async with source:
            # A file source knows its sample rate only once opened.
            segmenter: Segmenter | OnDemandSegmenter
            if device.monitoring is None:
                segmenter = self.exams.attach(device.id, source.sample_rate_hz)
            else:
                segmenter = Segmenter(
                    source.sample_rate_hz,
                    device.monitoring.duration_s,
                    device.monitoring.interval_s,
                    track_appends=True,
                )
            rate = segmenter.sample_rate_hz
            stats.connected = True
            self.publisher.set_state(status_message(self.config, "online", device.id))
            try:
                async for block in source:
                    _take_events(source, stats, self.exams)
                    self.live.offer(device.id, block)
                    self.exams.monitor.offer(
                        device.id, block.samples, rate, block.start_time + block.duration_s
                    )
                    done = segmenter.feed(block.samples, block.start_time, _gaps(block))
                    for piece in segmenter.take_appended():
                        self.journal.record(_ctx_of(segmenter, piece.recording_id, ctx), rate,
                                            [piece])  # fmt: skip
                    for capture in done:
                        await self._accept_journalled(capture, self._ctx(segmenter, capture, ctx),
                                                      stats)  # fmt: skip
                ended = segmenter.flush()  # a replayed file ran out mid-recording
                if ended is not None:
                    await self._accept_journalled(ended, self._ctx(segmenter, ended, ctx), stats)
            except BaseException:
                # SIGTERM, or the link failed: keep what the stethoscope already sent.
                partial = segmenter.flush()
                if partial is not None:
                    await self._accept_journalled(
                        partial, self._ctx(segmenter, partial, ctx), stats
                    )
                raise
            finally:
                if device.monitoring is None:
                    self.exams.detach(device.id)
                stats.connected = False
                self.live.stop(device.id, "device disconnected")
                self.publisher.set_state(status_message(self.config, "offline", device.id))

    @staticmethod
    def _ctx(
        segmenter: Segmenter | OnDemandSegmenter, capture: Capture, default: RecordingContext
    ) -> RecordingContext:
        """An exam recording's own context (resident, site, exam), forgotten once used."""
        if isinstance(segmenter, OnDemandSegmenter):
            return segmenter.context_for(capture.recording_id) or default
        return default

    async def _accept_journalled(
        self, capture: Capture, ctx: RecordingContext, stats: DeviceStats
    ) -> None:
        """Make the journal complete, accept, then delete the journal (kept on a disk error)."""
        await self.journal.seal(capture.recording_id)
        done = await self._accept(capture, ctx, stats)
        await self.journal.finish(capture.recording_id, delete=done)

    async def _recover(self, journals: list[Path]) -> None:
        """Accept the recordings a killed agent left in its journals, as partial recordings."""
        for path in journals:
            try:
                await self._recover_one(path)
            except Exception:  # a journal must never stop the agent: log it and go on
                log.exception("event=journal_recovery_failed path=%s", path)

    async def _recover_one(self, path: Path) -> None:
        try:
            found = await asyncio.to_thread(load_journal, path)
        except IncompleteJournalError as exc:
            await asyncio.to_thread(remove_journal, path)
            log.warning("event=journal_discarded path=%s reason=%r", path, str(exc))
            return
        except (JournalCorruptError, OSError) as exc:
            aside = await asyncio.to_thread(move_aside, path)
            log.error("event=journal_corrupt path=%s moved_to=%s reason=%r", path, aside, str(exc))
            return
        capture, ctx = found.capture(), found.header.context
        rid = capture.recording_id
        if len(capture.samples) == 0:
            await asyncio.to_thread(remove_journal, path)
            log.warning("event=journal_discarded recording=%s reason=%r", rid, "no audio")
            return
        if await self.outbox.has_recording(str(rid)):  # killed between commit and delete
            await asyncio.to_thread(remove_journal, path)
            log.info("event=journal_already_stored recording=%s", rid)
            return
        log.warning(
            "event=journal_recovered device=%s recording=%s duration_s=%.2f gaps=%d "
            "dropped_bytes=%d reason=%r",
            ctx.device,
            rid,
            capture.duration_s,
            len(capture.gaps),
            found.dropped_bytes,
            found.dropped_reason,
        )
        stats = self.state.devices.setdefault(ctx.device, DeviceStats())
        if not await self._accept(capture, ctx, stats):
            return  # the outbox failed: the journal stays for the next start
        if found.torn_tail_only():
            await asyncio.to_thread(remove_journal, path)
        else:
            aside = await asyncio.to_thread(move_aside, path)
            log.error(
                "event=journal_damaged recording=%s moved_to=%s dropped_bytes=%d",
                rid,
                aside,
                found.dropped_bytes,
            )

    async def _accept(self, capture: Capture, ctx: RecordingContext, stats: DeviceStats) -> bool:
        """Analyse and store; False only if the outbox failed for a reason other than quota.

        A recording refused for quota is dropped (logged) as before; one the disk failed to
        store keeps its journal, to be tried again on the next start.
        """
        processed = await asyncio.to_thread(process_capture, capture, ctx, self.thresholds)
        try:
            admission = await self.outbox.put_recording(processed.outbound)
        except OutboxError as exc:  # full, or the disk failed: refuse, keep what is stored
            stats.refused += 1
            log.error(
                "event=recording_refused device=%s recording=%s reason=%r",
                ctx.device,
                capture.recording_id,
                str(exc),
            )
            self._set_alarm(str(exc))
            return isinstance(exc, OutboxFullError)
        self._set_alarm(admission.reason if admission.alarm else None)
        stats.recordings += 1
        stats.last_recording_at = time.time()
        stats.last_level = processed.level
        self.state.recordings.append(processed)
        await self.exams.recorded(processed)
        log.info(
            "event=recording_stored device=%s recording=%s duration_s=%.1f partial=%s level=%s",
            ctx.device,
            capture.recording_id,
            capture.duration_s,
            capture.partial,
            processed.level,
        )
        return True


def _ctx_of(
    segmenter: Segmenter | OnDemandSegmenter, recording_id: uuid.UUID, default: RecordingContext
) -> RecordingContext:
    if isinstance(segmenter, OnDemandSegmenter):
        return segmenter.peek_context(recording_id) or default
    return default


def _take_events(source: AudioSource, stats: DeviceStats, exams: ExamService) -> None:
    """Empty the source's event queue (unbounded: left alone it grows for months)."""
    while not source.events.empty():
        event = source.events.get_nowait()
        if event.kind is EventKind.BATTERY:
            stats.battery_percent = int(event.value)
            exams.battery(source.device_id, int(event.value))
        elif event.kind is EventKind.BUTTON_PRESSED:
            exams.button(source.device_id)  # exam devices only; others just log it
        elif event.kind is EventKind.CONTACT_CHANGED:
            exams.monitor.set_contact(source.device_id, bool(event.value))
        log.info("event=device_%s device=%s value=%s", event.kind.value, source.device_id,
                 event.value)  # fmt: skip


def _gaps(block: AudioBlock) -> tuple[tuple[int, int], ...]:
    return tuple((g.start_sample - block.start_sample, g.length) for g in block.gaps)


async def run(config: AgentConfig) -> None:
    """Run the agent until cancelled."""
    await Agent(config).run()
