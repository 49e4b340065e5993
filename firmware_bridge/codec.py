"""Sans-I/O codec for the audio stream characteristic (see docs/ble-profile.md, "Audio frames").

`encode_frame` turns an `AudioFrame` into the bytes a stethoscope notifies; `FrameDecoder` turns
received bytes back into frames. The decoder never raises on anything a device sends: a bad frame
comes out as a `MalformedFrame` event (counted, then dropped by the caller). It never awaits,
sleeps, reads the clock or logs.

Two framings share one decoder. In datagram mode (BLE) each `feed` is one notification, so a
frame cut short is malformed. In stream mode (a serial or recorded byte stream) a short buffer
is merely incomplete: `next_frame` answers `NEED_DATA` until the rest arrives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from typing import Final

import numpy as np
from numpy.typing import NDArray

from firmware_bridge import _adpcm
from firmware_bridge.errors import BridgeError
from stetho_common.sans_io import NEED_DATA, NeedData

__all__ = [
    "HEADER",
    "MAX_FRAME_BYTES",
    "MAX_SAMPLES_PER_FRAME",
    "NEED_DATA",
    "PROFILE_VERSION",
    "RATE_CODES",
    "AudioFrame",
    "Codec",
    "FrameDecoder",
    "FrameFlags",
    "MalformedFrame",
    "MalformedReason",
    "NeedData",
    "encode_frame",
    "payload_size",
]

PROFILE_VERSION: Final = 1
HEADER: Final = struct.Struct("<BBHIHBB")  # version, codec, seq, first sample, count, flags, rate
# A notification carries at most ATT_MTU - 3 bytes and the largest ATT MTU is 517 (Core 5.3,
# Vol 3, Part F, 3.2.9), so no valid frame is longer; anything longer is malformed, not big.
MAX_FRAME_BYTES: Final = 514
# ADPCM carries the first sample in its 4-byte state and packs two more a byte:
# (514 - 12 header - 4 state) * 2 + 1 = 997. Capping the count read
# off the wire bounds the memory a hostile frame can make us allocate.
MAX_SAMPLES_PER_FRAME: Final = 997
# Stream mode keeps at most this much unparsed input; a caller that feeds without draining is
# a bug on our side, reported with a local error rather than growing without bound.
_MAX_BUFFERED_BYTES: Final = 64 * 1024
_ADPCM_STATE: Final = struct.Struct("<hBB")  # predictor, step index, reserved


class Codec(IntEnum):
    """Payload encoding, byte 1 of the header."""

    PCM16 = 0
    IMA_ADPCM = 1


class FrameFlags(IntFlag):
    """Byte 10 of the header. Receivers ignore bits they do not know (forward compatibility)."""

    NONE = 0
    CLIPPING = 0x01  # at least one sample of this frame hit full scale
    NO_CONTACT = 0x02  # the chest piece was off the skin while this frame was sampled
    STREAM_START = 0x04  # first frame after a start command


RATE_CODES: Final[dict[int, int]] = {0: 2000, 1: 4000, 2: 8000}  # header byte 11 -> Hz
_RATE_TO_CODE: Final = {hz: code for code, hz in RATE_CODES.items()}


def payload_size(codec: Codec, count: int) -> int:
    """Payload bytes a frame of `count` samples needs in `codec`."""
    if codec is Codec.PCM16:
        return 2 * count
    return _ADPCM_STATE.size + count // 2  # first sample rides in the state


@dataclass(frozen=True)
class AudioFrame:
    """One decoded audio frame; `payload` holds the samples still encoded in `codec`."""

    sequence: int  # 16-bit, wraps
    sample_index: int  # 32-bit index of the first sample since the device started sampling
    sample_rate_hz: int
    codec: Codec
    sample_count: int
    payload: bytes
    flags: FrameFlags = FrameFlags.NONE

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.sequence <= 0xFFFF:
            problems.append("sequence outside 0..65535")
        if not 0 <= self.sample_index <= 0xFFFFFFFF:
            problems.append("sample_index outside 32 bits")
        if self.sample_rate_hz not in _RATE_TO_CODE:
            problems.append(f"sample rate {self.sample_rate_hz} Hz not in the profile")
        if not 1 <= self.sample_count <= MAX_SAMPLES_PER_FRAME:
            problems.append(f"sample_count outside 1..{MAX_SAMPLES_PER_FRAME}")
        elif len(self.payload) != payload_size(self.codec, self.sample_count):
            problems.append("payload length does not match codec and sample_count")
        if problems:
            raise ValueError("invalid AudioFrame: " + "; ".join(problems))

    @classmethod
    def from_samples(
        cls,
        samples: NDArray[np.int16],
        *,
        sequence: int,
        sample_index: int,
        sample_rate_hz: int,
        codec: Codec = Codec.PCM16,
        flags: FrameFlags = FrameFlags.NONE,
    ) -> AudioFrame:
        """Encode int16 `samples` into a frame (ADPCM frames start from the first sample)."""
        pcm = np.asarray(samples, dtype=np.int16)
        if codec is Codec.PCM16:
            payload = pcm.astype("<i2").tobytes()
        else:
            predictor, index = (int(pcm[0]) if pcm.size else 0), _initial_step_index(pcm)
            state = _ADPCM_STATE.pack(predictor, index, 0)
            payload = state + _adpcm.encode(pcm[1:], predictor, index)
        return cls(sequence, sample_index, sample_rate_hz, codec, int(pcm.size), payload, flags)

    def samples(self) -> NDArray[np.int16]:
        """The decoded int16 samples."""
        if self.codec is Codec.PCM16:
            return np.frombuffer(self.payload, dtype="<i2").astype(np.int16)
        predictor, index, _ = _ADPCM_STATE.unpack_from(self.payload)
        nibbles = self.payload[_ADPCM_STATE.size :]
        rest = _adpcm.decode(nibbles, self.sample_count - 1, predictor, index)
        return np.concatenate([np.array([predictor], dtype=np.int16), rest])

    @property
    def frame_size(self) -> int:
        """Bytes on the wire, header included."""
        return HEADER.size + len(self.payload)


def _initial_step_index(pcm: NDArray[np.int16]) -> int:
    # Start the quantiser near the signal's first differences so loud frames converge at once.
    if pcm.size < 2:
        return 0
    first_delta = abs(int(pcm[1]) - int(pcm[0]))
    return min(_adpcm.MAX_STEP_INDEX, max(0, first_delta.bit_length() * 4 - 12))


def encode_frame(frame: AudioFrame) -> bytes:
    """The notification bytes for `frame`."""
    header = HEADER.pack(
        PROFILE_VERSION,
        frame.codec,
        frame.sequence,
        frame.sample_index,
        frame.sample_count,
        frame.flags,
        _RATE_TO_CODE[frame.sample_rate_hz],
    )
    return header + frame.payload


class MalformedReason(Enum):
    """Why a frame was rejected."""

    TOO_SHORT = "shorter than the 12-byte header"
    BAD_VERSION = "unknown profile version"
    BAD_CODEC = "unknown codec"
    BAD_RATE = "unknown sample-rate code"
    BAD_COUNT = "sample count zero or above the cap"
    TOO_LONG = "longer than the largest notification"
    BAD_ADPCM_STATE = "ADPCM step index above 88"
    TRUNCATED = "notification ended inside a frame"


@dataclass(frozen=True)
class MalformedFrame:
    """A rejected frame: the reason and up to 32 of its bytes, for the log."""

    reason: MalformedReason
    head: bytes


class FrameDecoder:
    """Bytes in, `AudioFrame` / `MalformedFrame` / `NEED_DATA` out.

    Parameters
    ----------
    datagrams : bool
        True (BLE): each `feed` is one whole notification, which must hold whole frames.
        False: the input is a byte stream; after garbage the decoder resynchronises on the next
        byte that could start a header.
    """

    def __init__(self, *, datagrams: bool = True) -> None:
        self._datagrams = datagrams
        self._buffer = bytearray()
        self._message_ends: list[int] = []  # datagram boundaries, offsets into _buffer
        self.frames_decoded = 0
        self.frames_malformed = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes (one notification in datagram mode)."""
        if len(self._buffer) + len(data) > _MAX_BUFFERED_BYTES:
            raise BridgeError("FrameDecoder buffer full: call next_frame() until NEED_DATA")
        self._buffer += data
        if self._datagrams:
            self._message_ends.append(len(self._buffer))

    def next_frame(self) -> AudioFrame | MalformedFrame | NeedData:
        """Return the next frame, a malformed-frame event, or `NEED_DATA`."""
        limit = self._message_ends[0] if self._message_ends else len(self._buffer)
        if limit == 0:
            if self._message_ends:  # an empty notification
                self._message_ends.pop(0)
                return self._malformed(MalformedReason.TOO_SHORT, b"")
            return NEED_DATA
        result = _parse(memoryview(self._buffer)[:limit])
        if isinstance(result, AudioFrame):
            self._consume(result.frame_size)
            self.frames_decoded += 1
            return result
        if result is None:  # incomplete
            if not self._datagrams:
                return NEED_DATA
            reason = MalformedReason.TOO_SHORT if limit < HEADER.size else MalformedReason.TRUNCATED
            return self._reject(reason, limit)
        return self._reject(result, limit if self._datagrams else self._resync_point())

    def _reject(self, reason: MalformedReason, drop: int) -> MalformedFrame:
        head = bytes(self._buffer[: min(drop, 32)])
        self._consume(drop)
        return self._malformed(reason, head)

    def _malformed(self, reason: MalformedReason, head: bytes) -> MalformedFrame:
        self.frames_malformed += 1
        return MalformedFrame(reason, head)

    def _resync_point(self) -> int:
        found = self._buffer.find(PROFILE_VERSION, 1)
        return found if found > 0 else len(self._buffer)

    def _consume(self, n_bytes: int) -> None:
        del self._buffer[:n_bytes]
        if self._message_ends:
            self._message_ends = [end - n_bytes for end in self._message_ends]
            # Parsing never crosses the first boundary, so at most one datagram is finished.
            if self._message_ends[0] <= 0:
                self._message_ends.pop(0)


