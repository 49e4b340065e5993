"""One stethoscope's pipeline: device events, live tap, gaps, segmenting, journal, hand-off.

`DevicePipeline.run` reads one connection's audio to its end. Everything a block goes through on
its way to a stored recording is here, in order; the daemon only decides when to run it again.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from edge_agent.config import DeviceConfig, FileDevice, SimulatedDevice
from edge_agent.errors import AgentError
from edge_agent.pipeline.capture import Segmenter
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.pipeline.on_demand import OnDemandSegmenter
from edge_agent.pipeline.radio import Radio
from edge_agent.pipeline.sources import open_source
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.journal import CaptureJournal
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.sources import AudioBlock, AudioSource, DeviceEvent, EventKind
from stetho_common import quote

__all__ = ["Accept", "DevicePipeline", "OnDemand", "wall_dated"]

log = logging.getLogger(__name__)

Accept = Callable[[Capture, RecordingContext, DeviceStats], Awaitable[bool]]
# Asked as each monitoring recording is due, with its duration (s) and sample rate (Hz): False
# refuses it before capture (the broker could not take it: transport/capture_limit.py).
MayRecord = Callable[[float, int], bool]


class OnDemand(Protocol):
    """Who starts the recordings of a stethoscope without timed monitoring (the exams,
    edge_agent/exam), and hears its blocks and events (live page, button, contact)."""

    def attach(self, device: str, sample_rate_hz: int) -> OnDemandSegmenter: ...

    def detach(self, device: str) -> None: ...

    def offer(self, device: str, block: AudioBlock) -> None: ...

    def event(self, device: str, event: DeviceEvent) -> None: ...


class DevicePipeline:
    """From one configured stethoscope to accepted recordings.

    `on_link(True)` once the source is open, `on_link(False)` when it closes (the daemon turns
    these into the device's retained status).
    """

    def __init__(
        self,
        device: DeviceConfig,
        ctx: RecordingContext,
        journal: CaptureJournal,
        live: LiveStreamer,
        accept: Accept,
        stats: DeviceStats,
        on_link: Callable[[bool], None],
        on_demand: OnDemand | None = None,
        radio: Radio | None = None,
        may_record: MayRecord | None = None,
    ) -> None:
        self.device = device
        self._radio = radio
        self.ctx = ctx
        self._journal = journal
        self._live = live
        self._accept = accept
        self.stats = stats
        self._on_link = on_link
        self._on_demand = on_demand if device.monitoring is None else None
        self._may_record = may_record
        # Monitoring's recordings still to make; kept across reconnections.
        self._left = None if device.monitoring is None else device.monitoring.recordings

    async def run(self) -> None:
        """Record until the source ends; a failure closes what was captured as partial."""
        device, stats = self.device, self.stats
        source = open_source(device, self._radio)
        async with source:
            segmenter = self._segmenter(source.sample_rate_hz)  # a file's is known once open
            stats.connected = stats.held = True
            self._on_link(True)
            try:
                async for block in source:
                    await self._feed(source, segmenter, block)
                    if isinstance(segmenter, Segmenter) and segmenter.left == 0:
                        # Monitoring made its recordings: let the stethoscope go (its battery).
                        log.info("event=monitoring_complete device=%s", device.id)
                        break
                ended = segmenter.flush()  # a replayed file ran out mid-recording
                if ended is not None:
                    await self._hand_off(ended, _context(segmenter, ended.recording_id, self.ctx))
            except BaseException:
                # SIGTERM, or the link failed: keep what the stethoscope already sent.
                partial = segmenter.flush()
                if partial is not None:
                    await self._hand_off(
                        partial, _context(segmenter, partial.recording_id, self.ctx)
                    )
                raise
            finally:
                if isinstance(segmenter, Segmenter):
                    self._left = segmenter.left
                if self._on_demand is not None:
                    self._on_demand.detach(device.id)
                stats.connected = False
                self._live.stop(device.id, "device disconnected")
                self._on_link(False)

    def _segmenter(self, rate_hz: int) -> Segmenter | OnDemandSegmenter:
        schedule = self.device.monitoring
        if schedule is not None:
            may_record, duration_s = self._may_record, schedule.duration_s
            may_start = None if may_record is None else (lambda: may_record(duration_s, rate_hz))
            return Segmenter(rate_hz, duration_s, schedule.interval_s, True, may_start, self._left)
        if self._on_demand is None:
            raise AgentError(f"device {self.device.id}: no monitoring schedule and no exams")
        return self._on_demand.attach(self.device.id, rate_hz)

    async def _feed(
        self, source: AudioSource, segmenter: Segmenter | OnDemandSegmenter, block: AudioBlock
    ) -> None:
        _take_events(source, self.stats, self._on_demand)
        self._live.offer(self.device.id, block)
        if self._on_demand is not None:
            self._on_demand.offer(self.device.id, block)
        done = segmenter.feed(block.samples, block.start_time, block.gaps, block.start_sample)
        for piece in segmenter.take_appended():  # an exam's recording has its own context
            ctx = _context(segmenter, piece.recording_id, self.ctx, keep=True)
            self._journal.record(ctx, segmenter.sample_rate_hz, [piece])
        for capture in done:
            await self._hand_off(capture, _context(segmenter, capture.recording_id, self.ctx))

    async def _hand_off(self, capture: Capture, ctx: RecordingContext) -> None:
        """Make the journal complete, accept, then delete the journal (kept on a disk error)."""
        if _outruns_wall_clock(self.device):
            capture = wall_dated(capture, time.time())
        await self._journal.seal(capture.recording_id)
        done = await self._accept(capture, ctx, self.stats)
        await self._journal.finish(capture.recording_id, delete=done)


def _outruns_wall_clock(device: DeviceConfig) -> bool:
    """Whether the device's stream time can run ahead of the wall clock: a simulated
    stethoscope faster than real time (the demo's, 10x), or a file read as fast as it decodes.
    A stethoscope's stream time is the wall clock at its first frame plus its samples: its
    recordings keep that date."""
    if isinstance(device, SimulatedDevice):
        return device.speed > 1
    return isinstance(device, FileDevice) and not device.realtime


def wall_dated(capture: Capture, now: float) -> Capture:
    """The capture dated by the wall clock at its end (`now`) less its length, where its
    stream time would date it later: a recording is never dated in the future (the demo's
    were some 45 minutes ahead on the console after a few minutes)."""
    latest = now - capture.duration_s
    if capture.started_at <= latest:
        return capture
    return dataclasses.replace(capture, started_at=latest)


def _context(
    segmenter: Segmenter | OnDemandSegmenter,
    recording_id: uuid.UUID,
    default: RecordingContext,
    keep: bool = False,
) -> RecordingContext:
    if not isinstance(segmenter, OnDemandSegmenter):
        return default
    found = segmenter.peek_context(recording_id) if keep else segmenter.context_for(recording_id)
    return found or default


def _take_events(source: AudioSource, stats: DeviceStats, on_demand: OnDemand | None) -> None:
    """Empty the source's event queue (unbounded: left alone it grows for months)."""
    while not source.events.empty():
        event = source.events.get_nowait()
        if on_demand is not None:
            on_demand.event(source.device_id, event)  # the button starts and stops recordings
        if event.kind is EventKind.BATTERY:
            stats.battery_percent = int(event.value)
        log.info("event=device_%s device=%s value=%s", event.kind.value, source.device_id,
                 quote(event.value))  # fmt: skip
