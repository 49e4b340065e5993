"""Envelopes cut several bands at once: scaled each on its own, smoothed in the input's precision,
and the short transforms of odd length keep their time base.

``heart_envelopes`` divides each row by its own 99th percentile whatever the recording's level;
``smooth_resampled`` weights single-precision bins by single-precision gains (the bits the
analysis had before the bands were batched) and refuses a length its decimation does not
divide; a band cut at the grid's coarsest rate, whose transform may have an odd length, keeps
the tone it passes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft

from stetho_signal._stats import quantile
from stetho_signal.bands import (
    Spectrum,
    _analytic_weights,
    _band_weights,
    _smoothing_weights,
    _squared_lowpass,
    smooth_resampled,
)
from stetho_signal.envelope import heart_envelopes

FS_HZ = 4000.0
_BANDS = ((25.0, 200.0), (150.0, 400.0))


@pytest.mark.parametrize("gain", [1e-3, 1e3])
def test_each_envelope_is_scaled_to_its_own_99th_percentile(gain: float) -> None:
    # Quiet or loud, each row comes back with its 99th percentile at 1 (the same level as the
    # other row's, whatever their bands held).
    x = gain * np.random.default_rng(11).standard_normal(round(3.0 * FS_HZ))
    envs = heart_envelopes(Spectrum(x, FS_HZ), _BANDS)
    assert envs.shape[0] == len(_BANDS)
    for row in envs:
        assert quantile(row, 0.99) == pytest.approx(1.0, rel=1e-12)


def test_single_precision_is_smoothed_with_single_precision_gains() -> None:
    x = np.random.default_rng(12).standard_normal(12_000).astype(np.float32)
    bins = fft.rfft(x)[:601]
    weights = (_squared_lowpass(20.0, 1000.0, 12_000, 601) / 10).astype(np.float32)
    expected = fft.irfft(bins * weights, 1200).astype(np.float64)
    got = smooth_resampled(x, 1000.0, 20.0, 100.0)
    assert got.tobytes() == expected.tobytes()


def test_an_odd_number_of_smoothed_samples_keeps_the_time_base() -> None:
    # 1201 output samples: the inverse transform must be told the length (an even default would
    # stretch the series by a sample). A 2 Hz tone survives the 20 Hz smoothing as itself.
    t = np.arange(12_010) / 1000.0
    x = np.sin(2 * np.pi * 2.0 * t)
    got = smooth_resampled(x, 1000.0, 20.0, 100.0)
    assert got.shape == (1201,)
    middle = slice(100, -100)
    np.testing.assert_allclose(got[middle], x[::10][middle], atol=2e-3)


def test_a_length_the_decimation_does_not_divide_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match=r"^length 1001 is not a multiple of the decimation 10$"):
        smooth_resampled(np.zeros(1001), 1000.0, 20.0, 100.0)


def test_a_band_at_the_coarsest_rate_keeps_a_tone_on_an_odd_transform() -> None:
    # 7080 samples pad to a transform of 225 points at 100 Hz: odd. A 15 Hz tone in a 5-25 Hz
    # band comes out as at the full rate, decimated (within the designs' 1 % apart at 15 Hz).
    x = np.sin(2 * np.pi * 15.0 * np.arange(7080) / FS_HZ)
    spectrum = Spectrum(x, FS_HZ)
    assert spectrum.length // 40 % 2 == 1
    coarse = spectrum.band((5.0, 25.0), 100.0, order=2)
    fine = spectrum.band((5.0, 25.0), FS_HZ, order=2)[::40]
    assert coarse.shape == fine.shape
    np.testing.assert_allclose(coarse[10:-10], fine[10:-10], atol=0.03)  # bilinear warping


def test_cached_weights_cannot_be_altered() -> None:
    # Each cache hands the same array to every caller: one write would bend every later band.
    shared = [
        _band_weights((25.0, 400.0), 1000.0, 4, 2000, 8000),
        _analytic_weights((25.0, 400.0), FS_HZ, 4, 8000, 1000),
        _smoothing_weights(20.0, 500.0, 2000, 5, np.dtype(np.float32)),
    ]
    for weights in shared:
        assert not weights.flags.writeable
        with pytest.raises(ValueError):
            weights[1] = 0.0


def test_the_highest_frequency_an_envelope_keeps_is_doubled_as_the_others() -> None:
    # A tone on the last bin the 500 Hz analytic signal keeps (just under 500 Hz, where the
    # 25-400 Hz band still passes -8 dB): its envelope is the full-rate one, not half of it.
    n = round(4.0 * FS_HZ)
    length = Spectrum(np.zeros(n), FS_HZ).length
    tone_hz = (length // 8 - 1) * FS_HZ / length
    spectrum = Spectrum(np.sin(2 * np.pi * tone_hz * np.arange(n) / FS_HZ), FS_HZ)
    full = spectrum.unpad(spectrum.envelope((25.0, 400.0), FS_HZ), FS_HZ)[::8]
    got = spectrum.unpad(spectrum.envelope((25.0, 400.0), 500.0), 500.0)
    middle = slice(250, -250)  # (the ends' mirrored padding ripples either by a few %)
    assert np.mean(got[middle]) == pytest.approx(np.mean(full[middle]), rel=0.01)
