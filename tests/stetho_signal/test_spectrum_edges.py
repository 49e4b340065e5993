"""A recording's spectrum: its mirrored ends, their length, single precision, the rates it
takes, and the Butterworth gain at orders and frequencies the analysis rarely meets.

The ends are an odd extension (as ``sosfiltfilt`` pads): a straight line goes on straight. It
reaches 0.25 s, or as far as the recording has inner samples to mirror, and what the fast
transform length leaves room for.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import fft, signal

from stetho_signal import design_bandpass
from stetho_signal.bands import Spectrum, _butterworth, _squared_response

FS_HZ = 4000.0


@pytest.mark.parametrize(
    ("size", "pad"),
    # 41, 79 and 161 samples: as many mirrored as whole 40-sample steps of inner samples (40,
    # 40, 160; 161 has room for 200); 4920: 0.25 s (1000), with room for more in its 7200-point
    # transform.
    [(41, 40), (79, 40), (161, 160), (4920, 1000)],
)
def test_a_straight_line_goes_on_straight_into_the_mirrored_ends(size: int, pad: int) -> None:
    ramp = 0.5 + 0.001 * np.arange(size)
    spectrum = Spectrum(ramp, FS_HZ)
    assert spectrum.pad == pad
    padded = fft.irfft(spectrum._bins, spectrum.length)
    expected = 0.5 + 0.001 * np.arange(-pad, size + pad)
    np.testing.assert_allclose(padded[: size + 2 * pad], expected, atol=2e-5)
    np.testing.assert_allclose(padded[size + 2 * pad :], 0.0, atol=2e-5)


def test_bands_and_envelopes_are_single_precision() -> None:
    spectrum = Spectrum(np.random.default_rng(1).standard_normal(8000), FS_HZ)
    assert spectrum.band((25.0, 400.0), FS_HZ).dtype == np.float32
    assert spectrum.envelope((25.0, 400.0), 500.0).dtype == np.float32


def test_a_rate_off_by_under_a_millionth_is_taken_as_its_divisor() -> None:
    spectrum = Spectrum(np.random.default_rng(2).standard_normal(8000), FS_HZ)
    near = spectrum.band((25.0, 400.0), 1000.0001)  # 4 x 1000.0001 is 0.1 millionth off
    exact = spectrum.band((25.0, 400.0), 1000.0)
    assert near.shape == exact.shape
    np.testing.assert_allclose(near, exact, atol=1e-4 * float(np.max(np.abs(exact))))


def test_a_rate_off_by_exactly_a_millionth_is_still_taken() -> None:
    # At 1 MHz a millionth is 1 Hz to the last bit: 2 x 500000.5 Hz is 1 Hz off, on the bound.
    spectrum = Spectrum(np.random.default_rng(3).standard_normal(4000), 1e6)
    assert spectrum.band((25.0, 400.0), 500_000.5).shape == (2000,)
    with pytest.raises(ValueError, match="does not divide"):
        spectrum.band((25.0, 400.0), 500_000.6)


def test_an_odd_order_band_matches_sosfreqz() -> None:
    # Orders that are not powers of two take the power itself (2, 4 square repeatedly).
    length, band = 8000, (25.0, 400.0)
    freqs = np.arange(length // 2 + 1) * (FS_HZ / length)
    _, response = signal.sosfreqz(design_bandpass(FS_HZ, band, 3), worN=freqs, fs=FS_HZ)
    got = _squared_response(band, FS_HZ, 3, length)
    np.testing.assert_allclose(got, np.abs(response) ** 2, atol=1e-6)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_a_gain_far_out_of_band_is_zero_without_a_warning(order: int) -> None:
    # Far past the edge the power overflows to infinity, and the Nyquist bin of a band-pass is
    # inf over inf (NaN): both give 0, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gain = _butterworth(np.array([1e300, -1e300, np.inf, np.nan, 0.0]), order)
    assert gain.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_a_power_of_two_order_squares_repeatedly_to_the_last_bit() -> None:
    # As documented: x**8 as ((x**2)**2)**2, not pow (a few units in the last place apart).
    x = np.random.default_rng(4).uniform(0.01, 100.0, 1000)
    assert (
        _butterworth(x, 4).tobytes() == (1.0 / (1.0 + np.square(np.square(np.square(x))))).tobytes()
    )
    assert _butterworth(x, 2).tobytes() == (1.0 / (1.0 + np.square(np.square(x)))).tobytes()
