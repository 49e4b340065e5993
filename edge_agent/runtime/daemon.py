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
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.config import STATUS_FILE, AgentConfig, DeviceConfig
from edge_agent.errors import AgentError
from edge_agent.exam.service import ExamService
from edge_agent.exam.store import ExamStore, exam_dir
from edge_agent.pipeline.accept import Acceptor
from edge_agent.pipeline.device import DevicePipeline, MayRecord
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.pipeline.radio import pair_and_register, radio_for
from edge_agent.pipeline.recordings import ProcessedRecording
from edge_agent.pipeline.recovery import recover_journals
from edge_agent.pipeline.salvage_check import check_salvaged_recording
from edge_agent.pipeline.sources import given_up_reason, retry_delay
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime.commands import InboundHandler
from edge_agent.runtime.heap import release_free_heap
from edge_agent.runtime.paired import REGISTRY_POLL_S, known_keys, paired_devices
from edge_agent.runtime.receipts import ReceiptWatch, resend_policy
from edge_agent.runtime.sdnotify import Notifier
from edge_agent.runtime.state import AgentState
from edge_agent.runtime.status import (
    last_connack_limit,
    receipts_status,
    report_status,
    snapshot,
    write_status,
)
from edge_agent.runtime.watchdog import run_watchdog
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.journal import (
    CaptureJournal,
    list_journals,
)
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.storage.receipts import ReceiptStats
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice
from edge_agent.storage.salvage import open_outbox
from edge_agent.storage.state_lock import holding_state_dir
from edge_agent.transport.capture_limit import CaptureGate
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from edge_agent.transport.settings import broker_settings
from edge_agent.wire import messages, topics
from edge_agent.wire.recording import RecordingContext
from firmware_bridge import BridgeError
from firmware_bridge.bluez_agent import Prompt
from stetho_common import quote
from stetho_common.text import without_surrogates
from stetho_common.waits import within

log = logging.getLogger(__name__)
STATUS_QOS = 1
# asyncio's default pool grows to cpus + 4 threads, each with a malloc arena of its own that keeps
# what it freed; with the analysis on its own thread, the rest (status writes, registry polls,
# the exam store, the page, one blocking connect) is short work that three threads carry.
WORKER_THREADS = 3