def _parse(view: memoryview) -> AudioFrame | MalformedReason | None:
    """Parse one frame at the start of `view`: a frame, a reason it is malformed, or None if
    more bytes are needed."""
    if len(view) < 1:
        return None
    if view[0] != PROFILE_VERSION:
        return MalformedReason.BAD_VERSION
    if len(view) < HEADER.size:
        return None
    _, codec, seq, first, count, flags, rate_code = HEADER.unpack_from(view)
    if codec not in (Codec.PCM16, Codec.IMA_ADPCM):
        return MalformedReason.BAD_CODEC
    if rate_code not in RATE_CODES:
        return MalformedReason.BAD_RATE
    if not 1 <= count <= MAX_SAMPLES_PER_FRAME:
        return MalformedReason.BAD_COUNT
    size = HEADER.size + payload_size(Codec(codec), count)
    if size > MAX_FRAME_BYTES:
        return MalformedReason.TOO_LONG
    if len(view) < size:
        return None
    payload = bytes(view[HEADER.size : size])
    if codec == Codec.IMA_ADPCM and payload[2] > _adpcm.MAX_STEP_INDEX:
        return MalformedReason.BAD_ADPCM_STATE
    return AudioFrame(
        seq, first, RATE_CODES[rate_code], Codec(codec), count, payload, FrameFlags(flags)
    )
