"""Cutting a device's continuous stream into scheduled recordings (sans-I/O).

Schedule and lengths count samples, not wall-clock seconds: a stream whose lost
packets were filled keeps its timing, and a simulator running faster than real time
keeps the same schedule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edge_agent.wire.recording import Appended, Capture, Gap


@dataclass
class _Open:
    recording_id: uuid.UUID
    started_at: float
    chunks: list[NDArray[np.float32]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    length: int = 0


class Segmenter:
    """Feed blocks of a stream; get back the recordings the schedule completes.

    A recording of `duration_s` starts every `interval_s` (interval >= duration; the
    remainder of each interval is skipped). The UUID is assigned when capture starts.
    With `track_appends`, every piece added to a recording is also kept as an `Appended`
    until `take_appended` returns it (the daemon journals them to survive a crash).
    `may_start` is asked as each recording is due; when it says no, that interval is skipped
    whole (the broker could not take the recording: edge_agent/transport/capture_limit.py).
    After `count` recordings (when given) nothing more is recorded; the stream is still read.
    """

    def __init__(
        self,
        sample_rate_hz: int,
        duration_s: float,
        interval_s: float,
        track_appends: bool = False,
        may_start: Callable[[], bool] | None = None,
        count: int | None = None,
    ) -> None:
        if duration_s <= 0 or interval_s <= 0:
            raise ValueError("duration_s and interval_s must be positive")
        if count is not None and count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        self.sample_rate_hz = sample_rate_hz
        self._duration = round(duration_s * sample_rate_hz)
        self._interval = max(self._duration, round(interval_s * sample_rate_hz))
        self._position = 0  # samples seen in the current interval
        self._open: _Open | None = None
        self._track = track_appends
        self._appended: list[Appended] = []
        self._may_start = may_start
        self._skipping = False  # this interval's recording was refused
        self._left = count  # recordings still to make; None: without end

    def feed(
        self,
        samples: NDArray[np.float32],
        start_time: float,
        gaps: Sequence[Gap] = (),
        first_sample: int = 0,
    ) -> list[Capture]:
        """Consume one block; `gaps` are its filled samples, counted like `first_sample`.

        Pass a source block's own gaps and `start_sample`: the stream's count is turned into the
        recording's here, so a gap keeps one type from reassembly to the journal.
        """
        gaps = tuple(Gap(g.start_sample - first_sample, g.length) for g in gaps)
        done: list[Capture] = []
        offset = 0
        while offset < len(samples):
            if self._left == 0:
                break
            if self._position == 0 and self._open is None and self._may_start is not None:
                self._skipping = not self._may_start()
            if self._position < self._duration and not self._skipping:
                take = min(self._duration - self._position, len(samples) - offset)
                self._append(samples, offset, take, start_time, gaps)
                self._position += take
                offset += take
                if self._position == self._duration and self._open is not None:
                    done.append(self._close(partial=False))
            else:
                skip = min(self._interval - self._position, len(samples) - offset)
                self._position += skip
                offset += skip
            if self._position >= self._interval:
                self._position = 0
        return done

    def _append(
        self,
        samples: NDArray[np.float32],
        offset: int,
        take: int,
        block_start: float,
        gaps: tuple[Gap, ...],
    ) -> None:
        if self._open is None:
            started = block_start + offset / self.sample_rate_hz
            self._open = _Open(uuid.uuid4(), started)
        current = self._open
        new_gaps = []
        for gap in gaps:
            lo = max(gap.start_sample, offset)
            hi = min(gap.start_sample + gap.length, offset + take)
            if hi > lo:
                new_gaps.append(Gap(current.length + lo - offset, hi - lo))
        chunk = np.asarray(samples[offset : offset + take], dtype=np.float32)
        if self._track:
            piece = Appended(
                current.recording_id, current.started_at, current.length, chunk, tuple(new_gaps)
            )
            self._appended.append(piece)
        current.gaps.extend(new_gaps)
        current.chunks.append(chunk)
        current.length += take

    @property
    def left(self) -> int | None:
        """Recordings still to make (None: without end); a new segmenter after a reconnection
        starts from it."""
        return self._left

    def take_appended(self) -> list[Appended]:
        """The pieces added since the last call, in order (empty unless `track_appends`)."""
        pieces, self._appended = self._appended, []
        return pieces

    def _close(self, partial: bool) -> Capture:
        assert self._open is not None
        current, self._open = self._open, None
        if self._left is not None:
            self._left -= 1
        joined = np.concatenate(current.chunks)  # never empty: flush keeps none of length 0
        return Capture(
            current.recording_id,
            current.started_at,
            self.sample_rate_hz,
            joined,
            tuple(current.gaps),
            partial,
        )

    def flush(self) -> Capture | None:
        """Close the recording in progress as partial (shutdown, link given up)."""
        if self._open is None or self._open.length == 0:
            self._open = None
            return None
        return self._close(partial=True)
