"""The profile's control, response and status bytes at each bound, from both sides.

Every expected value is typed from docs/ble-profile.md (section 3: the control point and the
status characteristic), not computed from `gatt`'s own tables.
"""

from __future__ import annotations

import pytest

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.gatt import (
    ControlCommand,
    ControlResponse,
    Opcode,
    ResultCode,
    Status,
    StatusFlags,
    rate_code,
)


@pytest.mark.parametrize(("hz", "code"), [(2000, 0), (4000, 1), (8000, 2)])
def test_each_profile_rate_has_its_code(hz: int, code: int) -> None:
    assert rate_code(hz) == code


@pytest.mark.parametrize("hz", [0, 1999, 2001, 3000, 16000])
def test_any_other_rate_is_refused_in_one_sentence(hz: int) -> None:
    with pytest.raises(ValueError) as refused:
        rate_code(hz)
    assert str(refused.value) == f"{hz} Hz is not a profile rate (2000, 4000 or 8000)"


@pytest.mark.parametrize(
    ("command", "data"),
    [
        (ControlCommand(Opcode.STOP_STREAM), b"\x02"),
        (ControlCommand(Opcode.START_STREAM, 1), b"\x01\x01"),
        (ControlCommand(Opcode.SET_FILTER, 2), b"\x03\x02"),
        (ControlCommand(Opcode.SET_SAMPLE_RATE, 0), b"\x04\x00"),
        (ControlCommand(Opcode.SET_GAIN, -12), b"\x05\xf4"),  # the gain is a signed byte
        (ControlCommand(Opcode.SET_GAIN, 24), b"\x05\x18"),
        (ControlCommand(Opcode.SET_GAIN, -1), b"\x05\xff"),
        (ControlCommand(Opcode.START_STREAM, 200), b"\x01\xc8"),  # others are unsigned
        (ControlCommand(Opcode.SET_FILTER, 255), b"\x03\xff"),
    ],
)
def test_a_command_is_its_opcode_then_its_one_byte_parameter(
    command: ControlCommand, data: bytes
) -> None:
    assert command.encode() == data


@pytest.mark.parametrize(
    "data",
    [
        b"\x01\x00", b"\x01\x01",  # PCM16, IMA ADPCM
        b"\x02",
        b"\x03\x00", b"\x03\x01", b"\x03\x02",  # bell, diaphragm, wide
        b"\x04\x00", b"\x04\x01", b"\x04\x02",  # 2, 4, 8 kHz
        b"\x05\xf4", b"\x05\x00", b"\x05\x18",  # -12, 0, +24 dB
    ],
)  # fmt: skip
def test_every_valid_write_decodes_to_the_command_that_encodes_it(data: bytes) -> None:
    command = ControlCommand.decode(data)
    assert isinstance(command, ControlCommand)
    assert command.opcode == data[0]
    assert command.parameter == (None if len(data) == 1 else int.from_bytes(data[1:], signed=True))
    assert command.encode() == data


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"\x05\xf4", -12), (b"\x05\xff", -1), (b"\x05\x01", 1), (b"\x05\x18", 24)],
)
def test_the_gain_is_read_signed(data: bytes, value: int) -> None:
    assert ControlCommand.decode(data) == ControlCommand(Opcode.SET_GAIN, value)


@pytest.mark.parametrize(
    "data",
    [
        b"\x01\x02",  # no third codec
        b"\x03\x03",  # no fourth filter
        b"\x04\x03",  # no fourth rate
        b"\x04\xff",
        b"\x05\xf3",  # -13 dB
        b"\x05\x19",  # +25 dB
        b"\x05\x80",  # -128 dB
        b"\x05\x7f",  # +127 dB
    ],
)
def test_a_parameter_just_past_its_bound_is_invalid(data: bytes) -> None:
    assert ControlCommand.decode(data) is ResultCode.INVALID_PARAMETER


@pytest.mark.parametrize(
    "data",
    [
        b"\x01", b"\x01\x00\x00",
        b"\x02\x00",
        b"\x03", b"\x03\x00\x00",
        b"\x04", b"\x04\x00\x00",
        b"\x05", b"\x05\x00\x00",
    ],
)  # fmt: skip
def test_a_write_one_byte_short_or_long_is_invalid(data: bytes) -> None:
    assert ControlCommand.decode(data) is ResultCode.INVALID_PARAMETER


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x06", b"\x06\x00", b"\x80\x01\x01", b"\xff"])
def test_an_opcode_outside_the_requests_is_not_supported(data: bytes) -> None:
    assert ControlCommand.decode(data) is ResultCode.OPCODE_NOT_SUPPORTED


@pytest.mark.parametrize("result", [1, 2, 3, 4, 5])
def test_each_result_code_round_trips_in_three_bytes(result: int) -> None:
    data = bytes([0x80, 0x04, result])
    response = ControlResponse.decode(data)
    assert (response.request, response.result) == (4, result)
    assert response.encode() == data
    assert ControlResponse(0x05, ResultCode(result)).encode() == bytes([0x80, 0x05, result])


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x01", b"\x80\x01\x01\x00",  # one byte short or long
        b"\x81\x01\x01", b"\x00\x01\x01", b"\x01\x01\x01",  # not the response opcode
        b"\x80\x01\x00", b"\x80\x01\x06",  # result codes run 1 to 5
    ],
)  # fmt: skip
def test_anything_else_is_not_a_response(data: bytes) -> None:
    with pytest.raises(MalformedFrameError) as refused:
        ControlResponse.decode(data)
    assert str(refused.value) == f"not a control point response: {data.hex()}"


def test_status_is_the_flags_byte_then_the_press_count() -> None:
    flags = StatusFlags.CONTACT | StatusFlags.CLIPPING
    assert Status(flags, 3).encode() == b"\x05\x03"
    assert Status(StatusFlags.NONE, 255).encode() == b"\x00\xff"
    assert Status(StatusFlags.STREAMING, 256 + 7).encode() == b"\x08\x07"  # the count wraps
    assert Status(StatusFlags.BUTTON_HELD, 511).encode() == b"\x02\xff"


@pytest.mark.parametrize(
    ("data", "flags", "presses"),
    [
        (b"\x0f\xff", 0x0F, 255),
        (b"\xff\x00", 0x0F, 0),  # the upper four bits are reserved: ignored
        (b"\xf2\x80", 0x02, 128),
        (b"\x10\x01", 0x00, 1),
    ],
)
def test_status_keeps_the_four_defined_flags_and_the_whole_count(
    data: bytes, flags: int, presses: int
) -> None:
    status = Status.decode(data)
    assert (int(status.flags), status.button_presses) == (flags, presses)
    assert isinstance(status.flags, StatusFlags)


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x01\x02\x03"])
def test_status_of_any_other_length_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedFrameError) as refused:
        Status.decode(data)
    assert str(refused.value) == f"status must be 2 bytes, got {data.hex()}"
