"""One stethoscope's pipeline: device events, live tap, gaps, segmenting, journal, hand-off.

`DevicePipeline.run` reads one connection's audio to its end. Everything a block goes through on
its way to a stored recording is here, in order; the daemon only decides when to run it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from edge_agent.config import DeviceConfig
from edge_agent.pipeline.capture import Segmenter
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.pipeline.sources import open_source
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.journal import CaptureJournal
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.sources import AudioBlock, AudioSource, EventKind

__all__ = ["Accept", "DevicePipeline"]

log = logging.getLogger(__name__)

Accept = Callable[[Capture, RecordingContext, DeviceStats], Awaitable[bool]]


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
    ) -> None:
        self.device = device
        self.ctx = ctx
        self._journal = journal
        self._live = live
        self._accept = accept
        self.stats = stats
        self._on_link = on_link

    async def run(self) -> None:
        """Record until the source ends; a failure closes what was captured as partial."""
        device, stats = self.device, self.stats
        source = open_source(device)
        async with source:
            # A file source knows its sample rate only once opened.
            segmenter = Segmenter(
                source.sample_rate_hz,
                device.schedule.duration_s,
                device.schedule.interval_s,
                track_appends=True,
            )
            stats.connected = stats.held = True
            self._on_link(True)
            try:
                async for block in source:
                    await self._feed(source, segmenter, block)
                ended = segmenter.flush()  # a replayed file ran out mid-recording
                if ended is not None:
                    await self._hand_off(ended)
            except BaseException:
                # SIGTERM, or the link failed: keep what the stethoscope already sent.
                partial = segmenter.flush()
                if partial is not None:
                    await self._hand_off(partial)
                raise
            finally:
                stats.connected = False
                self._live.stop(device.id, "device disconnected")
                self._on_link(False)

    async def _feed(self, source: AudioSource, segmenter: Segmenter, block: AudioBlock) -> None:
        _take_events(source, self.stats)
        self._live.offer(self.device.id, block)
        done = segmenter.feed(block.samples, block.start_time, block.gaps, block.start_sample)
        self._journal.record(self.ctx, segmenter.sample_rate_hz, segmenter.take_appended())
        for capture in done:
            await self._hand_off(capture)

    async def _hand_off(self, capture: Capture) -> None:
        """Make the journal complete, accept, then delete the journal (kept on a disk error)."""
        await self._journal.seal(capture.recording_id)
        done = await self._accept(capture, self.ctx, self.stats)
        await self._journal.finish(capture.recording_id, delete=done)


def _take_events(source: AudioSource, stats: DeviceStats) -> None:
    """Empty the source's event queue (unbounded: left alone it grows for months)."""
    while not source.events.empty():
        event = source.events.get_nowait()
        if event.kind is EventKind.BATTERY:
            stats.battery_percent = int(event.value)
        log.info("event=device_%s device=%s value=%s", event.kind.value, source.device_id,
                 event.value)  # fmt: skip
