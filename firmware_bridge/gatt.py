"""The GATT layout of the open stethoscope profile and its control and status messages.

Sans-I/O like `codec.py`: constants, value objects and byte encoders/decoders only. The byte
layouts are specified in docs/ble-profile.md; the hex examples there are checked by the tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final

from firmware_bridge.codec import RATE_CODES, Codec
from firmware_bridge.errors import MalformedFrameError

__all__ = [
    "AUDIO_CHAR_UUID",
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "CONTROL_CHAR_UUID",
    "DEVICE_INFO_SERVICE_UUID",
    "FIRMWARE_REVISION_UUID",
    "MODEL_NUMBER_UUID",
    "SERIAL_NUMBER_UUID",
    "SERVICE_UUID",
    "STATUS_CHAR_UUID",
    "ControlCommand",
    "ControlResponse",
    "FilterMode",
    "Opcode",
    "ResultCode",
    "Status",
    "StatusFlags",
    "rate_code",
]

# 128-bit UUIDs of our own service; the last 6 bytes spell "stetho" in ASCII.
SERVICE_UUID: Final = "5e7a0001-5354-4845-8000-737465746800"
AUDIO_CHAR_UUID: Final = "5e7a0002-5354-4845-8000-737465746800"
CONTROL_CHAR_UUID: Final = "5e7a0003-5354-4845-8000-737465746800"
STATUS_CHAR_UUID: Final = "5e7a0004-5354-4845-8000-737465746800"
# Bluetooth SIG assigned numbers (Assigned Numbers, section 3.4 and 3.8).
BATTERY_SERVICE_UUID: Final = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID: Final = "00002a24-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER_UUID: Final = "00002a25-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID: Final = "00002a26-0000-1000-8000-00805f9b34fb"


class Opcode(IntEnum):
    """Control point request opcodes (byte 0 of a write)."""

    START_STREAM = 0x01  # parameter: codec (u8)
    STOP_STREAM = 0x02
    SET_FILTER = 0x03  # parameter: FilterMode (u8)
    SET_SAMPLE_RATE = 0x04  # parameter: rate code (u8): 0 = 2 kHz, 1 = 4 kHz, 2 = 8 kHz
    SET_GAIN = 0x05  # parameter: gain in dB (i8), -12..+24
    RESPONSE = 0x80  # device to host: RESPONSE, request opcode, ResultCode


class FilterMode(IntEnum):
    """Acoustic filter emulation: bell 20-200 Hz, diaphragm 100-500 Hz, wide 20-1000 Hz."""

    BELL = 0
    DIAPHRAGM = 1
    WIDE = 2


class ResultCode(IntEnum):
    """Byte 2 of a control point response."""

    SUCCESS = 0x01
    OPCODE_NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    OPERATION_FAILED = 0x04
    BUSY = 0x05  # e.g. changing the sample rate while streaming


_PARAMETER_SIZE: Final = {
    Opcode.START_STREAM: 1,
    Opcode.STOP_STREAM: 0,
    Opcode.SET_FILTER: 1,
    Opcode.SET_SAMPLE_RATE: 1,
    Opcode.SET_GAIN: 1,
}
GAIN_RANGE_DB: Final = (-12, 24)


def rate_code(sample_rate_hz: int) -> int:
    """The one-byte code of a profile sample rate."""
    for code, hz in RATE_CODES.items():
        if hz == sample_rate_hz:
            return code
    raise ValueError(f"{sample_rate_hz} Hz is not a profile rate (2000, 4000 or 8000)")


@dataclass(frozen=True)
class ControlCommand:
    """A control point write: an opcode and its signed or unsigned one-byte parameter."""

    opcode: Opcode
    parameter: int | None = None

    def encode(self) -> bytes:
        """The bytes written to the control point."""
        if self.parameter is None:
            return bytes([self.opcode])
        fmt = "<Bb" if self.opcode is Opcode.SET_GAIN else "<BB"
        return struct.pack(fmt, self.opcode, self.parameter)

    @classmethod
    def decode(cls, data: bytes) -> ControlCommand | ResultCode:
        """Parse a write on the device side; a bad write gives the ResultCode to answer."""
        if not data or data[0] not in _PARAMETER_SIZE:
            return ResultCode.OPCODE_NOT_SUPPORTED
        opcode = Opcode(data[0])
        if len(data) != 1 + _PARAMETER_SIZE[opcode]:
            return ResultCode.INVALID_PARAMETER
        if len(data) == 1:
            return cls(opcode)
        value = struct.unpack("<b", data[1:2])[0] if opcode is Opcode.SET_GAIN else data[1]
        valid = {
            Opcode.START_STREAM: value in tuple(Codec),
            Opcode.SET_FILTER: value in tuple(FilterMode),
            Opcode.SET_SAMPLE_RATE: value in RATE_CODES,
            Opcode.SET_GAIN: GAIN_RANGE_DB[0] <= value <= GAIN_RANGE_DB[1],
        }
        return cls(opcode, value) if valid[opcode] else ResultCode.INVALID_PARAMETER


@dataclass(frozen=True)
class ControlResponse:
    """The device's answer to a control point write, notified on the control point."""

    request: int
    result: ResultCode

    def encode(self) -> bytes:
        """The three notified bytes: 0x80, the request opcode, the result code."""
        return bytes([Opcode.RESPONSE, self.request, self.result])

    @classmethod
    def decode(cls, data: bytes) -> ControlResponse:
        """Parse a response; raises MalformedFrameError on anything else."""
        if len(data) != 3 or data[0] != Opcode.RESPONSE or data[2] not in tuple(ResultCode):
            raise MalformedFrameError(f"not a control point response: {bytes(data).hex()}")
        return cls(data[1], ResultCode(data[2]))


class StatusFlags(IntFlag):
    """Byte 0 of the status characteristic."""

    NONE = 0
    CONTACT = 0x01  # chest piece on the skin
    BUTTON_HELD = 0x02  # the chest-piece button is down now
    CLIPPING = 0x04  # the input clipped since the last status notification
    STREAMING = 0x08


@dataclass(frozen=True)
class Status:
    """Status characteristic value: flags and a wrapping count of button presses.

    The counter lets the host see a press whose notification it missed (it reads the
    characteristic after a reconnect and compares).
    """

    flags: StatusFlags
    button_presses: int  # u8, wraps

    def encode(self) -> bytes:
        """The two status bytes."""
        return bytes([self.flags, self.button_presses & 0xFF])

    @classmethod
    def decode(cls, data: bytes) -> Status:
        """Parse the status value; raises MalformedFrameError if it is not two bytes."""
        if len(data) != 2:
            raise MalformedFrameError(f"status must be 2 bytes, got {bytes(data).hex()}")
        return cls(StatusFlags(data[0] & 0x0F), data[1])
