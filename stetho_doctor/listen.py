"""`stetho listen`: ask an agent for a device's live stream and play it, or write it to a WAV."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from edge_agent.errors import MalformedChunkError, PublishError
from edge_agent.pipeline.live import decode_chunk
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.wire import messages, topics
from stetho_doctor.client import command_message, connect

log = logging.getLogger(__name__)
RENEW_EVERY_S = 60.0  # the agent stops by itself after the timeout unless we renew


class AudioSink(Protocol):
    def write(self, pcm: NDArray[np.int16], sample_rate_hz: int) -> None: ...
    def close(self) -> None: ...


class WavSink:
    """A 16-bit mono WAV file, opened at the first chunk (when the sample rate is known)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: sf.SoundFile | None = None

    def write(self, pcm: NDArray[np.int16], sample_rate_hz: int) -> None:
        if self._file is None:
            self._file = sf.SoundFile(
                self.path, "w", samplerate=sample_rate_hz, channels=1, subtype="PCM_16"
            )
        self._file.write(pcm)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class SpeakerSink:
    """Plays through PyAudio; raise ImportError/OSError when there is no library or sound card."""

    def __init__(self) -> None:
        import pyaudio

        self._audio: Any = pyaudio.PyAudio()
        self._format = pyaudio.paInt16
        self._stream: Any = None

    def write(self, pcm: NDArray[np.int16], sample_rate_hz: int) -> None:
        if self._stream is None:
            self._stream = self._audio.open(
                format=self._format, channels=1, rate=sample_rate_hz, output=True
            )
        self._stream.write(pcm.astype("<i2").tobytes())

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop_stream()
            self._stream.close()
        self._audio.terminate()


def open_sink(out: Path | None) -> AudioSink:
    if out is not None:
        return WavSink(out)
    try:
        return SpeakerSink()
    except (ImportError, OSError) as exc:
        fallback = Path("live.wav")
        log.warning("event=no_sound_card error=%r writing=%s", str(exc), fallback)
        return WavSink(fallback)


@dataclass
class ListenStats:
    chunks: int = 0
    samples: int = 0
    lost_chunks: int = 0
    malformed: int = 0


async def listen(
    settings: MqttSettings,
    site: str,
    device: str,
    seconds: float,
    sink: AudioSink,
    by: str,
) -> ListenStats:
    """Stream `seconds` of a device's live audio into `sink`; stop the stream afterwards."""
    stats = ListenStats()
    connection = await connect(settings)  # settings subscribe to the live topic
    live_topic = topics.live(site, device)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    renew_at = loop.time()
    expected_seq: int | None = None
    try:
        while (now := loop.time()) < deadline:
            if now >= renew_at:
                timeout_s = min(deadline - now + 10, messages.MAX_LIVE_S)
                start = command_message(site, device, "live_start", by, timeout_s)
                await connection.publish(start)
                renew_at = now + RENEW_EVERY_S
            try:
                async with asyncio.timeout(min(1.0, deadline - now)):
                    message = await connection.messages.get()
            except TimeoutError:
                continue
            if message.topic != live_topic:
                continue
            try:
                header, pcm = decode_chunk(message.payload)
            except MalformedChunkError:
                stats.malformed += 1
                continue
            if expected_seq is not None and header.seq > expected_seq:
                stats.lost_chunks += header.seq - expected_seq
            expected_seq = header.seq + 1
            sink.write(pcm, header.sample_rate_hz)
            stats.chunks += 1
            stats.samples += len(pcm)
    finally:
        with contextlib.suppress(PublishError, TimeoutError):
            await connection.publish(command_message(site, device, "live_stop", by), timeout_s=5)
        await connection.disconnect()
        sink.close()
    return stats
