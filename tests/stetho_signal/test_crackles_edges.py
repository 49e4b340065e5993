"""The crackle detector's bounds, on bands made sample by sample.

Most tests read a band at the detector's rate (8 kHz: twice a 4 kHz recording) that is loud
(|x| = 2) in its middle and silent at its ends. The background there is half the median level,
exactly 1, so a spike's ratio is its height.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal.crackles import _background, _damped, crackle_band, crackles_in

FS_HZ = 8000.0
SIZE = 16000  # 2 s: silent in the first and last 0.4 s


def _band(size: int = SIZE) -> NDArray[np.float32]:
    band = np.zeros(size, dtype=np.float32)
    middle = np.arange(3200, size - 3200)
    band[middle] = np.where(middle % 2 == 0, 2.0, -2.0)
    return band


def _spikes(heights: dict[int, float], size: int = SIZE) -> NDArray[np.float32]:
    band = _band(size)
    for i, height in heights.items():
        band[i] = height
    return band


def test_a_spike_exactly_6_times_the_background_is_a_crackle() -> None:
    assert crackles_in(_spikes({1001: 6.0}), FS_HZ) == (0.1251,)  # to 0.1 ms
    assert crackles_in(_spikes({1001: 5.99}), FS_HZ) == ()


def test_the_detector_reads_from_half_a_window_in_to_half_a_window_from_the_end() -> None:
    # At 8.01 kHz the window is 801 samples, half of it 400: samples 400 .. SIZE - 401 are read.
    fs_hz = 8010.0
    first, last = 400, SIZE - 401
    inside = crackles_in(_spikes({first: 9.0, last: 9.0}), fs_hz)
    assert inside == (round(first / fs_hz, 4), round(last / fs_hz, 4))
    assert crackles_in(_spikes({first - 1: 9.0, last + 1: 9.0}), fs_hz) == ()
    # A signal that spans the whole band moves neither end.
    whole = (0.0, SIZE / fs_hz)
    assert crackles_in(_spikes({first: 9.0, last: 9.0}), fs_hz, whole) == inside


def test_a_single_candidate_that_keeps_ringing_is_no_crackle() -> None:
    # Three more half-cycles over half its height within 10 ms: the lone candidate rings.
    ringing = _spikes({1000: 9.0, 1003: -5.4, 1006: 5.4, 1009: -5.4})
    assert crackles_in(ringing, FS_HZ) == ()
    assert crackles_in(_spikes({1000: 9.0, 1003: -5.4, 1006: 5.4}), FS_HZ) == (0.125,)


def _magnitude(crests: dict[int, float], size: int = 200) -> NDArray[np.float32]:
    """|band| with a peak of 1 at sample 50 and the given crests (one sample each) after it."""
    magnitude = np.zeros(size, dtype=np.float32)
    magnitude[50] = 1.0
    for i, height in crests.items():
        magnitude[i] = height
    return magnitude


PEAK = np.array([50])


@pytest.mark.parametrize(
    ("crests", "damped"),
    [
        ({53: 0.6, 56: 0.6}, True),  # two half-cycles over half height: a crackle's
        ({53: 0.6, 56: 0.6, 60: 0.6}, False),  # three: ringing
        ({53: 0.6, 56: 0.6, 60: 0.5}, False),  # the third at exactly half height counts
        ({53: 0.6, 56: 0.6, 60: 0.49}, True),
        ({53: 0.6, 56: 0.6, 60: 0.6, 61: 0.6}, False),  # a flat top ends the count: one crest
        ({53: 0.6, 54: 0.6, 58: 0.6, 59: 0.6}, True),  # two flat tops are two crests
    ],
)
def test_the_half_cycles_counted_after_a_peak(crests: dict[int, float], damped: bool) -> None:
    assert _damped(_magnitude(crests), PEAK, 10).tolist() == [damped]


@pytest.mark.parametrize(("last", "damped"), [(60, False), (61, True)])
def test_half_cycles_are_counted_to_span_samples_after_the_peak(last: int, damped: bool) -> None:
    magnitude = _magnitude({53: 0.6, 56: 0.6, last: 0.6})
    assert _damped(magnitude, PEAK, 10).tolist() == [damped]


def test_a_steady_band_s_background_is_its_level_to_the_last_sample() -> None:
    # 1005 samples in blocks of 10: the last block holds 5, its padding left out.
    band = np.where(np.arange(1005) % 2 == 0, 1.0, -1.0).astype(np.float32)
    background = _background(band, 100)
    assert background.dtype == np.float32 and background.shape == band.shape
    np.testing.assert_allclose(background, 1.0, rtol=1e-6)


def test_the_background_before_the_first_block_repeats_it() -> None:
    # Block 0 at level 2, the rest at 1: the first block's mean square takes block 0 six times
    # (five before the band, as if the band began at that level) and blocks 1..4 once.
    band = np.ones(1000, dtype=np.float32)
    band[:10] = 2.0
    assert _background(band, 100)[0] == pytest.approx(np.sqrt(2.8), rel=1e-6)


def test_a_window_of_ten_samples_is_taken_sample_by_sample() -> None:
    band = np.zeros(40, dtype=np.float32)
    band[20] = 3.0
    assert _background(band, 10)[20] == pytest.approx(np.sqrt(0.9), rel=1e-6)


def test_the_band_is_interpolated_in_single_precision_whatever_it_came_in() -> None:
    x = np.random.default_rng(3).standard_normal(4000)
    finer, rate_hz = crackle_band(x, 4000.0)
    assert rate_hz == 8000.0 and finer.dtype == np.float32
    np.testing.assert_array_equal(finer, crackle_band(x.astype(np.float32), 4000.0)[0])
