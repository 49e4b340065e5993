"""The scipy.signal functions we carry are SciPy's, bit for bit, without importing scipy.signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_common import dsp

RATES_HZ = (1000.0, 2000.0, 4000.0, 8000.0, 44100.0)
BANDS_HZ = ((20.0, 150.0), (25.0, 400.0), (100.0, 1000.0), (150.0, 1900.0), (200.0, 210.0))


def _same(a: NDArray[np.generic], b: NDArray[np.generic]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _noise(n: int = 20000, seed: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("order", range(1, 13))
def test_butterworth_sections_match_scipy(order: int) -> None:
    for fs in RATES_HZ:
        bands = [b for b in BANDS_HZ if b[1] < fs / 2] + [(20.0, 0.45 * fs), (1.0, 0.49 * fs)]
        for band in bands:
            expected = signal.butter(order, band, btype="bandpass", fs=fs, output="sos")
            assert _same(dsp.butter_bandpass_sos(order, band, fs), expected), (fs, band)


@pytest.mark.parametrize("order", [1, 2, 4, 6])
def test_filtering_matches_scipy(order: int) -> None:
    x = _noise()
    sos = signal.butter(order, (25.0, 400.0), btype="bandpass", fs=4000.0, output="sos")
    zi = np.random.default_rng(2).standard_normal((order, 2))
    assert _same(dsp.sosfilt(sos, x)[0], signal.sosfilt(sos, x))
    assert _same(
        dsp.sosfilt(sos, x.astype(np.float32))[0], signal.sosfilt(sos, x.astype(np.float32))
    )
    y, zf = dsp.sosfilt(sos, x, zi=zi)
    y_scipy, zf_scipy = signal.sosfilt(sos, x, zi=zi)
    assert _same(y, y_scipy) and _same(zf, zf_scipy)
    assert _same(dsp.sosfilt_zi(sos), signal.sosfilt_zi(sos))
    for padlen in (None, 0, 1, 27):
        assert _same(dsp.sosfiltfilt(sos, x, padlen), signal.sosfiltfilt(sos, x, padlen=padlen))


@pytest.mark.parametrize(
    ("up", "down"), [(1, 2), (1, 3), (1, 12), (40, 441), (2, 1), (4, 3), (3, 3)]
)
def test_resampling_matches_scipy(up: int, down: int) -> None:
    x = _noise(9001)
    for data in (x, x.astype(np.float32), (x * 1000).astype(np.int16)):
        assert _same(dsp.resample_poly(data, up, down), signal.resample_poly(data, up, down))


@pytest.mark.parametrize("down", [2, 3, 12])
def test_decimation_matches_scipy_at_any_length(down: int) -> None:
    # Decimation sums tap by tap over every output: shorter than the filter, and around it.
    for n in (1, 2, 7, 10 * down * 2, 10 * down * 2 + 1, 10 * down * 2 + 2, 1001):
        data = _noise(n, seed=n)
        assert _same(dsp.resample_poly(data, 1, down), signal.resample_poly(data, 1, down))
    silent = np.zeros(500)  # all zeros stay +0.0, as the kernel leaves them
    assert _same(dsp.resample_poly(-silent, 1, down), signal.resample_poly(-silent, 1, down))


@pytest.mark.parametrize(("up", "down"), [(1, 2), (1, 3), (1, 12), (40, 441), (2, 1)])
def test_resampling_without_sinc_zeros_is_scipys_to_1e15(up: int, down: int) -> None:
    x = _noise(9001)
    expected = signal.resample_poly(x, up, down)
    got = dsp.resample_poly(x, up, down, sinc_zeros=True)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-15 * np.max(np.abs(x))
    # Every product of a zero tap is skipped: a 2:1 decimation reads 21 of its 41 taps.
    assert np.count_nonzero(dsp._resample._lowpass_zeroed(41, 2)) == 21


@pytest.mark.parametrize(
    "conditions",
    [
        {},
        {"height": 1.0},
        {"distance": 8},
        {"prominence": (0.2, 2.0)},
        {"width": 3.0},
        {"height": 1.0, "prominence": 0.5, "distance": 8, "width": (None, 30.0)},
        {"height": 1.2, "distance": 40, "width": (None, 10.0), "rel_height": 0.5},
    ],
)
def test_peaks_match_scipy(conditions: dict[str, float]) -> None:
    envelope = np.abs(signal.hilbert(_noise(8000)))
    found = dsp.find_peaks(envelope, **conditions)
    assert _same(found, signal.find_peaks(envelope, **conditions)[0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="0 < low < high"):
        dsp.butter_bandpass_sos(2, (300.0, 200.0), 4000.0)
    with pytest.raises(ValueError, match="longer than padlen"):
        dsp.sosfiltfilt(np.array([[1.0, 0, 0, 1, 0, 0]]), np.zeros(3), padlen=3)
    with pytest.raises(ValueError, match="distance"):
        dsp.find_peaks(np.zeros(5), distance=0)


_ISOLATED = """
import sys
import stetho_signal, stetho_sim.synth
assert "scipy.signal" not in sys.modules, "scipy.signal was imported"
assert "scipy.stats" not in sys.modules, "scipy.stats was imported"
import numpy as np
from scipy import signal  # later, as a test or the bench does: it reuses our kernels
from stetho_common import dsp
x = np.random.default_rng(0).standard_normal(1000)
sos = signal.butter(2, (20.0, 400.0), btype="bandpass", fs=4000.0, output="sos")
assert np.array_equal(signal.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x))
"""


def test_the_analysis_runs_without_importing_scipy_signal() -> None:
    done = subprocess.run([sys.executable, "-c", _ISOLATED], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
