"""Live listening: while a doctor asks for it, a device's blocks go out as PCM chunks (QoS 0).

The recording pipeline is untouched: the device loop hands every block to `offer`,
which returns at once when nobody listens. Chunks are never stored: a late live
chunk is worthless, so they skip the outbox and expire at the broker within seconds.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edge_agent.errors import MalformedChunkError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages, topics
from firmware_bridge.flac import to_pcm16
from stetho_common import quote

if TYPE_CHECKING:  # the sources load the radio stack (bleak, D-Bus): the hub's console needn't
    from firmware_bridge.sources import AudioBlock

log = logging.getLogger(__name__)

LIVE_CONTENT_TYPE = "application/vnd.stetho.live-pcm16"
LIVE_EXPIRY_S = 5  # older than this, a chunk only adds delay to what the doctor hears
_HEADER = struct.Struct("<4sIdI")
_MAGIC = b"STL1"
MAX_CHUNK_SAMPLES = 48000  # one second at the highest rate we accept; bounds a decoder's memory


def encode_chunk(header: messages.LiveChunkHeader, pcm: NDArray[np.int16]) -> bytes:
    fixed = _HEADER.pack(_MAGIC, header.seq, header.captured_at, header.sample_rate_hz)
    return fixed + pcm.astype("<i2").tobytes()


def decode_chunk(payload: bytes) -> tuple[messages.LiveChunkHeader, NDArray[np.int16]]:
    """Split a live payload into its header and samples; raise MalformedChunkError otherwise."""
    if len(payload) < _HEADER.size or (len(payload) - _HEADER.size) % 2:
        raise MalformedChunkError(f"live chunk of {len(payload)} bytes is not header + PCM16")
    magic, seq, captured_at, rate = _HEADER.unpack_from(payload)
    if magic != _MAGIC or rate == 0:
        raise MalformedChunkError(f"live chunk has magic {magic!r} and rate {rate}")
    pcm = np.frombuffer(payload, dtype="<i2", offset=_HEADER.size).astype(np.int16)
    if len(pcm) > MAX_CHUNK_SAMPLES:
        raise MalformedChunkError(f"live chunk of {len(pcm)} samples exceeds {MAX_CHUNK_SAMPLES}")
    header = messages.LiveChunkHeader(seq=seq, captured_at=captured_at, sample_rate_hz=rate)
    return header, pcm


@dataclass
class LiveSession:
    device: str
    requested_by: str
    deadline: float  # on the streamer's monotonic clock
    seq: int = 0
    sent: int = 0
    dropped: int = 0


class LiveStreamer:
    """Which devices stream now, until when; turns their blocks into live messages.

    `send` publishes without waiting and returns False when there is no connection
    (the chunk is then dropped, which is right for live audio).
    """

    def __init__(
        self,
        site: str,
        send: Callable[[OutboundMessage], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self._send = send
        self._clock = clock
        self.sessions: dict[str, LiveSession] = {}

    def start(self, device: str, timeout_s: float, requested_by: str) -> None:
        """Start, or extend, a device's stream; a repeated start renews the timeout."""
        deadline = self._clock() + timeout_s
        session = self.sessions.get(device)
        if session is None:
            self.sessions[device] = LiveSession(device, requested_by, deadline)
            log.info(
                "event=live_started device=%s by=%s timeout_s=%.0f",
                device,
                quote(requested_by),
                timeout_s,
            )
        else:
            session.deadline = deadline

    def stop(self, device: str, reason: str) -> None:
        session = self.sessions.pop(device, None)
        if session is not None:
            log.info(
                "event=live_stopped device=%s reason=%s chunks_sent=%d chunks_dropped=%d",
                device,
                quote(reason),
                session.sent,
                session.dropped,
            )

    def offer(self, device: str, block: AudioBlock) -> None:
        """Called for every block of every device: cheap when the device is not streaming."""
        session = self.sessions.get(device)
        if session is None:
            return
        if self._clock() >= session.deadline:
            self.stop(device, "timeout")
            return
        header = messages.LiveChunkHeader(
            seq=session.seq % 2**32,
            captured_at=block.start_time,
            sample_rate_hz=block.sample_rate_hz,
        )
        session.seq += 1
        message = OutboundMessage(
            topics.live(self.site, device),
            encode_chunk(header, to_pcm16(block.samples)),
            qos=0,
            content_type=LIVE_CONTENT_TYPE,
            expiry_s=LIVE_EXPIRY_S,
            user_properties=(("schema_version", str(messages.SCHEMA_VERSION)),),
        )
        if self._send(message):
            session.sent += 1
        else:
            session.dropped += 1
