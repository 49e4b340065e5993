"""The frame codec at its exact limits, and IMA ADPCM checked against an independent reference.

Reference: IMA Digital Audio Focus and Technical Working Groups, "Recommended Practices for
Enhancing Digital Audio Compatibility in Multimedia Systems", revision 3.00 (1992), section 6
(the ADPCM algorithm): the 89-entry step-size table and the 16-entry index table below are
its published tables, typed here from the recommendation and not imported from our code. The
reference decoder follows the recommendation's decoder steps; a second, unrelated
implementation (CPython's C `audioop` module, present up to Python 3.12) decodes the same
nibbles where it is available.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import _adpcm
from firmware_bridge.codec import (
    HEADER,
    MAX_FRAME_BYTES,
    MAX_SAMPLES_PER_FRAME,
    NEED_DATA,
    PROFILE_VERSION,
    RATE_CODES,
    AudioFrame,
    Codec,
    FrameDecoder,
    FrameFlags,
    MalformedFrame,
    MalformedReason,
    encode_frame,
    payload_size,
)
from firmware_bridge.errors import BridgeError

IMA_STEP_SIZES = (
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17,
    19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
    50, 55, 60, 66, 73, 80, 88, 97, 107, 118,
    130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
    337, 371, 408, 449, 494, 544, 598, 658, 724, 796,
    876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
    2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358,
    5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
    15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
)  # fmt: skip
IMA_INDEX_TABLE = (-1, -1, -1, -1, 2, 4, 6, 8, -1, -1, -1, -1, 2, 4, 6, 8)


def ima_reference_decode(codes: list[int], predictor: int, index: int) -> list[int]:
    """The recommendation's decoder, step by step, one 4-bit code at a time."""
    out = []
    for code in codes:
        step = IMA_STEP_SIZES[index]
        difference = step >> 3
        if code & 4:
            difference += step
        if code & 2:
            difference += step >> 1
        if code & 1:
            difference += step >> 2
        if code & 8:
            difference = -difference
        predictor = min(32767, max(-32768, predictor + difference))
        index = min(88, max(0, index + IMA_INDEX_TABLE[code]))
        out.append(predictor)
    return out


def nibbles_low_first(data: bytes, count: int) -> list[int]:
    return [(data[i >> 1] >> 4) if i & 1 else (data[i >> 1] & 0x0F) for i in range(count)]


