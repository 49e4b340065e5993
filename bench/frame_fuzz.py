"""Random and mutated audio frames for fuzzing the receive path (the bench and tests share it)."""

from __future__ import annotations

import random

import numpy as np

from firmware_bridge.codec import (
    NEED_DATA,
    AudioFrame,
    Codec,
    FrameDecoder,
    MalformedFrame,
    encode_frame,
)
from firmware_bridge.reassembly import Reassembler


def valid_frames(rng: random.Random, n: int) -> list[bytes]:
    """`n` valid frames of assorted codecs, sizes, rates and indices."""
    frames = []
    for _ in range(n):
        count = rng.randint(1, 120)
        samples = np.array([rng.randint(-32768, 32767) for _ in range(count)], dtype=np.int16)
        frame = AudioFrame.from_samples(
            samples,
            sequence=rng.randint(0, 0xFFFF),
            sample_index=rng.randint(0, 0xFFFFFFFF),
            sample_rate_hz=rng.choice((2000, 4000, 8000)),
            codec=rng.choice(tuple(Codec)),
        )
        frames.append(encode_frame(frame))
    return frames


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One random mutation: flip bytes, truncate, extend, splice, or pure noise."""
    kind = rng.randrange(6)
    buf = bytearray(data)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:
        del buf[rng.randrange(len(buf)) :]
    elif kind == 2:
        buf += rng.randbytes(rng.randint(1, 40))
    elif kind == 3:
        buf[rng.randrange(12)] ^= 1 << rng.randrange(8)  # header bit flip
    elif kind == 4:
        buf = bytearray(rng.randbytes(rng.randint(0, 600)))
    else:
        pass  # unchanged: valid frames must keep flowing among the garbage
    return bytes(buf)


def run(n_frames: int, seed: int = 0) -> dict[str, int]:
    """Feed `n_frames` mutated notifications through decoder and reassembler.

    Returns the counts; any exception escaping is the failure the fuzz looks for.
    """
    rng = random.Random(seed)
    pool = valid_frames(rng, 200)
    datagram, stream = FrameDecoder(datagrams=True), FrameDecoder(datagrams=False)
    reassembler = Reassembler(max_gap_s=0.5)
    counts = {"frames": 0, "malformed": 0, "stream_frames": 0}
    for i in range(n_frames):
        data = mutate(rng, rng.choice(pool))
        datagram.feed(data)
        while (event := datagram.next_frame()) is not NEED_DATA:
            if isinstance(event, MalformedFrame):
                counts["malformed"] += 1
            elif i % 64 == 0:  # decoding samples is the slow part; sample it
                counts["frames"] += 1
                reassembler.push(event)  # type: ignore[arg-type]
            else:
                counts["frames"] += 1
        if i % 16 == 0:
            stream.feed(data)
            while (event := stream.next_frame()) is not NEED_DATA:
                counts["stream_frames"] += not isinstance(event, MalformedFrame)
    return counts
