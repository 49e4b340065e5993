"""A stand-in for the `pyaudio` module: a sound card that delivers real int16 buffers.

It follows PyAudio's interface (`PyAudio().open(...)`, `Stream.read(n, exception_on_overflow)`)
and, like the real card, blocks in `read` for the time the samples take to arrive.
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

paInt16 = 8


class Stream:
    def __init__(self, card: PyAudio, rate: int, frames_per_buffer: int) -> None:
        self._card = card
        self._rate = rate
        self.frames_per_buffer = frames_per_buffer
        self._position = 0
        self.closed = False
        self.read_threads: set[int] = set()

    def read(self, num_frames: int, exception_on_overflow: bool = True) -> bytes:
        if self.closed:
            raise OSError(-9988, "Stream closed")
        if self._card.fail_after is not None and self._position >= self._card.fail_after:
            raise OSError(-9999, "Unanticipated host error")
        self.read_threads.add(threading.get_ident())
        time.sleep(num_frames / self._rate / self._card.speed)
        signal = self._card.signal
        idx = (self._position + np.arange(num_frames)) % signal.size
        self._position += num_frames
        return signal[idx].astype("<i2").tobytes()

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class PyAudio:
    """Class-level settings let a test configure the card before the source creates it."""

    signal: NDArray[np.int16] = np.zeros(1, dtype=np.int16)
    speed: float = 50.0
    fail_after: int | None = None
    devices: tuple[dict[str, Any], ...] = (
        {"name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "maxInputChannels": 2},
        {"name": "USB Audio Device: Thinklabs One (hw:1,0)", "maxInputChannels": 1},
        {"name": "HDMI 0 (hw:0,3)", "maxInputChannels": 0},
    )
    opened: ClassVar[list[dict[str, Any]]] = []
    streams: ClassVar[list[Stream]] = []
    terminated = False

    def get_device_count(self) -> int:
        return len(self.devices)

    def get_device_info_by_index(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def open(self, **kwargs: Any) -> Stream:
        if kwargs["rate"] not in (8000, 16000, 44100, 48000):
            raise OSError(-9997, "Invalid sample rate")
        type(self).opened.append(kwargs)
        stream = Stream(self, kwargs["rate"], kwargs["frames_per_buffer"])
        type(self).streams.append(stream)
        return stream

    def terminate(self) -> None:
        type(self).terminated = True
