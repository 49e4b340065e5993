"""Accepting a finished capture: analysis in a worker thread, then the outbox.

The one hand-off from capture to storage, used by every device pipeline and by the recovery of
journals a killed agent left behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from edge_agent.errors import OutboxError
from edge_agent.pipeline.recordings import ProcessedRecording, process_capture
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.async_outbox import Outbox
from edge_agent.wire.recording import Capture, RecordingContext
from stetho_common import Response, response_to
from stetho_signal import TriageThresholds

__all__ = ["Acceptor"]

log = logging.getLogger(__name__)


@dataclass
class Acceptor:
    """Analyse and store; `on_alarm` hears the outbox's alarm (or None once it clears).

    `executor` runs the analysis (the agent gives it one thread of its own: the DSP's buffers
    then churn in one malloc arena, and three recordings ending together are analysed one after
    another instead of each holding its working set at once); None means asyncio's default.
    """

    outbox: Outbox
    thresholds: TriageThresholds
    on_alarm: Callable[[str | None], None]
    on_stored: Callable[[ProcessedRecording], None]
    executor: Executor | None = None

    async def __call__(self, capture: Capture, ctx: RecordingContext, stats: DeviceStats) -> bool:
        """False only if the outbox failed in a way a later start may not repeat.

        A recording refused for quota is dropped (logged): keeping its journal would refuse it
        again at every start. One the disk failed to store keeps its journal for the next start.
        """
        loop = asyncio.get_running_loop()
        processed = await loop.run_in_executor(
            self.executor, process_capture, capture, ctx, self.thresholds
        )
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
            self.on_alarm(str(exc))
            return response_to(exc) is Response.DROP
        self.on_alarm(admission.reason if admission.alarm else None)
        stats.recordings += 1
        stats.last_recording_at = time.time()
        stats.last_level = processed.level
        self.on_stored(processed)
        log.info(
            "event=recording_stored device=%s recording=%s duration_s=%.1f partial=%s level=%s",
            ctx.device,
            capture.recording_id,
            capture.duration_s,
            capture.partial,
            processed.level,
        )
        return True
