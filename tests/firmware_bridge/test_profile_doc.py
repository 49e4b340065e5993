"""The hex examples in docs/ble-profile.md decode to what the text says they are."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.codec import (
    NEED_DATA,
    AudioFrame,
    Codec,
    FrameDecoder,
    FrameFlags,
    MalformedFrame,
    MalformedReason,
    encode_frame,
)
from firmware_bridge.gatt import (
    ControlCommand,
    ControlResponse,
    FilterMode,
    Opcode,
    ResultCode,
    Status,
    StatusFlags,
)

DOC = Path(__file__).parents[2] / "docs" / "ble-profile.md"
_EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```\n([0-9a-f ]+)\n```")


def examples() -> dict[str, bytes]:
    return {name: bytes.fromhex(hexa) for name, hexa in _EXAMPLE.findall(DOC.read_text())}


def decode_one(data: bytes) -> AudioFrame | MalformedFrame:
    decoder = FrameDecoder()
    decoder.feed(data)
    event = decoder.next_frame()
    assert decoder.next_frame() is NEED_DATA
    assert not isinstance(event, type(NEED_DATA))
    return event


def test_doc_has_every_example() -> None:
    assert len(examples()) == 16


def test_pcm16_frame_example() -> None:
    frame = decode_one(examples()["frame-pcm16"])
    assert isinstance(frame, AudioFrame)
    assert (frame.codec, frame.sequence, frame.sample_index, frame.sample_rate_hz) == (
        Codec.PCM16, 7, 4000, 4000,
    )  # fmt: skip
    assert frame.samples().tolist() == [0, 1000, 2000, 1000, 0, -1000, -2000, -1000]


def test_adpcm_frame_example_decodes_and_reencodes_identically() -> None:
    data = examples()["frame-adpcm"]
    frame = decode_one(data)
    assert isinstance(frame, AudioFrame)
    assert (frame.codec, frame.sequence, frame.sample_index, frame.sample_rate_hz) == (
        Codec.IMA_ADPCM, 0xFFFF, 0xFFFFFFF0, 8000,
    )  # fmt: skip
    assert frame.samples().tolist() == [
        0, 199, 629, 1554, 2481, 3082, 3629, 4126, 4759, 5170, 5692, 6032, 6463, 6855, 7110, 7433,
    ]  # fmt: skip
    tone = (np.sin(2 * np.pi * 100 * np.arange(16) / 8000) * 8000).astype(np.int16)
    again = AudioFrame.from_samples(
        tone, sequence=0xFFFF, sample_index=0xFFFFFFF0, sample_rate_hz=8000, codec=Codec.IMA_ADPCM
    )
    assert encode_frame(again) == data


def test_flags_frame_example() -> None:
    frame = decode_one(examples()["frame-flags"])
    assert isinstance(frame, AudioFrame)
    assert frame.flags == FrameFlags.CLIPPING | FrameFlags.STREAM_START
    assert frame.sample_rate_hz == 2000
    assert frame.samples().tolist() == [32767, 32767, -32768, -32768]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed-version", MalformedReason.BAD_VERSION),
        ("malformed-short", MalformedReason.TOO_SHORT),
        ("malformed-count", MalformedReason.BAD_COUNT),
        ("malformed-truncated", MalformedReason.TRUNCATED),
    ],
)
def test_malformed_examples_are_rejected_for_the_stated_reason(
    name: str, reason: MalformedReason
) -> None:
    event = decode_one(examples()[name])
    assert isinstance(event, MalformedFrame)
    assert event.reason is reason


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("control-start-pcm16", ControlCommand(Opcode.START_STREAM, Codec.PCM16)),
        ("control-start-adpcm", ControlCommand(Opcode.START_STREAM, Codec.IMA_ADPCM)),
        ("control-stop", ControlCommand(Opcode.STOP_STREAM)),
        ("control-filter-bell", ControlCommand(Opcode.SET_FILTER, FilterMode.BELL)),
        ("control-rate-8k", ControlCommand(Opcode.SET_SAMPLE_RATE, 2)),
        ("control-gain-minus-6db", ControlCommand(Opcode.SET_GAIN, -6)),
    ],
)
def test_control_examples(name: str, command: ControlCommand) -> None:
    data = examples()[name]
    assert command.encode() == data
    assert ControlCommand.decode(data) == command


def test_response_and_status_examples() -> None:
    ex = examples()
    assert ControlResponse.decode(ex["response-start-success"]) == ControlResponse(
        Opcode.START_STREAM, ResultCode.SUCCESS
    )
    assert ControlResponse.decode(ex["response-rate-busy"]) == ControlResponse(
        Opcode.SET_SAMPLE_RATE, ResultCode.BUSY
    )
    status = Status.decode(ex["status-contact-streaming"])
    assert status == Status(StatusFlags.CONTACT | StatusFlags.STREAMING, 3)
    assert status.encode() == ex["status-contact-streaming"]
