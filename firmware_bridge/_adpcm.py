"""IMA-ADPCM (4 bits a sample) as used by the profile's codec 1.

The algorithm and tables are those of the IMA Digital Audio Focus and Technical Working Groups,
"Recommended Practices for Enhancing Digital Audio Compatibility in Multimedia Systems" (1992),
section 6. Each frame carries its own starting predictor and step index, so a lost frame never
corrupts the next one. Nibbles are packed low nibble first, as in Microsoft's IMA ADPCM WAVE.
"""

from __future__ import annotations

import warnings
from typing import Final

import numpy as np
from numpy.typing import NDArray

with warnings.catch_warnings():
    # The standard audioop decodes IMA-ADPCM in C, about 400 times faster than Python: several
    # percent of a Pi core per streaming stethoscope. It is deprecated in 3.11-3.12 and gone in
    # 3.13, where the audioop-lts package provides the same module.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["MAX_STEP_INDEX", "decode", "decode_reference", "encode"]

_STEPS: Final = (
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408,
    449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
    2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630,
    9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
    32767,
)  # fmt: skip
_INDEX_SHIFT: Final = (-1, -1, -1, -1, 2, 4, 6, 8)
MAX_STEP_INDEX: Final = len(_STEPS) - 1


def _step_once(nibble: int, predictor: int, index: int) -> tuple[int, int]:
    step = _STEPS[index]
    diff = step >> 3
    if nibble & 4:
        diff += step
    if nibble & 2:
        diff += step >> 1
    if nibble & 1:
        diff += step >> 2
    predictor = predictor - diff if nibble & 8 else predictor + diff
    predictor = max(-32768, min(32767, predictor))
    index = max(0, min(MAX_STEP_INDEX, index + _INDEX_SHIFT[nibble & 7]))
    return predictor, index


# audioop reads the high nibble first; the profile (like Microsoft's WAVE) packs the low first.
_SWAP_NIBBLES: Final = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))


def decode(data: bytes, count: int, predictor: int, index: int) -> NDArray[np.int16]:
    """Decode `count` samples from packed nibbles, starting from `predictor` and step `index`.

    Bit-identical to `decode_reference` (a test checks it on random frames and every state).
    """
    packed = bytes(data[: (count + 1) // 2]).translate(_SWAP_NIBBLES)
    pcm, _ = audioop.adpcm2lin(packed, 2, (predictor, index))
    out: NDArray[np.int16] = np.frombuffer(pcm, dtype=np.int16, count=count).copy()
    return out


def decode_reference(data: bytes, count: int, predictor: int, index: int) -> NDArray[np.int16]:
    """The IMA recommendation's decoder step by step, in Python: the reference for `decode`."""
    out = np.empty(count, dtype=np.int16)
    for i in range(count):
        byte = data[i >> 1]
        nibble = byte >> 4 if i & 1 else byte & 0x0F
        predictor, index = _step_once(nibble, predictor, index)
        out[i] = predictor
    return out


def encode(samples: NDArray[np.int16], predictor: int, index: int) -> bytes:
    """Encode int16 samples to packed nibbles from the given starting state.

    The encoder runs the decoder's own update, so encoder and decoder never drift apart.
    """
    packed = bytearray((len(samples) + 1) // 2)
    for i, sample in enumerate(samples.tolist()):
        step = _STEPS[index]
        delta = sample - predictor
        nibble = 8 if delta < 0 else 0
        delta = abs(delta)
        for bit, share in ((4, step), (2, step >> 1), (1, step >> 2)):
            if delta >= share:
                nibble |= bit
                delta -= share
        predictor, index = _step_once(nibble, predictor, index)
        packed[i >> 1] |= nibble << 4 if i & 1 else nibble
    return bytes(packed)
