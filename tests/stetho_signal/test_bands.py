"""Bands cut from one FFT match forward-backward Butterworth filtering away from the edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import fft, signal

from stetho_signal import design_bandpass
from stetho_signal.bands import (
    Spectrum,
    _low_rfft,
    _made_warped,
    _radix4_twiddles,
    _squared_lowpass,
    _squared_response,
    _warped,
    smooth_resampled,
)
from stetho_signal.filters import HEART_BAND_HZ, LUNG_BAND_HZ, bandpass

FS_HZ = 4000.0
EDGE_S = 0.5  # both methods pad the ends differently; compare the middle


def _noise(seconds: float, seed: int = 0) -> NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(round(seconds * FS_HZ))


def _middle(x: NDArray[np.float64], rate_hz: float) -> NDArray[np.float64]:
    edge = round(EDGE_S * rate_hz)
    return x[edge:-edge]


def _relative_error(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize(
    ("band_hz", "order"), [(HEART_BAND_HZ, 4), (LUNG_BAND_HZ, 4), ((5.0, 25.0), 2)]
)
def test_band_at_the_recording_rate_matches_sosfiltfilt(
    band_hz: tuple[float, float], order: int
) -> None:
    x = _noise(6.0)
    expected = bandpass(x, FS_HZ, band_hz, order).astype(np.float64)
    got = Spectrum(x, FS_HZ).band(band_hz, FS_HZ, order)
    assert got.shape == x.shape
    assert _relative_error(_middle(got, FS_HZ), _middle(expected, FS_HZ)) < 1e-4


def test_band_at_a_quarter_rate_matches_filtering_after_resampling() -> None:
    # Resampling by polyphase FIR and by cutting the spectrum differ only near 500 Hz, which
    # the heart band stops well short of.
    x = _noise(6.0, seed=1)
    low = signal.resample_poly(x, 1, 4)
    expected = bandpass(low, FS_HZ / 4, HEART_BAND_HZ).astype(np.float64)
    got = Spectrum(x, FS_HZ).band(HEART_BAND_HZ, FS_HZ / 4)
    assert got.shape == low.shape
    assert _relative_error(_middle(got, FS_HZ / 4), _middle(expected, FS_HZ / 4)) < 0.01


def test_envelope_is_the_magnitude_of_the_analytic_band() -> None:
    x = _noise(6.0, seed=2)
    spectrum = Spectrum(x, FS_HZ)
    expected = np.abs(signal.hilbert(bandpass(x, FS_HZ, HEART_BAND_HZ).astype(np.float64)))
    got = spectrum.unpad(spectrum.envelope(HEART_BAND_HZ, FS_HZ), FS_HZ)
    assert got.shape == x.shape
    # scipy's hilbert wraps the recording's ends into each other; its error decays slowly.
    assert _relative_error(_middle(got, FS_HZ), _middle(expected, FS_HZ)) < 0.01


# The 25-400 Hz band's skirt past 500 Hz (-8 dB at 500 Hz) is what the 500 Hz series leaves out.
@pytest.mark.parametrize(("band_hz", "tolerance"), [((25.0, 200.0), 1e-3), (HEART_BAND_HZ, 0.05)])
def test_an_envelope_at_a_complex_rate_above_the_band_loses_nothing(
    band_hz: tuple[float, float], tolerance: float
) -> None:
    # The analytic signal has no negative frequencies: at 500 Hz it holds 0-500 Hz, so its
    # samples are those of the full-rate envelope, not an aliased copy.
    spectrum = Spectrum(_noise(6.0, seed=4), FS_HZ)
    full = spectrum.unpad(spectrum.envelope(band_hz, FS_HZ), FS_HZ)[::8]
    got = spectrum.unpad(spectrum.envelope(band_hz, FS_HZ / 8), FS_HZ / 8)
    assert got.shape == full.shape
    assert _relative_error(got, full) < tolerance


def test_a_tone_keeps_its_amplitude_in_band_and_is_removed_out_of_band() -> None:
    t = np.arange(round(4.0 * FS_HZ)) / FS_HZ
    spectrum = Spectrum(np.sin(2 * np.pi * 100.0 * t) + np.sin(2 * np.pi * 1500.0 * t), FS_HZ)
    heart = _middle(spectrum.band(HEART_BAND_HZ, FS_HZ / 4), FS_HZ / 4)
    assert np.sqrt(np.mean(heart**2)) == pytest.approx(np.sqrt(0.5), abs=0.01)
    envelope = _middle(spectrum.unpad(spectrum.envelope((50.0, 200.0), FS_HZ), FS_HZ), FS_HZ)
    assert np.allclose(envelope, 1.0, atol=0.02)


def test_smoothing_samples_a_zero_phase_low_pass() -> None:
    rate_hz, out_rate_hz = 1000.0, 100.0
    x = np.random.default_rng(3).standard_normal(12_000)
    sos = signal.butter(2, 20.0, fs=rate_hz, output="sos")
    expected = signal.sosfiltfilt(sos, x)[::10]
    got = smooth_resampled(x, rate_hz, 20.0, out_rate_hz)
    assert got.shape == expected.shape
    assert _relative_error(_middle(got, out_rate_hz), _middle(expected, out_rate_hz)) < 0.05


def test_short_recordings_and_odd_lengths_keep_their_length() -> None:
    for n in (1, 7, 4001, 4003):
        spectrum = Spectrum(_noise(2.0)[:n], FS_HZ)
        assert spectrum.band(HEART_BAND_HZ, FS_HZ).shape == (n,)
        assert spectrum.band(HEART_BAND_HZ, FS_HZ / 4).shape == (-(-n // 4),)


@pytest.mark.parametrize(("n", "length", "pad"), [(0, 40, -40), (30, 40, 0), (41, 160, 40)])
def test_the_transform_buffer_is_filled_whatever_it_held(n: int, length: int, pad: int) -> None:
    """The buffer is taken unzeroed: the samples, their mirrored ends and zeros after them,
    whatever memory it reuses (NumPy hands a freed small buffer of the same size on: here one
    of NaNs). Empty, short enough for no padding, and padded."""
    x = _noise(1.0)[:n]
    filled = np.zeros(length, dtype=np.float32)
    if pad > 0:
        filled[:pad] = 2.0 * x[0] - x[pad:0:-1]
        filled[pad + n : n + 2 * pad] = 2.0 * x[-1] - x[-2 : -pad - 2 : -1]
    filled[max(pad, 0) : max(pad, 0) + n] = x
    junk = np.full(length, np.nan, dtype=np.float32)
    del junk
    spectrum = Spectrum(x, FS_HZ)
    assert (spectrum.length, spectrum.pad) == (length, pad)
    np.testing.assert_array_equal(spectrum._bins, fft.rfft(filled))


def test_a_rate_that_does_not_divide_the_recording_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="does not divide"):
        Spectrum(_noise(1.0), FS_HZ).band(HEART_BAND_HZ, 3000.0)


def test_an_envelope_is_computed_once_per_recording_and_cannot_be_altered() -> None:
    spectrum = Spectrum(_noise(2.0), FS_HZ)
    first = spectrum.envelope(HEART_BAND_HZ, FS_HZ / 4)
    assert spectrum.envelope(HEART_BAND_HZ, FS_HZ / 4) is first
    assert spectrum.envelope(HEART_BAND_HZ, FS_HZ / 4, order=2) is not first
    with pytest.raises(ValueError):
        first[0] = 0.0


@pytest.mark.parametrize("length", [4001, 80000, 91234])
@pytest.mark.parametrize(
    ("rate", "band", "order"),
    [(4000.0, (25.0, 400.0), 4), (4000.0, (150.0, 1800.0), 4), (200.0, (5.0, 25.0), 2),
     (500.0, (25.0, 200.0), 4), (4000.0, (100.0, 2000.0), 4)],
)  # fmt: skip
def test_squared_response_at_bins_matches_sosfreqz(
    length: int, rate: float, band: tuple[float, float], order: int
) -> None:
    # The last band reaches Nyquist: capped at 95 % of it, as design_bandpass does.
    sos = design_bandpass(rate, band, order)
    freqs = np.arange(length // 2 + 1) * (rate / length)
    _, response = signal.sosfreqz(sos, worN=freqs, fs=rate)
    expected = np.abs(response) ** 2
    assert np.allclose(_squared_response(band, rate, order, length), expected, atol=1e-6)
    lowpass = signal.butter(2, 20.0, fs=rate, output="sos")
    _, response = signal.sosfreqz(lowpass, worN=freqs, fs=rate)
    assert np.allclose(_squared_lowpass(20.0, rate, length), np.abs(response) ** 2, atol=1e-11)


@pytest.mark.parametrize("seconds", [1.0, 3.3, 12.7])
def test_envelopes_in_one_call_are_each_band_alone_bit_for_bit(seconds: float) -> None:
    # The heart analysis asks for its three bands at once (one transform call for all);
    # each row must be what one band alone gives, to the last bit, and so its smoothing.
    bands = ((25.0, 200.0), (150.0, 400.0), (100.0, 400.0))
    x = _noise(seconds, seed=5)
    together = Spectrum(x, FS_HZ).envelopes(bands, 500.0)
    assert together.shape[0] == len(bands)
    smoothed = smooth_resampled(np.log(together + np.float32(1e-6)), 500.0, 20.0, 100.0)
    for row, band_hz in enumerate(bands):
        alone = Spectrum(x, FS_HZ).envelope(band_hz, 500.0)
        assert together[row].tobytes() == alone.tobytes()
        one = smooth_resampled(np.log(alone + np.float32(1e-6)), 500.0, 20.0, 100.0)
        assert smoothed[row].tobytes() == one.tobytes()


def test_envelopes_reuse_and_repeat_bands_already_cut() -> None:
    spectrum = Spectrum(_noise(2.0, seed=6), FS_HZ)
    first = spectrum.envelope((25.0, 200.0), 500.0)
    both = spectrum.envelopes(((25.0, 200.0), (100.0, 400.0), (25.0, 200.0)), 500.0)
    assert both[0].tobytes() == first.tobytes() == both[2].tobytes()
    assert both[1].tobytes() == spectrum.envelope((100.0, 400.0), 500.0).tobytes()
    assert not both.flags.writeable and not first.flags.writeable


@pytest.mark.parametrize("length", [5600, 12280, 39960, 81920, 87480])
def test_low_bins_of_the_radix_4_split_are_the_whole_transforms(length: int) -> None:
    padded = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    whole = fft.rfft(padded)
    eighth = length // 8
    for count in (1, eighth, eighth + 1, eighth + 2, 2 * eighth, 2 * eighth + 1, 3 * eighth + 1):
        got = _low_rfft(padded, count)
        assert got.dtype == np.complex64 and got.shape == (count,)
        assert np.max(np.abs(got - whole[:count])) <= 1e-6 * np.max(np.abs(whole))
    for count in (0, 3 * eighth + 2):
        with pytest.raises(ValueError, match="radix-4"):
            _low_rfft(padded, count)


@pytest.mark.parametrize("length", [8, 40, 5600, 12280, 81920, 87480])
def test_radix_4_twiddles_are_the_double_precision_powers_rounded_once(length: int) -> None:
    # Each row written in single precision as it is formed: the same bits as the three rows
    # made in double precision, stacked, then cast (what the split was validated with).
    _radix4_twiddles.cache_clear()
    got = _radix4_twiddles(length)
    count = length // 8 + 1
    step = math.isqrt(count) + 1
    coarse = np.exp((-2j * np.pi * step / length) * np.arange(-(-count // step)))
    fine = np.exp((-2j * np.pi / length) * np.arange(step))
    first = (coarse[:, None] * fine).ravel()[:count]
    want = np.stack((first, first * first, first * first * first)).astype(np.complex64)
    assert got.dtype == np.complex64 and got.shape == (3, count)
    assert got.tobytes() == want.tobytes()
    assert not got.flags.writeable
    # Within single-precision rounding of exp(-2 pi i r k / n).
    exact = np.exp(-2j * np.pi * np.arange(1, 4)[:, None] * np.arange(count) / length)
    assert np.max(np.abs(got - exact)) <= 2e-7


@pytest.mark.parametrize("length", [7, 10, 4050, 4096, 20250, 81920, 115200])
def test_warped_frequencies_are_the_tangents_to_a_few_ulps_and_inf_only_at_nyquist(
    length: int,
) -> None:
    # The tangents come from products of exponentials, not np.tan: within 1e-14 of it up to
    # 0.45 of the rate (the cosine's rounding grows towards Nyquist: within 1e-11 there).
    for bins in sorted({1, 2, length // 8, length // 4, (length + 1) // 2, length // 2 + 1}):
        got = _made_warped(1000.0, length, bins)
        w = np.pi * np.arange(bins) / length
        want = 2000.0 * np.tan(w)
        assert got.shape == (bins,) and not got.flags.writeable
        nyquist = length % 2 == 0 and bins == length // 2 + 1
        assert np.array_equal(np.isinf(got), np.arange(bins) == (bins - 1 if nyquist else -1))
        finite = slice(0, bins - 1 if nyquist else bins)
        error = np.abs(got[finite] - want[finite]) / np.maximum(want[finite], 1e-300)
        assert np.all(error[w[finite] <= 0.45 * np.pi] <= 1e-14)
        assert np.all(error <= 1e-11)
        assert _warped(1000.0, length, bins).tobytes() == got.tobytes()


@pytest.mark.parametrize("length", [3000, 12000, 17280])
def test_warped_frequencies_divide_by_zero_at_nyquist_without_a_warning(length: int) -> None:
    # At these lengths 1 - tan a tan b rounds to 0 at the Nyquist bin (the analysis meets
    # them): the division is silent there, and the bin is inf as for any even length.
    with np.errstate(all="raise"):
        got = _made_warped(1000.0, length, length // 2 + 1)
    assert got[-1] == np.inf and np.all(np.isfinite(got[:-1]))


def test_single_precision_responses_are_the_bits_np_tan_gives() -> None:
    # What the analysis reads: its gains in single precision are those of np.tan's tangents
    # (the shared recordings' analyses were byte for byte the same, thirty-third round).
    cases = ((96000, 4000.0, 12000, (25.0, 400.0)), (24000, 1000.0, 12001, (25.0, 400.0)),
             (4800, 200.0, 2401, (5.0, 25.0)))  # fmt: skip
    for length, rate, bins, band in cases:
        w = np.pi * np.arange(bins) / length
        tangents = 2.0 * rate * np.tan(w)
        if bins == length // 2 + 1:
            tangents[-1] = np.inf
        lw, hw = (2.0 * rate * math.tan(math.pi * f / rate) for f in band)
        got = _band_gains(_made_warped(rate, length, bins), lw, hw)
        assert got.tobytes() == _band_gains(tangents, lw, hw).tobytes()


def _band_gains(analogue: NDArray[np.float64], lw: float, hw: float) -> NDArray[np.float32]:
    """A 4th-order band-pass's squared response at ``analogue``, as _squared_response makes it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (analogue * analogue - lw * hw) / ((hw - lw) * analogue)
        return np.nan_to_num(1.0 / (1.0 + x**8)).astype(np.float32)


def test_a_spectrum_made_to_a_top_frequency_gives_the_same_bands_and_refuses_more() -> None:
    x = _noise(7.3, seed=3)
    whole, low = Spectrum(x, FS_HZ), Spectrum(x, FS_HZ, top_hz=1100.0)
    band = whole.band(HEART_BAND_HZ, 1000.0)
    assert _relative_error(low.band(HEART_BAND_HZ, 1000.0), band) < 1e-5
    envelope = whole.envelope((300.0, 1000.0), 1000.0)
    assert _relative_error(low.envelope((300.0, 1000.0), 1000.0), envelope) < 1e-5
    # The top bin made, to 0.1 Hz: the first at or past 1,100 Hz.
    top = math.ceil(1100.0 * low.length / FS_HZ) * FS_HZ / low.length
    made = f"bins to {top:.1f} Hz were made"
    with pytest.raises(ValueError, match=made):
        low.band(LUNG_BAND_HZ, FS_HZ)
    with pytest.raises(ValueError, match=made):
        low.envelope((300.0, 1500.0), 2000.0)