def pack_low_first(codes: list[int]) -> bytes:
    packed = bytearray((len(codes) + 1) // 2)
    for i, code in enumerate(codes):
        packed[i >> 1] |= code << 4 if i & 1 else code
    return bytes(packed)


def audioop_module() -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop  # removed in Python 3.13

            return audioop
        except ImportError:
            return None


# ---- ADPCM against the published tables --------------------------------------------------


def test_step_table_is_the_published_one() -> None:
    assert _adpcm._STEPS == IMA_STEP_SIZES
    assert len(IMA_STEP_SIZES) == 89 and _adpcm.MAX_STEP_INDEX == 88
    # The index shift for codes 0-7; codes 8-15 (the sign bit) shift alike.
    assert tuple(_adpcm._INDEX_SHIFT) + tuple(_adpcm._INDEX_SHIFT) == IMA_INDEX_TABLE


@given(
    st.lists(st.integers(0, 15), min_size=1, max_size=300),
    st.integers(-32768, 32767),
    st.integers(0, 88),
)
def test_decoder_matches_the_reference_decoder(
    codes: list[int], predictor: int, index: int
) -> None:
    ours = _adpcm.decode(pack_low_first(codes), len(codes), predictor, index)
    assert ours.dtype == np.int16
    assert ours.tolist() == ima_reference_decode(codes, predictor, index)


def test_decoder_matches_cpython_audioop_where_present() -> None:
    audioop = audioop_module()
    if audioop is None:
        pytest.skip("CPython's audioop was removed in 3.13; the reference decoder still runs")
    rng = np.random.default_rng(19)
    for _ in range(50):
        codes = [int(c) for c in rng.integers(0, 16, size=2 * int(rng.integers(1, 200)))]
        predictor, index = int(rng.integers(-32768, 32768)), int(rng.integers(0, 89))
        # audioop packs the first code in the high nibble; the profile in the low one.
        high_first = bytes((codes[i] << 4) | codes[i + 1] for i in range(0, len(codes), 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pcm, _state = audioop.adpcm2lin(high_first, 2, (predictor, index))
        theirs = np.frombuffer(pcm, dtype="<i2").tolist()
        ours = _adpcm.decode(pack_low_first(codes), len(codes), predictor, index).tolist()
        assert ours == theirs


def test_step_index_clamps_at_88_and_at_0() -> None:
    # From index 85, code 7 asks for +8 each time: the index must stop at 88 (step 32767).
    codes = [7, 7, 7, 0]
    ours = _adpcm.decode(pack_low_first(codes), 4, 0, 85).tolist()
    assert ours == ima_reference_decode(codes, 0, 85) == [32767, 32767, 32767, 32767]
    # From 0, code 0 asks for -1: it stays at 0, every step is 7 >> 3 = 0.
    assert _adpcm.decode(pack_low_first([0, 0, 1]), 3, 5, 0).tolist() == [5, 5, 6]
    # Negative full scale clamps at -32768, not -32767.
    assert _adpcm.decode(pack_low_first([15, 15]), 2, -32000, 88).tolist() == [-32768, -32768]


def test_one_step_values_by_hand() -> None:
    # Step 16 (index 8): code 5 adds 16 + 4 + 2 = 22, code 13 subtracts 22, code 2 adds 8 + 2.
    assert ima_reference_decode([5], 100, 8) == [122]
    assert _adpcm.decode(pack_low_first([5]), 1, 100, 8).tolist() == [122]
    assert _adpcm.decode(pack_low_first([13]), 1, 100, 8).tolist() == [78]
    assert _adpcm.decode(pack_low_first([2]), 1, 100, 8).tolist() == [110]
    assert _adpcm.decode(pack_low_first([6, 1]), 2, 0, 8).tolist() == [
        26,
        26 + 3 + 7,
    ]  # index 14: step 28


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=200), st.integers(0, 88))
def test_encoder_codes_decode_by_the_reference(samples: list[int], index: int) -> None:
    pcm = np.array(samples, dtype=np.int16)
    data = _adpcm.encode(pcm, 0, index)
    assert len(data) == (len(samples) + 1) // 2
    codes = nibbles_low_first(data, len(samples))
    assert _adpcm.decode(data, len(samples), 0, index).tolist() == ima_reference_decode(
        codes, 0, index
    )


def test_encoder_picks_the_nearest_code_as_the_recommendation_does() -> None:
    # Step 16: a rise of 22 is code 5 (16 + 4, then the 2 of step >> 3 added by the decoder).
    assert nibbles_low_first(_adpcm.encode(np.array([122], np.int16), 100, 8), 1) == [5]
    assert nibbles_low_first(_adpcm.encode(np.array([78], np.int16), 100, 8), 1) == [13]
    assert nibbles_low_first(_adpcm.encode(np.array([100 + 24], np.int16), 100, 8), 1) == [6]
    assert nibbles_low_first(_adpcm.encode(np.array([100 + 8], np.int16), 100, 8), 1) == [2]
    assert nibbles_low_first(_adpcm.encode(np.array([100 + 4], np.int16), 100, 8), 1) == [1]
    assert nibbles_low_first(_adpcm.encode(np.array([100 + 3], np.int16), 100, 8), 1) == [0]
    assert nibbles_low_first(_adpcm.encode(np.array([100, 100], np.int16), 100, 8), 2) == [0, 8]
    loud = _adpcm.encode(np.array([32767, -32768, 0], np.int16), 0, 88)
    assert nibbles_low_first(loud, 3) == [4, 15, 3]


def test_a_sine_survives_adpcm_close_to_the_original() -> None:
    t = np.arange(997) / 4000
    pcm = (8000 * np.sin(2 * np.pi * 150 * t)).astype(np.int16)
    frame = AudioFrame.from_samples(pcm, sequence=0, sample_index=0, sample_rate_hz=4000,
                                    codec=Codec.IMA_ADPCM)  # fmt: skip
    back = frame.samples().astype(float)
    assert back[0] == pcm[0]
    error = np.sqrt(np.mean((back - pcm) ** 2)) / np.sqrt(np.mean(pcm.astype(float) ** 2))
    assert error < 0.05


# ---- the frame at its limits ---------------------------------------------------------------


def wire(codec: Codec, count: int, payload: bytes, flags: int = 0, rate_code: int = 1) -> bytes:
    return HEADER.pack(PROFILE_VERSION, codec, 7, 4000, count, flags, rate_code) + payload


def decode_one(data: bytes, datagrams: bool = True) -> object:
    decoder = FrameDecoder(datagrams=datagrams)
    decoder.feed(data)
    return decoder.next_frame()


def test_largest_pcm16_frame_is_251_samples_and_514_bytes() -> None:
    assert HEADER.size + payload_size(Codec.PCM16, 251) == MAX_FRAME_BYTES == 514
    frame = decode_one(wire(Codec.PCM16, 251, bytes(range(256)) * 1 + bytes(246)))
    assert isinstance(frame, AudioFrame)
    assert frame.sample_count == 251 and frame.frame_size == 514


def test_one_more_pcm16_sample_is_too_long() -> None:
    event = decode_one(wire(Codec.PCM16, 252, bytes(504)))
    assert event == MalformedFrame(MalformedReason.TOO_LONG, wire(Codec.PCM16, 252, bytes(20)))


def test_largest_adpcm_frame_is_997_samples_and_514_bytes() -> None:
    assert MAX_SAMPLES_PER_FRAME == 997
    assert HEADER.size + payload_size(Codec.IMA_ADPCM, 997) == MAX_FRAME_BYTES
    assert payload_size(Codec.IMA_ADPCM, 997) == 4 + 498
    state = (1000).to_bytes(2, "little", signed=True) + bytes([88, 0])
    frame = decode_one(wire(Codec.IMA_ADPCM, 997, state + bytes(498)))
    assert isinstance(frame, AudioFrame)
    assert frame.sample_count == 997 and frame.frame_size == 514
    assert frame.samples().size == 997 and frame.samples()[0] == 1000


def test_one_more_adpcm_sample_is_refused() -> None:
    event = decode_one(wire(Codec.IMA_ADPCM, 998, bytes(503)))
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.BAD_COUNT


def test_zero_samples_is_refused() -> None:
    event = decode_one(wire(Codec.PCM16, 0, b""))
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.BAD_COUNT


def test_adpcm_step_index_88_is_accepted_89_refused() -> None:
    ok = decode_one(wire(Codec.IMA_ADPCM, 3, bytes([0, 0, 88, 0, 0x12])))
    assert isinstance(ok, AudioFrame)
    assert ok.samples().tolist() == [0, *ima_reference_decode([2, 1], 0, 88)]
    bad = decode_one(wire(Codec.IMA_ADPCM, 3, bytes([0, 0, 89, 0, 0x12])))
    assert isinstance(bad, MalformedFrame) and bad.reason is MalformedReason.BAD_ADPCM_STATE


def test_value_object_limits() -> None:
    def make(**changes: object) -> AudioFrame:
        fields: dict[str, object] = {
            "sequence": 0,
            "sample_index": 0,
            "sample_rate_hz": 4000,
            "codec": Codec.PCM16,
            "sample_count": 1,
            "payload": b"\0\0",
        }
        fields.update(changes)
        return AudioFrame(**fields)  # type: ignore[arg-type]

    make(sequence=0xFFFF, sample_index=0xFFFFFFFF, sample_rate_hz=2000)
    make(sample_rate_hz=8000, sample_count=997, payload=bytes(1994))
    make(codec=Codec.IMA_ADPCM, sample_count=997, payload=bytes(502))
    for changes, problem in [
        ({"sequence": 0x10000}, "sequence outside 0..65535"),
        ({"sequence": -1}, "sequence outside 0..65535"),
        ({"sample_index": 1 << 32}, "sample_index outside 32 bits"),
        ({"sample_index": -1}, "sample_index outside 32 bits"),
        ({"sample_rate_hz": 3000}, "sample rate 3000 Hz not in the profile"),
        ({"sample_count": 0, "payload": b""}, "sample_count outside 1..997"),
        ({"sample_count": 998, "payload": bytes(1996)}, "sample_count outside 1..997"),
        ({"payload": b"\0"}, "payload length does not match codec and sample_count"),
    ]:
        with pytest.raises(ValueError) as info:
            make(**changes)
        assert str(info.value) == f"invalid AudioFrame: {problem}", changes
    with pytest.raises(ValueError, match=r"sequence outside 0\.\.65535; sample_index outside"):
        make(sequence=-1, sample_index=-1)


def test_encode_frame_writes_every_header_field() -> None:
    frame = AudioFrame(0x1234, 0x89ABCDEF, 8000, Codec.PCM16, 2, b"\x01\x02\x03\x04",
                       FrameFlags.CLIPPING | FrameFlags.NO_CONTACT)  # fmt: skip
    assert encode_frame(frame) == bytes.fromhex("01 00 3412 efcdab89 0200 03 02 01020304")
    assert RATE_CODES == {0: 2000, 1: 4000, 2: 8000}
    assert decode_one(encode_frame(frame)) == frame


def test_from_samples_picks_the_initial_step_from_the_first_difference() -> None:
    def index_of(samples: list[int]) -> int:
        frame = AudioFrame.from_samples(np.array(samples, np.int16), sequence=0, sample_index=0,
                                        sample_rate_hz=4000, codec=Codec.IMA_ADPCM)  # fmt: skip
        return frame.payload[2]

    assert index_of([5]) == 0  # one sample: nothing to go by
    assert index_of([0, 7]) == 0  # 3 bits * 4 - 12
    assert index_of([0, 8]) == 4
    assert index_of([100, 100 - 1024]) == 32  # 11 bits
    assert index_of([-32768, 32767]) == 52  # the largest difference, 16 bits
    frame = AudioFrame.from_samples(np.array([-300, 5], np.int16), sequence=1, sample_index=2,
                                    sample_rate_hz=2000, codec=Codec.IMA_ADPCM,
                                    flags=FrameFlags.STREAM_START)  # fmt: skip
    assert frame.payload[:2] == (-300).to_bytes(2, "little", signed=True)
    assert frame.payload[3] == 0  # reserved byte
    assert (frame.sequence, frame.sample_index, frame.sample_rate_hz) == (1, 2, 2000)
    assert frame.flags is FrameFlags.STREAM_START and frame.sample_count == 2


def test_pcm16_from_samples_is_little_endian() -> None:
    frame = AudioFrame.from_samples(np.array([1, -2], np.int16), sequence=0, sample_index=0,
                                    sample_rate_hz=4000)  # fmt: skip
    assert frame.payload == b"\x01\x00\xfe\xff" and frame.codec is Codec.PCM16
    assert frame.samples().dtype == np.int16 and frame.samples().tolist() == [1, -2]


# ---- the decoder's bookkeeping ------------------------------------------------------------


def test_malformed_head_is_at_most_32_bytes_and_counted() -> None:
    decoder = FrameDecoder()
    bad = bytes([2]) + bytes(40)
    decoder.feed(bad)
    event = decoder.next_frame()
    assert event == MalformedFrame(MalformedReason.BAD_VERSION, bad[:32])
    assert (decoder.frames_malformed, decoder.frames_decoded) == (1, 0)
    assert decoder.next_frame() is NEED_DATA


def test_datagram_short_and_truncated_are_told_apart() -> None:
    good = wire(Codec.PCM16, 2, bytes(4))
    assert decode_one(good[:11]) == MalformedFrame(MalformedReason.TOO_SHORT, good[:11])
    assert decode_one(good[:12]) == MalformedFrame(MalformedReason.TRUNCATED, good[:12])
    assert decode_one(good[:15]) == MalformedFrame(MalformedReason.TRUNCATED, good[:15])
    assert decode_one(good[:12], datagrams=False) is NEED_DATA
    assert decode_one(good[:1], datagrams=False) is NEED_DATA


def test_two_frames_in_one_notification_then_the_next_notification() -> None:
    a, b = wire(Codec.PCM16, 1, b"\x01\x00"), wire(Codec.PCM16, 2, b"\x02\x00\x03\x00")
    decoder = FrameDecoder()
    decoder.feed(a + b)
    decoder.feed(b"\x09" * 3)  # the next notification: garbage, on its own
    first, second, third = decoder.next_frame(), decoder.next_frame(), decoder.next_frame()
    assert isinstance(first, AudioFrame) and first.samples().tolist() == [1]
    assert isinstance(second, AudioFrame) and second.samples().tolist() == [2, 3]
    assert third == MalformedFrame(MalformedReason.BAD_VERSION, b"\x09" * 3)
    assert decoder.next_frame() is NEED_DATA
    assert (decoder.frames_decoded, decoder.frames_malformed) == (2, 1)


def test_an_empty_notification_between_frames_is_one_malformed_event() -> None:
    frame = wire(Codec.PCM16, 1, b"\x01\x00")
    decoder = FrameDecoder()
    for data in (frame, b"", frame):
        decoder.feed(data)
    events = [decoder.next_frame() for _ in range(4)]
    assert isinstance(events[0], AudioFrame) and isinstance(events[2], AudioFrame)
    assert events[1] == MalformedFrame(MalformedReason.TOO_SHORT, b"")
    assert events[3] is NEED_DATA


def test_stream_resync_skips_to_the_next_version_byte() -> None:
    frame = wire(Codec.PCM16, 1, b"\x05\x00")
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(b"\x07\x08" + frame)
    assert decoder.next_frame() == MalformedFrame(MalformedReason.BAD_VERSION, b"\x07\x08")
    event = decoder.next_frame()
    assert isinstance(event, AudioFrame) and event.samples().tolist() == [5]
    decoder.feed(b"\x09\x09\x09")  # no version byte at all: everything goes
    assert decoder.next_frame() == MalformedFrame(MalformedReason.BAD_VERSION, b"\x09" * 3)
    assert decoder.next_frame() is NEED_DATA


def test_stream_resync_after_a_bad_header_keeps_the_next_frame() -> None:
    frame = wire(Codec.PCM16, 1, b"\x05\x00")
    bad = wire(Codec.PCM16, 1, b"\x05\x00", rate_code=7)
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(bad + frame)
    event = decoder.next_frame()
    assert isinstance(event, MalformedFrame) and event.reason is MalformedReason.BAD_RATE
    # Resync drops up to the next 0x01 byte, which is inside the bad header's own fields.
    events = []
    while (e := decoder.next_frame()) is not NEED_DATA:
        events.append(e)
    assert any(isinstance(e, AudioFrame) and e.samples().tolist() == [5] for e in events)


def test_buffer_cap_is_exactly_64_kib() -> None:
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(bytes(64 * 1024 - 1))
    decoder.feed(b"\0")  # exactly full is allowed
    with pytest.raises(BridgeError, match="buffer full"):
        decoder.feed(b"\0")


def test_flags_unknown_bits_are_kept_not_refused() -> None:
    event = decode_one(wire(Codec.PCM16, 1, b"\0\0", flags=0xF3))
    assert isinstance(event, AudioFrame)
    assert event.flags & FrameFlags.CLIPPING and event.flags & FrameFlags.NO_CONTACT
    assert int(event.flags) == 0xF3


def test_repr_of_need_data() -> None:
    assert NEED_DATA is NEED_DATA.__class__.NEED_DATA
    assert str(MalformedReason.BAD_ADPCM_STATE.value) == "ADPCM step index above 88"


def test_a_lone_wrong_byte_is_a_bad_version_not_too_short() -> None:
    assert decode_one(b"\x07") == MalformedFrame(MalformedReason.BAD_VERSION, b"\x07")
    assert decode_one(b"\x07", datagrams=False) == MalformedFrame(
        MalformedReason.BAD_VERSION, b"\x07"
    )
    assert decode_one(b"\x01") == MalformedFrame(MalformedReason.TOO_SHORT, b"\x01")


def test_stream_resync_to_the_very_next_byte() -> None:
    frame = wire(Codec.PCM16, 1, b"\x05\x00")
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(b"\x07" + frame)
    assert decoder.next_frame() == MalformedFrame(MalformedReason.BAD_VERSION, b"\x07")
    event = decoder.next_frame()
    assert isinstance(event, AudioFrame) and event.samples().tolist() == [5]


def test_one_byte_left_in_a_notification_stays_in_it() -> None:
    frame = wire(Codec.PCM16, 1, b"\x05\x00")
    decoder = FrameDecoder()
    decoder.feed(frame + b"\x01")
    decoder.feed(frame)
    first, stray, second = decoder.next_frame(), decoder.next_frame(), decoder.next_frame()
    assert isinstance(first, AudioFrame) and isinstance(second, AudioFrame)
    assert stray == MalformedFrame(MalformedReason.TOO_SHORT, b"\x01")
    assert decoder.next_frame() is NEED_DATA


def test_malformed_frames_are_counted_each() -> None:
    decoder = FrameDecoder()
    for data in (b"\x07", b"", b"\x02" * 20):
        decoder.feed(data)
    assert all(isinstance(decoder.next_frame(), MalformedFrame) for _ in range(3))
    assert (decoder.frames_malformed, decoder.frames_decoded) == (3, 0)


def test_buffer_full_message_says_what_to_do() -> None:
    decoder = FrameDecoder(datagrams=False)
    decoder.feed(bytes(64 * 1024))
    with pytest.raises(BridgeError) as info:
        decoder.feed(b"\0")
    assert str(info.value) == "FrameDecoder buffer full: call next_frame() until NEED_DATA"


@pytest.mark.parametrize("codec", list(Codec))
def test_from_samples_refuses_what_is_not_int16(codec: Codec) -> None:
    with pytest.raises(OverflowError):
        AudioFrame.from_samples([40000, 0], sequence=0, sample_index=0,  # type: ignore[arg-type]
                                sample_rate_hz=4000, codec=codec)  # fmt: skip
    with pytest.raises(ValueError, match="sample_count outside"):
        AudioFrame.from_samples(np.zeros(0, np.int16), sequence=0, sample_index=0,
                                sample_rate_hz=4000, codec=codec)  # fmt: skip


def test_adpcm_samples_are_int16() -> None:
    pcm = np.array([-7, 300, 20], np.int16)
    frame = AudioFrame.from_samples(
        pcm, sequence=0, sample_index=0, sample_rate_hz=4000, codec=Codec.IMA_ADPCM
    )
    assert frame.samples().dtype == np.int16
    assert frame.samples()[0] == -7


def test_one_decoder_step_clamps_predictor_and_index() -> None:
    assert _adpcm._step_once(7, 32000, 88) == (32767, 88)
    assert _adpcm._step_once(15, -32000, 88) == (-32768, 88)
    assert _adpcm._step_once(0, 0, 0) == (0, 0)
    assert _adpcm._step_once(3, 10, 1) == (10 + 1 + 2 + 4, 0)  # step 8: 1 + 4 + 2, index down
