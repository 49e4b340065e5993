"""Replay of a WAV or FLAC recording as an audio source, in real time or as fast as possible.

File reads run in a worker thread. Multichannel files are mixed down to mono.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import soundfile

from firmware_bridge.errors import ConfigurationError
from firmware_bridge.sources.base import AudioBlock, DeviceEvent

__all__ = ["FileSource"]


class FileSource:
    """Blocks from an audio file; iteration ends at the end of the file.

    Parameters
    ----------
    path : Path
        WAV or FLAC file (anything libsndfile reads).
    device_id : str or None
        Identifier reported for this source; defaults to the file name.
    realtime : bool
        Pace blocks at the file's sample rate (times `speed`); False reads as fast as possible.
    """

    def __init__(
        self,
        path: Path,
        *,
        device_id: str | None = None,
        realtime: bool = True,
        speed: float = 1.0,
        block_s: float = 0.1,
    ) -> None:
        self.path = Path(path)
        self.device_id = device_id or self.path.stem
        self.sample_rate_hz = 0
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        self._realtime = realtime
        self._speed = speed
        self._block_s = block_s
        self._file: Any = None

    async def __aenter__(self) -> Self:
        try:
            self._file = await asyncio.to_thread(soundfile.SoundFile, os.fsencode(self.path))
        except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
            raise ConfigurationError(f"cannot open recording {self.path}: {exc}") from exc
        self.sample_rate_hz = int(self._file.samplerate)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __aiter__(self) -> AsyncIterator[AudioBlock]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[AudioBlock]:
        if self._file is None:
            raise ConfigurationError("FileSource must be entered (async with) before iterating")
        block = max(1, round(self._block_s * self.sample_rate_hz))
        position, t0, started = 0, time.time(), time.monotonic()
        while True:
            data = await asyncio.to_thread(self._file.read, block, "float32", True)
            if data.shape[0] == 0:
                return
            mono = np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)
            if self._realtime:
                due = started + (position + mono.size) / self.sample_rate_hz / self._speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            yield AudioBlock(
                mono, self.sample_rate_hz, position, t0 + position / self.sample_rate_hz
            )
            position += mono.size