def mqtt_settings(config: AgentConfig, subscriptions: tuple[str, ...] = ()) -> MqttSettings:
    client_id = config.broker.client_id or config.default_client_id()
    offline = status_message(config, "offline", None)
    return broker_settings(config.broker, client_id, subscriptions=subscriptions, will=offline)


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
        store, check = open_outbox(
            storage.state_dir,
            lambda path: OutboxStore(
                path,
                quota_bytes=int(storage.quota_mb * 1024 * 1024),
                alarm_fraction=storage.alarm_fraction,
                min_free_disk_bytes=int(storage.min_free_disk_mb * 1024 * 1024),
                await_receipts=storage.receipt_timeout_s > 0,
            ),
            verify=check_salvaged_recording,
        )
        self.state.outbox_check = check.as_status() if check.alarm else None
        self.outbox = Outbox(store)
        self.receipts = (
            ReceiptWatch(self.outbox, resend_policy(storage)) if store.await_receipts else None
        )
        self.journal = CaptureJournal(
            storage.state_dir / "journal", min_free_bytes=store.min_free_disk_bytes
        )
        self.live = LiveStreamer(config.site, lambda m: self.publisher.send_volatile(m))
        # Captures the broker could not take are refused before they start (issue 18).
        self.gate = CaptureGate(config.site, lambda: self.publisher.packet_limit(),
                                config.broker.protocol == "5", self._publish_status)  # fmt: skip
        self.state.capture_alarms = self.gate.alarms
        # Exams (edge_agent/exam): stethoscopes without timed monitoring record on demand.
        self.exams = ExamService(
            ExamStore(exam_dir(storage.state_dir) / "exams.sqlite3"),
            config.site,
            config.agent_id,
            [d.id for d in config.devices if d.monitoring is None],
            self.outbox.put_many,
            config.exam.duration_s,
            self.gate,
        )
        self._spawned: set[asyncio.Task[None]] = set()
        self.inbound = InboundHandler(
            config.site,
            config.agent_id,
            frozenset(d.id for d in config.devices),
            self.live,
            self._publish_status,
            self.receipts.offer if self.receipts is not None else None,
            on_exam_answer=lambda a: self._spawn(self._answered(a), "exam-answer"),
            on_record_request=self.exams.requested,
        )
        self.state.inbound = self.inbound.stats
        settings = mqtt_settings(config, self.inbound.subscriptions())
        self.publisher = Publisher(settings, self.outbox, settings.will)
        if settings.v5:  # until the first CONNACK, the limit the last run learnt
            self.publisher.stats.connack_max_packet = last_connack_limit(storage.state_dir)
        self.thresholds = config.analysis.triage_thresholds()
        # One thread analyses every recording, then gives back what the analysis freed (heap.py).
        self.analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis")
        self.accept = Acceptor(
            self.outbox, self.thresholds, self._set_alarm, self._accepted, self.analysis
        )
        self.started_at = time.time()
        self.devices: list[DeviceConfig] = list(config.devices)  # + paired ones, as they come
        self.radio = radio_for(config.radio)  # BlueZ, or simulated stethoscopes (demo, tests)
        self._registry_changed = asyncio.Event()  # the page paired one: look now, not in 5 s

    def _accepted(self, recording: ProcessedRecording) -> None:
        self.state.keep(recording)
        self.analysis.submit(release_free_heap)  # queued after any analysis still waiting
        if recording.alert_id is not None:
            self.inbound.alert_raised(recording.alert_id)
        if recording.recording.exam_id is not None:  # the page shows it on its exam
            self._spawn(self.exams.recorded(recording), "exam-recorded")

    async def _snapshot(self) -> dict[str, Any]:
        self.gate.refresh()  # an alarm whose capture would fit the limit known now is over
        outbox = await self.outbox.stats()
        data = snapshot(self.config, self.state, self.publisher, outbox, self.started_at)
        if self.receipts is not None:
            waiting = await self.outbox.receipt_stats()
            data["receipts"] = receipts_status(
                waiting, self.receipts.counts, self.receipts.timeout_s
            )
        return data

    async def run(self, notifier: Notifier | None = None) -> None:
        notifier = notifier if notifier is not None else Notifier.from_env()
        self._publish_status()
        try:
            alerts = await self.outbox.payloads_on(topics.alerts(self.config.site))
            self.inbound.remember_alerts(alerts)  # acks may come for alerts sent before a restart
            leftovers = await self._leftover_journals()
            await self.exams.recover()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.publisher.run(), name="publisher")
                group.create_task(
                    recover_journals(leftovers, self.outbox, self.accept, self._stats_for),
                    name="journal-recovery",
                )
                group.create_task(self._inbound(), name="inbound")
                group.create_task(self._housekeeping(), name="housekeeping")
                group.create_task(
                    report_status(
                        self._snapshot,
                        self.config.storage.state_dir,
                        notifier,
                        self.config.status_interval_s,
                    ),
                    name="status",
                )
                group.create_task(run_watchdog(notifier), name="watchdog")
                if self.receipts is not None:
                    group.create_task(self.receipts.run(), name="receipts")
                if self.config.web is not None:
                    from edge_agent.web import serve  # the page's stack loads only when used

                    group.create_task(serve(self, self.config.web), name="web")
                for device in self.config.devices:
                    group.create_task(self._device_loop(device), name=f"device-{device.id}")
                group.create_task(self._follow_registry(group), name="paired-devices")
                notifier.ready(f"site {self.config.site}: {len(self.config.devices)} device(s)")
        except asyncio.CancelledError:
            notifier.stopping("closing recordings and the outbox")
            raise
        finally:
            await self._final_status()
            self.analysis.shutdown(wait=True)
            self.journal.close()
            self.outbox.close()
            self.exams.store.close()

    async def _answered(self, answer: messages.ExamAnswerMessage) -> None:
        self.inbound.answer_settled(answer, await self.exams.answered(answer))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _final_status(self) -> None:
        """Say in status.json that this agent stopped, so `stetho status` need not wait."""
        try:
            data = await self._snapshot()
            data["stopped_at"] = time.time()
            data["broker"]["connected"] = False
            await asyncio.to_thread(write_status, self.config.storage.state_dir / STATUS_FILE, data)
        except (OSError, AgentError) as exc:
            log.warning("event=status_write_failed error=%r", str(exc))

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
        if self.state.outbox_check:  # a damaged or lost outbox, found on start (issue 18)
            detail["outbox_check"] = self.state.outbox_check["alarm"]
        if self.gate.alarms:  # recordings the broker could not take, refused before capture
            detail["capture_alarms"] = dict(self.gate.alarms)
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
        stats = self._stats_for(device.id)
        pipeline = DevicePipeline(
            device,
            RecordingContext(
                site=self.config.site,
                agent=self.config.agent_id,
                device=device.id,
                resident=device.resident or "unassigned",  # exam recordings carry their own
                auscultation_site=device.auscultation_site,
                kind=device.analysis_kind,
            ),
            self.journal,
            self.live,
            self.accept,
            stats,
            lambda online: self.publisher.set_state(
                status_message(self.config, "online" if online else "offline", device.id)
            ),
            self.exams,
            self.radio,
            self._may_record(device, stats),
        )
        attempt = 0
        while True:
            stats.held = False
            try:
                await pipeline.run()
                log.info("event=source_ended device=%s", device.id)
                return
            except Exception as exc:  # one device's failure must not stop the others
                stats.connected = False
                attempt = 0 if stats.held else attempt  # a link that held starts afresh
                # Never None for a stethoscope (a set-up error waits the longest); a file device
                # whose recording cannot be played is given up, said once (retry_delay).
                delay = retry_delay(device, attempt, exc)
                attempt += 1
                if delay is None:
                    self._give_up(device, stats, exc)
                    return
                log.warning(
                    "event=source_failed device=%s error=%r retry_in_s=%.0f",
                    device.id,
                    str(exc),
                    delay,
                    exc_info=not isinstance(exc, BridgeError),
                )
                await asyncio.sleep(delay)

    def _give_up(self, device: DeviceConfig, stats: DeviceStats, error: Exception) -> None:
        """One line, and the reason in the device's status (status.json, `stetho status`, the
        nurses' page) for as long as the agent runs; its retained status message, which the
        hospital hub keeps, carries only the reason's class (no path of the care home's)."""
        # The path may hold a non-UTF-8 name's surrogates, which the status's JSON cannot.
        stats.given_up = without_surrogates(str(error))
        log.error("event=source_given_up device=%s error=%s", device.id, quote(stats.given_up))
        self.publisher.set_state(
            status_message(self.config, "offline", device.id, {"given_up": given_up_reason(error)})
        )

    def _may_record(self, device: DeviceConfig, stats: DeviceStats) -> MayRecord:
        index = next((i for i, d in enumerate(self.config.devices) if d is device), None)
        key = "devices[].monitoring.duration_s" if index is None else (
            f"devices[{index}].monitoring.duration_s")  # fmt: skip

        def may_record(duration_s: float, rate_hz: int) -> bool:
            if self.gate.check(device.id, duration_s, rate_hz, key) is None:
                return True
            stats.refused += 1  # the device's count of recordings not made or not kept
            return False

        return may_record

    async def _follow_registry(self, group: asyncio.TaskGroup) -> None:
        """Run each stethoscope `stetho pair` adds, for exams, without a restart."""
        state_dir = self.config.storage.state_dir
        while True:
            found = await asyncio.to_thread(paired_devices, state_dir, known_keys(self.devices))
            for device in found:
                self.devices.append(device)
                self.exams.add_device(device.id)
                # Its commands (live, record requests) must reach it too, not only the config's.
                self.publisher.subscribe_more(self.inbound.add_device(device.id))
                log.info("event=paired_device_started device=%s", device.id)
                group.create_task(self._device_loop(device), name=f"device-{device.id}")
            await within(REGISTRY_POLL_S, self._registry_changed.wait())
            self._registry_changed.clear()

    async def receipt_stats(self) -> ReceiptStats | None:
        """Recordings waiting for the hub's receipt (the nurse's page), if the agent waits."""
        return await self.outbox.receipt_stats() if self.receipts is not None else None

    async def pair_stethoscope(
        self, address: str, location: str, show: Callable[[Prompt], None]
    ) -> RegisteredDevice:
        """Pair from the page (the same code as `stetho pair`); returns once the agent runs it."""
        registry = DeviceRegistry(self.config.storage.state_dir)
        device = await pair_and_register(registry, address, self.radio, location, show)
        log.info("event=paired device=%s address=%s", device.id, device.address)
        self._registry_changed.set()
        for _ in range(int(REGISTRY_POLL_S / 0.05)):
            if any(d.id == device.id or getattr(d, "address", "").upper() == device.address.upper()
                   for d in self.devices):  # fmt: skip
                break
            await asyncio.sleep(0.05)
        return device

    def _stats_for(self, device_id: str) -> DeviceStats:
        return self.state.devices.setdefault(device_id, DeviceStats())


async def run(config: AgentConfig) -> None:
    """Run the agent until cancelled, on a loop whose default thread pool is bounded."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="agent")
    )
    with holding_state_dir(config.storage.state_dir):  # before the outbox is even looked at
        await Agent(config).run()
