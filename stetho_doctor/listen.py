"""`stetho listen`: ask an agent for a device's live stream and play it, or write it to a WAV."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from edge_agent.errors import ConfigError, MalformedChunkError, PublishError
from edge_agent.pipeline.live import decode_chunk
from edge_agent.transport.mqtt import MqttConnection, MqttSettings
from edge_agent.wire import messages, topics
from stetho_common.private_files import private_file
from stetho_doctor.client import DoctorToolError, command_message, connect

RENEW_EVERY_S = 60.0  # the agent stops by itself after the timeout unless we renew


class AudioSink(Protocol):
    def write(self, pcm: NDArray[np.int16], sample_rate_hz: int) -> None: ...
    def close(self) -> None: ...


class WavSink:
    """A 16-bit mono WAV file, opened at the first chunk (when the sample rate is known)."""

    def __init__(self, path: Path) -> None:
        # Said before the care home is asked to stream, not at the first chunk.
        if path.is_dir():
            raise ConfigError("--out", [f"{path} is a folder: name a .wav file in it"])
        if not path.parent.is_dir():
            raise ConfigError("--out", [f"no folder {path.parent}: create it first"])
        self.path = path
        self._file: sf.SoundFile | None = None

    def write(self, pcm: NDArray[np.int16], sample_rate_hz: int) -> None:
        if self._file is None:
            try:
                private_file(self.path)  # a resident's sound: 0600 whatever the umask
                self._file = sf.SoundFile(
                    self.path, "w", samplerate=sample_rate_hz, channels=1, subtype="PCM_16"
                )
            except (OSError, RuntimeError) as exc:  # libsndfile's errors are RuntimeErrors
                raise DoctorToolError(f"cannot write {self.path}: {exc}") from exc
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


def open_sink(out: Path | None, say: Callable[[str], None]) -> AudioSink:
    """A WAV at `out`, else the speaker; without a sound card, ./live.wav, told through `say`."""
    if out is not None:
        return WavSink(out)
    try:
        return SpeakerSink()
    except (ImportError, OSError) as exc:
        fallback = Path("live.wav")
        why = str(exc) or type(exc).__name__  # an exception is always true; its text may be ""
        say(f"no sound card ({why}): writing {fallback.absolute()} instead")
        return WavSink(fallback)


@dataclass
class ListenStats:
    chunks: int = 0
    samples: int = 0
    seconds: float = 0.0  # of sound received, at each chunk's own rate
    lost_chunks: int = 0
    malformed: int = 0

    def summary(self) -> str:
        return (
            f"heard {self.seconds:.1f} s in {self.chunks} chunks "
            f"({self.lost_chunks} lost, {self.malformed} malformed)"
        )


class LiveStream:
    """A device's live chunks while someone listens: asks the agent to stream (`live_start`),
    renews the request every RENEW_EVERY_S, counts malformed and lost chunks in `stats`.

    Shared by `stetho listen` and the hub's console relay, so both keep one renewal rule.
    """

    def __init__(self, connection: MqttConnection, site: str, device: str, by: str,
                 lease_s: float) -> None:  # fmt: skip
        self.connection, self.site, self.device, self.by = connection, site, device, by
        self.lease_s = min(lease_s, messages.MAX_LIVE_S)
        self.stats = ListenStats()
        self._topic = topics.live(site, device)
        self._renew_at = 0.0
        self._expected_seq: int | None = None

    async def next(
        self, wait_s: float
    ) -> tuple[messages.LiveChunkHeader, NDArray[np.int16]] | None:
        """The next good chunk, or None when none came within `wait_s`."""
        loop = asyncio.get_running_loop()
        if loop.time() >= self._renew_at:
            start = command_message(self.site, self.device, "live_start", self.by, self.lease_s)
            await self.connection.publish(start)
            self._renew_at = loop.time() + RENEW_EVERY_S
        try:
            async with asyncio.timeout(wait_s):
                message = await self.connection.messages.get()
        except TimeoutError:
            return None
        if message.topic != self._topic:
            return None
        try:
            header, pcm = decode_chunk(message.payload)
        except MalformedChunkError:
            self.stats.malformed += 1
            return None
        if self._expected_seq is not None and header.seq > self._expected_seq:
            self.stats.lost_chunks += header.seq - self._expected_seq
        self._expected_seq = header.seq + 1
        self.stats.chunks += 1
        self.stats.samples += len(pcm)
        self.stats.seconds += len(pcm) / header.sample_rate_hz
        return header, pcm


@contextlib.asynccontextmanager
async def live_stream(
    settings: MqttSettings, site: str, device: str, by: str, lease_s: float
) -> AsyncIterator[LiveStream]:
    """Connect (`settings` subscribe to the live topic), stream; `live_stop` on the way out."""
    connection = await connect(settings)
    try:
        yield LiveStream(connection, site, device, by, lease_s)
    finally:
        with contextlib.suppress(PublishError, TimeoutError):
            await connection.publish(command_message(site, device, "live_stop", by), timeout_s=5)
        await connection.disconnect()


async def listen(
    settings: MqttSettings,
    site: str,
    device: str,
    seconds: float,
    sink: AudioSink,
    by: str,
) -> ListenStats:
    """Stream `seconds` of a device's live audio into `sink`; stop the stream afterwards."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        async with live_stream(settings, site, device, by, seconds + 10) as stream:
            while (now := loop.time()) < deadline:
                chunk = await stream.next(min(1.0, deadline - now))
                if chunk is not None:
                    sink.write(chunk[1], chunk[0].sample_rate_hz)
    finally:
        sink.close()
    return stream.stats
