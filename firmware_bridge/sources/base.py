"""The one interface every audio source implements, and the blocks it yields.

An `AudioSource` is an async context manager and an async iterator of `AudioBlock`s: entering it
connects (or opens the sound card or file), iterating yields mono float32 blocks in order, leaving
it releases everything. Sources that can report device events (button presses, contact, battery)
also put `DeviceEvent`s on their `events` queue; consumers that do not care ignore it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from firmware_bridge.reassembly import Gap

__all__ = ["AudioBlock", "AudioSource", "DeviceEvent", "EventKind", "Gap"]


@dataclass(frozen=True)
class AudioBlock:
    """A run of consecutive mono samples.

    Attributes
    ----------
    samples : numpy.ndarray
        float32, shape (n,), full scale -1..1.
    sample_rate_hz : int
        Sample rate in Hz.
    start_sample : int
        Index of the first sample since the stream started; consecutive blocks are contiguous,
        and lost audio is filled (see `gaps`) so this always equals the samples yielded before.
    start_time : float
        Unix time in seconds of the first sample (stream time: with a simulator running faster
        than real time this advances with the audio, not with the wall clock).
    gaps : tuple of Gap
        Filled stretches inside this block, in stream sample indices.
    """

    samples: NDArray[np.float32]
    sample_rate_hz: int
    start_sample: int
    start_time: float
    gaps: tuple[Gap, ...] = ()

    def __post_init__(self) -> None:
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError("AudioBlock.samples must be a 1-D float32 array")
        if self.sample_rate_hz <= 0 or self.start_sample < 0:
            raise ValueError("AudioBlock needs a positive rate and a non-negative start")

    @property
    def end_sample(self) -> int:
        """Index one past the last sample of this block."""
        return self.start_sample + int(self.samples.size)

    @property
    def duration_s(self) -> float:
        """Length of the block in seconds."""
        return self.samples.size / self.sample_rate_hz


class EventKind(Enum):
    """What a device reported besides audio."""

    BUTTON_PRESSED = "button-pressed"
    CONTACT_CHANGED = "contact-changed"
    CLIPPING = "clipping"
    BATTERY = "battery"
    LINK_LOST = "link-lost"
    LINK_RESTORED = "link-restored"


@dataclass(frozen=True)
class DeviceEvent:
    """One event from a source; `value` is the new state (bool) or the battery percentage."""

    kind: EventKind
    time: float
    value: int | bool = field(default=True)


@runtime_checkable
class AudioSource(Protocol):
    """An async context manager and async iterator of `AudioBlock`.

    `events` is an unbounded queue of `DeviceEvent`; a source without events leaves it empty.
    Iteration ends when the source is exhausted (file) or closed; link failures that cannot be
    recovered raise `LinkLostError`.
    """

    device_id: str
    sample_rate_hz: int
    events: asyncio.Queue[DeviceEvent]

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[AudioBlock]: ...
