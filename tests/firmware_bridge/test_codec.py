"""Frame codec: round trips, caps, incomplete vs malformed, and a fuzz that nothing escapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import frame_fuzz
from firmware_bridge.codec import (
    HEADER,
    MAX_FRAME_BYTES,
    MAX_SAMPLES_PER_FRAME,
    NEED_DATA,
    AudioFrame,
    Codec,
    FrameDecoder,
    FrameFlags,
    MalformedFrame,
    MalformedReason,
    encode_frame,
)
from firmware_bridge.errors import BridgeError


@st.composite
def frames(draw: st.DrawFn, codec: Codec | None = None) -> AudioFrame:
    chosen = draw(st.sampled_from(Codec)) if codec is None else codec
    cap = 251 if chosen is Codec.PCM16 else MAX_SAMPLES_PER_FRAME
    samples = draw(st.lists(st.integers(-32768, 32767), min_size=1, max_size=cap))
    return AudioFrame.from_samples(
        np.array(samples, dtype=np.int16),
        sequence=draw(st.integers(0, 0xFFFF)),
        sample_index=draw(st.integers(0, 0xFFFFFFFF)),
        sample_rate_hz=draw(st.sampled_from([2000, 4000, 8000])),
        codec=chosen,
        flags=FrameFlags(draw(st.integers(0, 7))),
    )


def decode_all(decoder: FrameDecoder) -> list[AudioFrame | MalformedFrame]:
    out: list[AudioFrame | MalformedFrame] = []
    while (event := decoder.next_frame()) is not NEED_DATA:
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)
    return out


@given(frames())
def test_decode_of_encode_is_identity(frame: AudioFrame) -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(frame))
    assert decode_all(decoder) == [frame]
    assert len(encode_frame(frame)) <= MAX_FRAME_BYTES


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=251))
def test_pcm16_samples_survive_exactly(samples: list[int]) -> None:
    frame = AudioFrame.from_samples(
        np.array(samples, dtype=np.int16), sequence=0, sample_index=0, sample_rate_hz=4000
    )
    assert frame.samples().tolist() == samples


@given(st.lists(frames(), min_size=1, max_size=6), st.data())
def test_stream_mode_reassembles_frames_cut_anywhere(
    batch: list[AudioFrame], data: st.DataObject
) -> None:
    wire = b"".join(encode_frame(f) for f in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    decoder = FrameDecoder(datagrams=False)
    got: list[AudioFrame | MalformedFrame] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        decoder.feed(wire[start:end])
        got += decode_all(decoder)
    assert got == batch


def test_adpcm_tracks_a_heart_sound_within_30_db() -> None:
    t = np.arange(400) / 4000
    tone = (12000 * np.sin(2 * np.pi * 60 * t) * np.exp(-t * 10)).astype(np.int16)
    frame = AudioFrame.from_samples(
        tone, sequence=0, sample_index=0, sample_rate_hz=4000, codec=Codec.IMA_ADPCM
    )
    error = tone.astype(float) - frame.samples().astype(float)
    snr_db = 10 * np.log10(np.sum(tone.astype(float) ** 2) / np.sum(error**2))
    assert snr_db > 30
    assert frame.frame_size == HEADER.size + 4 + 200


def test_stream_mode_answers_need_data_for_an_incomplete_frame() -> None:
    wire = encode_frame(
        AudioFrame.from_samples(np.arange(10, dtype=np.int16), sequence=1, sample_index=0,
                                sample_rate_hz=4000)
    )  # fmt: skip
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(wire[:5])
    assert decoder.next_frame() is NEED_DATA
    decoder.feed(wire[5:-1])
    assert decoder.next_frame() is NEED_DATA
    decoder.feed(wire[-1:])
    assert isinstance(decoder.next_frame(), AudioFrame)
    assert decoder.frames_malformed == 0


def test_datagram_mode_calls_the_same_cut_malformed() -> None:
    decoder = FrameDecoder()
    decoder.feed(bytes.fromhex("01 00 07 00 a0 0f 00 00 08 00 00 01 00 00 e8 03"))
    event = decoder.next_frame()
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.TRUNCATED
    assert decoder.next_frame() is NEED_DATA


def test_stream_mode_resynchronises_after_garbage() -> None:
    good = encode_frame(
        AudioFrame.from_samples(np.ones(4, dtype=np.int16), sequence=3, sample_index=9,
                                sample_rate_hz=2000)
    )  # fmt: skip
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(b"\xff\xfe\x00garbage" + good)
    events = decode_all(decoder)
    assert isinstance(events[-1], AudioFrame) and events[-1].sequence == 3
    assert all(isinstance(e, MalformedFrame) for e in events[:-1])


@pytest.mark.parametrize(
    ("header_patch", "reason"),
    [
        ({1: 0x07}, MalformedReason.BAD_CODEC),
        ({11: 0x09}, MalformedReason.BAD_RATE),
        ({8: 0xE6, 9: 0x03}, MalformedReason.BAD_COUNT),  # 998 > cap
        ({8: 0xFA, 9: 0x00}, MalformedReason.TOO_LONG),  # 250 PCM16 samples, 512 bytes: fits
    ],
)
def test_each_cap_is_enforced(header_patch: dict[int, int], reason: MalformedReason) -> None:
    wire = bytearray(bytes.fromhex("01 00 07 00 a0 0f 00 00 01 00 00 01 00 00"))
    for offset, value in header_patch.items():
        wire[offset] = value
    if reason is MalformedReason.TOO_LONG:
        wire[8:10] = (252).to_bytes(2, "little")  # 12 + 504 bytes > 514
        wire += bytes(502)
    decoder = FrameDecoder()
    decoder.feed(bytes(wire))
    event = decoder.next_frame()
    assert isinstance(event, MalformedFrame) and event.reason is reason


def test_adpcm_step_index_above_88_is_malformed() -> None:
    wire = bytes.fromhex("01 01 00 00 00 00 00 00 03 00 00 01 00 00 59 00 12")
    decoder = FrameDecoder()
    decoder.feed(wire)
    event = decoder.next_frame()
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.BAD_ADPCM_STATE


def test_empty_notification_is_malformed_not_fatal() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"")
    event = decoder.next_frame()
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.TOO_SHORT
    assert decoder.frames_malformed == 1


def test_feeding_without_draining_is_a_local_error() -> None:
    decoder = FrameDecoder(datagrams=False)
    with pytest.raises(BridgeError, match="buffer full"):
        for _ in range(200):
            decoder.feed(bytes(1000))


def test_frame_value_object_rejects_inconsistent_fields() -> None:
    with pytest.raises(ValueError, match="payload length"):
        AudioFrame(0, 0, 4000, Codec.PCM16, 2, b"\x00")
    with pytest.raises(ValueError, match="sample rate"):
        AudioFrame(0, 0, 44100, Codec.PCM16, 1, b"\x00\x00")


def test_fuzz_short_form_nothing_escapes() -> None:
    """10^5 random and mutated notifications; the full 10^6 run lives in bench/bridge_bench.py."""
    counts = frame_fuzz.run(100_000, seed=1)
    assert counts["frames"] > 10_000
    assert counts["malformed"] > 10_000
