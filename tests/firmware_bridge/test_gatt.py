"""Control point and status messages: bad writes get the right result code, not an exception."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.gatt import ControlCommand, ControlResponse, ResultCode, Status, rate_code


@pytest.mark.parametrize(
    ("data", "result"),
    [
        (b"", ResultCode.OPCODE_NOT_SUPPORTED),
        (b"\x7f", ResultCode.OPCODE_NOT_SUPPORTED),
        (b"\x01", ResultCode.INVALID_PARAMETER),  # start without codec
        (b"\x01\x05", ResultCode.INVALID_PARAMETER),
        (b"\x02\x00", ResultCode.INVALID_PARAMETER),  # stop takes no parameter
        (b"\x04\x03", ResultCode.INVALID_PARAMETER),
        (b"\x05\x19", ResultCode.INVALID_PARAMETER),  # +25 dB
        (b"\x05\xf3", ResultCode.INVALID_PARAMETER),  # -13 dB
        (b"\x03\x03", ResultCode.INVALID_PARAMETER),
    ],
)
def test_bad_control_writes_map_to_result_codes(data: bytes, result: ResultCode) -> None:
    assert ControlCommand.decode(data) is result


@pytest.mark.parametrize("data", [b"", b"\x80\x01", b"\x01\x01\x01", b"\x80\x01\x09"])
def test_bad_responses_raise_a_typed_error(data: bytes) -> None:
    with pytest.raises(MalformedFrameError):
        ControlResponse.decode(data)


def test_status_must_be_two_bytes() -> None:
    with pytest.raises(MalformedFrameError):
        Status.decode(b"\x01")


def test_rate_codes() -> None:
    assert [rate_code(r) for r in (2000, 4000, 8000)] == [0, 1, 2]
    with pytest.raises(ValueError, match="not a profile rate"):
        rate_code(44100)
