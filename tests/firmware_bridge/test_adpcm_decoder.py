"""The fast IMA-ADPCM decoder (the standard audioop, in C) against the step-by-step reference."""

import numpy as np
import pytest

from firmware_bridge import _adpcm


@pytest.mark.parametrize("seed", range(4))
def test_audioop_decoder_is_bit_identical_to_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(250):
        count = int(rng.integers(0, 998))  # up to the profile's largest ADPCM frame, 997
        data = rng.integers(0, 256, (count + 1) // 2, dtype=np.uint8).tobytes()
        predictor = int(rng.integers(-32768, 32768))
        index = int(rng.integers(0, _adpcm.MAX_STEP_INDEX + 1))
        fast = _adpcm.decode(data, count, predictor, index)
        reference = _adpcm.decode_reference(data, count, predictor, index)
        assert fast.dtype == reference.dtype == np.int16 and len(fast) == count
        assert np.array_equal(fast, reference)


def test_extremes_clamp_alike() -> None:
    loud = bytes([0x77]) * 200  # every nibble +7: the predictor and index run to their ceilings
    quiet = bytes([0xFF]) * 200  # every nibble -7
    for data, start in ((loud, 32000), (quiet, -32000)):
        for index in (0, 88):
            assert np.array_equal(
                _adpcm.decode(data, 399, start, index),
                _adpcm.decode_reference(data, 399, start, index),
            )


def test_round_trip_through_the_encoder_tracks_the_signal() -> None:
    t = np.arange(997) / 4000
    tone = (8000 * np.sin(2 * np.pi * 150 * t)).astype(np.int16)
    decoded = _adpcm.decode(_adpcm.encode(tone, 0, 0), len(tone), 0, 0)
    assert np.max(np.abs(decoded[100:].astype(int) - tone[100:])) < 600
