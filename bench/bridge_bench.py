"""Speed and robustness of the BLE receive path: frame decoding and reassembly, one core.

Baseline measured in the same run: the least work any decoder must do per frame, a bare
`struct.unpack_from` of the 12-byte header plus `numpy.frombuffer` of the payload, so the ratio
says what our validation, caps and reassembly cost on this machine. "x real time" is audio
decoded per second of CPU: at 4 kHz, how many stethoscopes one core could serve.
The full fuzz (10^6 random and mutated notifications) runs here; the test suite runs 10^5.
"""

from __future__ import annotations

import struct
import time
from typing import Any

import numpy as np

from bench import frame_fuzz
from bench._timing import best_in_turn, timed
from firmware_bridge.codec import NEED_DATA, AudioFrame, Codec, FrameDecoder, encode_frame
from firmware_bridge.reassembly import Reassembler

SAMPLE_RATE_HZ = 4000
N_FRAMES = 20_000
N_ADPCM_FRAMES = 2_000  # the pure-Python ADPCM encoder that builds them is slow
FUZZ_FRAMES = 1_000_000
_HEADER = struct.Struct("<BBHIHBB")


def _frames(codec: Codec, per_frame: int, n_frames: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n_frames):
        pcm = (rng.standard_normal(per_frame) * 3000).astype(np.int16)
        frame = AudioFrame.from_samples(pcm, sequence=i & 0xFFFF, sample_index=i * per_frame,
                                        sample_rate_hz=SAMPLE_RATE_HZ, codec=codec)  # fmt: skip
        out.append(encode_frame(frame))
    return out


def _baseline(wire: list[bytes]) -> None:
    for data in wire:
        _HEADER.unpack_from(data)
        np.frombuffer(data, dtype="<i2", offset=12).astype(np.float32)


def _ours(wire: list[bytes]) -> None:
    decoder, reassembler = FrameDecoder(), Reassembler()
    for data in wire:
        decoder.feed(data)
        while (frame := decoder.next_frame()) is not NEED_DATA:
            reassembler.push(frame)  # type: ignore[arg-type]


def run() -> dict[str, Any]:
    """Measure decoding throughput against the baseline, then run the full fuzz."""
    pcm_wire = _frames(Codec.PCM16, 116, N_FRAMES)  # fills an ATT MTU of 247
    adpcm_wire = _frames(Codec.IMA_ADPCM, 457, N_ADPCM_FRAMES)
    seconds = best_in_turn(
        {"base": timed(lambda: _baseline(pcm_wire)), "pcm": timed(lambda: _ours(pcm_wire))}, 3
    )
    base_s, pcm_s = seconds["base"], seconds["pcm"]
    adpcm_s = timed(lambda: _ours(adpcm_wire))()
    audio_pcm_s = N_FRAMES * 116 / SAMPLE_RATE_HZ
    audio_adpcm_s = N_ADPCM_FRAMES * 457 / SAMPLE_RATE_HZ
    fuzz_start = time.perf_counter()
    counts = frame_fuzz.run(FUZZ_FRAMES, seed=2)  # the test suite uses seed 1
    return {
        "baseline_frames_per_s": round(N_FRAMES / base_s),
        "pcm16_frames_per_s": round(N_FRAMES / pcm_s),
        "pcm16_vs_baseline": round(base_s / pcm_s, 3),
        "pcm16_x_real_time": round(audio_pcm_s / pcm_s, 1),
        "adpcm_frames_per_s": round(N_ADPCM_FRAMES / adpcm_s),
        "adpcm_x_real_time": round(audio_adpcm_s / adpcm_s, 1),
        "fuzz_notifications": FUZZ_FRAMES,
        "fuzz_frames_accepted": counts["frames"],
        "fuzz_malformed_rejected": counts["malformed"],
        "fuzz_exceptions_escaped": 0,  # any escape would have aborted this run
        "fuzz_s": round(time.perf_counter() - fuzz_start, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
