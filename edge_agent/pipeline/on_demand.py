"""Recordings on demand (sans-I/O): the stream flows all the time, a recording starts when the
nurse, the button or a doctor's request says so and ends after its duration or on a stop.

Same face as `edge_agent.capture.Segmenter` (feed, flush, take_appended), so the daemon's
device loop drives either; each recording also remembers the context it was started with.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edge_agent.wire.recording import Appended, Capture, Gap, RecordingContext


@dataclass
class _Take:
    recording_id: uuid.UUID
    target: int  # samples wanted
    holder: str
    started_at: float | None = None
    chunks: list[NDArray[np.float32]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    length: int = 0
    stop: bool = False


class OnDemandSegmenter:
    """One device's recordings, each asked for with `start` and ended by its length or `stop`."""

    def __init__(self, sample_rate_hz: int, track_appends: bool = False) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._track = track_appends
        self._take: _Take | None = None
        self._appended: list[Appended] = []
        self._contexts: dict[uuid.UUID, RecordingContext] = {}
        # The last recording stopped or cut before any sound arrived: nothing of it is kept, and
        # whoever waits for it must hear so rather than wait for an analysis that never comes.
        self.last_dropped: uuid.UUID | None = None

    @property
    def busy(self) -> bool:
        return self._take is not None

    @property
    def holder(self) -> str | None:
        return self._take.holder if self._take else None

    def progress(self) -> tuple[float, float] | None:
        """(seconds recorded, seconds wanted) of the recording in progress."""
        take = self._take
        if take is None:
            return None
        return take.length / self.sample_rate_hz, take.target / self.sample_rate_hz

    def start(self, ctx: RecordingContext, duration_s: float, holder: str) -> uuid.UUID:
        """Begin a recording with the next block (callers check `busy` first)."""
        if self._take is not None:
            raise RuntimeError(f"{ctx.device} is already recording for {self._take.holder}")
        if duration_s <= 0:
            raise ValueError("duration_s must be positive")
        rid = uuid.uuid4()
        self._take = _Take(rid, round(duration_s * self.sample_rate_hz), holder)
        self._contexts[rid] = ctx
        return rid

    def stop(self) -> bool:
        """End the recording in progress early, at the next block; False if none runs."""
        if self._take is None:
            return False
        self._take.stop = True
        return True

    def context_for(self, recording_id: uuid.UUID) -> RecordingContext | None:
        """The context a recording was started with (forgotten once asked for)."""
        return self._contexts.pop(recording_id, None)

    def peek_context(self, recording_id: uuid.UUID) -> RecordingContext | None:
        return self._contexts.get(recording_id)

    def feed(
        self,
        samples: NDArray[np.float32],
        start_time: float,
        gaps: Sequence[Gap] = (),
        first_sample: int = 0,
    ) -> list[Capture]:
        """Consume one block; `gaps` count like `first_sample` (the source block's own)."""
        take = self._take
        if take is None:
            return []
        if take.stop:
            return [self._close(partial=False)] if take.length else self._drop()
        n = min(take.target - take.length, len(samples))
        if take.started_at is None:
            take.started_at = start_time
        spans = ((g.start_sample - first_sample, g.length) for g in gaps)
        new_gaps = [
            Gap(take.length + lo, hi - lo)
            for lo, hi in ((max(o, 0), min(o + g, n)) for o, g in spans)
            if hi > lo
        ]
        chunk = np.asarray(samples[:n], dtype=np.float32)
        if self._track:
            self._appended.append(
                Appended(take.recording_id, take.started_at, take.length, chunk, tuple(new_gaps))
            )
        take.chunks.append(chunk)
        take.gaps.extend(new_gaps)
        take.length += n
        return [self._close(partial=False)] if take.length >= take.target else []

    def _drop(self) -> list[Capture]:
        assert self._take is not None
        self._contexts.pop(self._take.recording_id, None)
        self.last_dropped = self._take.recording_id
        self._take = None
        return []

    def _close(self, partial: bool) -> Capture:
        take, self._take = self._take, None
        assert take is not None and take.started_at is not None
        return Capture(
            take.recording_id,
            take.started_at,
            self.sample_rate_hz,
            np.concatenate(take.chunks),
            tuple(take.gaps),
            partial,
        )

    def take_appended(self) -> list[Appended]:
        pieces, self._appended = self._appended, []
        return pieces

    def flush(self) -> Capture | None:
        """Close the recording in progress as partial (the link was lost, or shutdown)."""
        if self._take is None or self._take.length == 0:
            if self._take is not None:
                self._drop()
            return None
        return self._close(partial=True)
