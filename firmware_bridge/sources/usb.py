"""USB/analog stethoscopes (a Thinklabs-style chest piece into a USB sound card) via PyAudio.

PyAudio's `read` blocks, so it runs in a worker thread (`asyncio.to_thread`), never on the loop.
PyAudio is an optional dependency (`pip install stetho-edge[usb]`); without it this source raises
a clear `ConfigurationError` when opened.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator
from types import ModuleType, TracebackType
from typing import Any, Self

import numpy as np

from firmware_bridge.errors import ConfigurationError, DeviceNotFoundError, LinkLostError
from firmware_bridge.sources.base import AudioBlock, DeviceEvent

__all__ = ["UsbSource"]


class UsbSource:
    """Mono int16 capture from a sound card, yielded as float32 blocks.

    Parameters
    ----------
    device_id : str
        Our identifier for the device.
    input_device : str
        "default", a PortAudio device index, or part of the device's name.
    sample_rate_hz : int
        Capture rate in Hz; the card must support it.
    block_s : float
        Block length in seconds (one blocking read each).
    pyaudio_module : module or None
        The PyAudio module to use; tests pass a fake with the same interface.
    """

    def __init__(
        self,
        device_id: str,
        input_device: str = "default",
        sample_rate_hz: int = 8000,
        *,
        block_s: float = 0.1,
        pyaudio_module: ModuleType | Any | None = None,
    ) -> None:
        self.device_id = device_id
        self.sample_rate_hz = sample_rate_hz
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        self._input_device = input_device
        self._block = max(1, round(block_s * sample_rate_hz))
        self._module = pyaudio_module
        self._audio: Any = None
        self._stream: Any = None

    async def __aenter__(self) -> Self:
        module = self._module or _import_pyaudio()
        self._audio = module.PyAudio()
        try:
            index = self._device_index()
            self._stream = await asyncio.to_thread(
                self._audio.open,
                format=module.paInt16,
                channels=1,
                rate=self.sample_rate_hz,
                input=True,
                input_device_index=index,
                frames_per_buffer=self._block,
            )
        except OSError as exc:  # PortAudio reports unsupported rates and busy cards this way
            self._audio.terminate()
            raise DeviceNotFoundError(
                f"cannot open sound card {self._input_device!r}: {exc}"
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await asyncio.to_thread(self._close_stream)
        if self._audio is not None:
            self._audio.terminate()
            self._audio = None

    def _close_stream(self) -> None:
        self._stream.stop_stream()
        self._stream.close()
        self._stream = None

    def _device_index(self) -> int | None:
        if self._input_device == "default":
            return None
        if self._input_device.isdigit():
            return int(self._input_device)
        for index in range(self._audio.get_device_count()):
            info = self._audio.get_device_info_by_index(index)
            if self._input_device in str(info["name"]) and int(info["maxInputChannels"]) > 0:
                return index
        raise DeviceNotFoundError(f"no input sound card named like {self._input_device!r}")

    def __aiter__(self) -> AsyncIterator[AudioBlock]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[AudioBlock]:
        position = 0
        t0 = time.time()
        while self._stream is not None:
            try:
                # Overflow means the card dropped input while we were late; keep what it has.
                raw = await asyncio.to_thread(self._stream.read, self._block, False)
            except OSError as exc:
                raise LinkLostError(f"sound card {self._input_device!r} failed: {exc}") from exc
            pcm = np.frombuffer(raw, dtype="<i2")
            samples = (pcm.astype(np.float32) / np.float32(32768.0)).astype(np.float32)
            yield AudioBlock(
                samples, self.sample_rate_hz, position, t0 + position / self.sample_rate_hz
            )
            position += samples.size


def _import_pyaudio() -> ModuleType:
    try:
        return importlib.import_module("pyaudio")
    except ImportError as exc:
        raise ConfigurationError(
            "USB sources need PyAudio: install with `pip install stetho-edge[usb]`"
        ) from exc
