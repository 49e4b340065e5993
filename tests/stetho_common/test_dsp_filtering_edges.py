"""Each step of our sosfilt, sosfilt_zi and sosfiltfilt against SciPy's own, with the refusals.

Short inputs, so a mutant's run stays well under a second (bench/mutate.py runs these).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal
from scipy.signal import _arraytools

from stetho_common import dsp
from stetho_common.dsp import _filtering

SOS = signal.butter(2, (25.0, 400.0), btype="bandpass", fs=4000.0, output="sos")


def _same(a: NDArray[np.generic], b: NDArray[np.generic]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _noise(n: int = 200, seed: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(n)


def test_sections_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^sos must have shape \(n_sections, 6\), got \(2, 5\)$"):
        dsp.sosfilt(np.ones((2, 5)), _noise())
    with pytest.raises(ValueError, match=r"^sos must have shape \(n_sections, 6\), got \(1, 2, 6"):
        dsp.sosfilt(np.ones((1, 2, 6)), _noise())
    with pytest.raises(ValueError, match=r"^sos\[:, 3\] must be all ones$"):
        dsp.sosfilt([[1.0, 0, 0, 2.0, 0, 0]], _noise())
    with pytest.raises(ValueError, match=r"must be all ones"):
        dsp.sosfiltfilt([[1.0, 0, 0, 1.0, 0, 0], [1.0, 0, 0, 0.5, 0, 0]], _noise())


def test_one_section_as_a_flat_row_is_taken() -> None:
    # np.atleast_2d, as SciPy does: six numbers are one section.
    y, zf = dsp.sosfilt(SOS[0], _noise())
    y_scipy, zf_scipy = signal.sosfilt(SOS[0], _noise(), zi=np.zeros((1, 2)))
    assert _same(y, y_scipy) and _same(zf, zf_scipy)


def test_samples_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match=r"^x must be one-dimensional, got shape \(2, 100\)$"):
        dsp.sosfilt(SOS, _noise().reshape(2, 100))
    with pytest.raises(ValueError, match=r"^x must be one-dimensional, got shape \(\)$"):
        dsp.sosfiltfilt(SOS, 1.0)


def test_integer_input_is_refused_and_float_types_kept() -> None:
    with pytest.raises(ValueError, match=r"^input type int64 is not supported$"):
        dsp.sosfilt(np.array([[1, 0, 0, 1, 0, 0]]), np.arange(10))
    x = _noise()
    for dtype in (np.float32, np.complex64, np.complex128, np.longdouble):
        data = x.astype(dtype)
        y, zf = dsp.sosfilt(SOS.astype(np.float32), data)
        at_rest = np.zeros((2, 2), y.dtype)
        y_scipy, zf_scipy = signal.sosfilt(SOS.astype(np.float32), data, zi=at_rest)
        assert _same(y, signal.sosfilt(SOS.astype(np.float32), data)), dtype
        assert _same(y, y_scipy) and _same(zf, zf_scipy), dtype
    # Float sections and integer samples: SciPy filters in float64.
    ints = (x * 100).astype(np.int16)
    assert _same(dsp.sosfilt(SOS, ints)[0], signal.sosfilt(SOS, ints))


def test_state_of_the_wrong_shape_is_refused_and_the_callers_kept() -> None:
    with pytest.raises(ValueError, match=r"^zi must have shape \(2, 2\), got \(2,\)$"):
        dsp.sosfilt(SOS, _noise(), zi=np.zeros(2))
    with pytest.raises(ValueError, match=r"^zi must have shape \(2, 2\), got \(2, 2, 1\)$"):
        dsp.sosfilt(SOS, _noise(), zi=np.zeros((2, 2, 1)))
    zi = np.ones((2, 2))
    y, zf = dsp.sosfilt(SOS, _noise(), zi=zi)
    assert np.array_equal(zi, np.ones((2, 2)))  # the kernel works on a copy
    y_scipy, zf_scipy = signal.sosfilt(SOS, _noise(), zi=np.ones((2, 2)))
    assert _same(y, y_scipy) and _same(zf, zf_scipy)
    # A float64 state with float32 sections and samples: everything in float64, as SciPy does.
    sos32, x32 = SOS.astype(np.float32), _noise().astype(np.float32)
    y, zf = dsp.sosfilt(sos32, x32, zi=np.ones((2, 2)))
    y_scipy, zf_scipy = signal.sosfilt(sos32, x32, zi=np.ones((2, 2)))
    assert y.dtype == np.float64 and _same(y, y_scipy) and _same(zf, zf_scipy)
    # A float32 state with float64 samples: everything in float64.
    y, zf = dsp.sosfilt(SOS.astype(np.float32), _noise(), zi=np.ones((2, 2), np.float32))
    assert y.dtype == zf.dtype == np.float64


def test_a_stream_filtered_in_blocks_is_the_whole_filtered_once() -> None:
    x = _noise(300)
    whole, _ = dsp.sosfilt(SOS, x)
    first, state = dsp.sosfilt(SOS, x[:120])
    second, _ = dsp.sosfilt(SOS, x[120:], zi=state)
    assert np.array_equal(np.concatenate((first, second)), whole)
    x_strided = _noise(600)[::2]  # not contiguous: copied into a C-ordered buffer
    assert _same(dsp.sosfilt(SOS, x_strided)[0], signal.sosfilt(SOS, x_strided))


def _random_sections(n_sections: int, seed: int) -> NDArray[np.float64]:
    sos = np.random.default_rng(seed).uniform(-0.5, 0.5, (n_sections, 6))
    sos[:, 3] = 1.0
    return sos


@pytest.mark.parametrize("n_sections", [1, 2, 3])
def test_steady_state_is_scipys(n_sections: int) -> None:
    sos = _random_sections(n_sections, seed=n_sections)
    assert _same(dsp.sosfilt_zi(sos), signal.sosfilt_zi(sos))
    # Leading coefficients not 1 (sosfilt_zi takes them), or 0: SciPy normalises and strips.
    sos[:, 3] = [2.5, 0.0, -4.0][:n_sections]
    assert _same(dsp.sosfilt_zi(sos), signal.sosfilt_zi(sos))
    # The step response starts at its steady state: no transient.
    step, _ = dsp.sosfilt(SOS, np.ones(50), zi=dsp.sosfilt_zi(SOS))
    assert np.allclose(step, 0.0, atol=1e-12)


def test_steady_state_of_integer_and_boolean_sections() -> None:
    ints = np.array([[1, 2, 1, 1, 0, 0], [1, -1, 0, 1, 0, 0]])
    got = dsp.sosfilt_zi(ints)
    assert got.dtype == np.float64 and _same(got, signal.sosfilt_zi(ints))
    booleans = np.array([[True, True, False, True, False, False]])
    assert _same(dsp.sosfilt_zi(booleans), signal.sosfilt_zi(booleans))
    floats32 = SOS.astype(np.float32)
    assert _same(dsp.sosfilt_zi(floats32), signal.sosfilt_zi(floats32))


def test_steady_state_refuses_the_wrong_shape() -> None:
    for bad in (np.ones(6), np.ones((2, 5)), np.ones((1, 2, 6))):
        with pytest.raises(ValueError, match=r"^sos must have shape \(n_sections, 6\), got"):
            dsp.sosfilt_zi(bad)


@pytest.mark.parametrize(
    ("b", "a"),
    [
        ([0.5, 0.2, 0.1], [1.0, -0.3, 0.2]),
        ([0.5, 0.2, 0.1], [0.0, 2.0, -0.3]),  # a leading zero stripped: a shorter denominator
        ([0.5, 0.2, 0.1], [0.0, 0.0, 2.0]),  # down to one coefficient
        ([0.5, 0.2], [1.0, -0.3, 0.2]),  # a shorter numerator, padded
        ([0.5, 0.2, 0.1, 0.3], [4.0, -0.3]),
        ([3.0], [2.0, 0.5]),
    ],
)
def test_one_sections_steady_state_is_lfilter_zis(b: list[float], a: list[float]) -> None:
    got = _filtering._lfilter_zi(np.array(b), np.array(a))
    assert _same(got, signal.lfilter_zi(b, a))
    # Every type kept as SciPy keeps it: the padding, the companion matrix, the solve.
    for b_type, a_type in ((np.float32, np.float32), (np.float64, np.float32),
                           (np.float32, np.float64), (np.complex128, np.complex128)):  # fmt: skip
        b_typed, a_typed = np.array(b, b_type), np.array(a, a_type)
        got = _filtering._lfilter_zi(b_typed, a_typed)
        assert _same(got, signal.lfilter_zi(b_typed, a_typed)), (b_type, a_type)


def test_a_denominator_of_zeros_is_refused() -> None:
    # SciPy refuses it too; dividing by it would give infinities, or NaN.
    for a in ([0.0, 0.0, 0.0], [0.0]):
        with pytest.raises(ValueError, match=r"^the denominator has no nonzero coefficient$"):
            _filtering._lfilter_zi(np.array([1.0, 0.5, 0.2]), np.array(a))
    with pytest.raises(ValueError, match=r"^the denominator has no nonzero coefficient$"):
        dsp.sosfilt_zi([[1.0, 0.5, 0.2, 0.0, 0.0, 0.0]])


def test_forward_backward_pads_as_scipy_does() -> None:
    x = _noise(100)
    for padlen in (None, 0, 1, 2, 12, 99):
        assert _same(dsp.sosfiltfilt(SOS, x, padlen), signal.sosfiltfilt(SOS, x, padlen=padlen))
    # First-order sections (b2 = a2 = 0) shorten SciPy's default padding: 3 * (5 - 2) = 9.
    first_order = np.array([[0.2, 0.2, 0.0, 1.0, -0.6, 0.0], [0.3, -0.3, 0.0, 1.0, -0.4, 0.0]])
    for n in (10, 11, 16):
        y = _noise(n, seed=n)
        assert _same(dsp.sosfiltfilt(first_order, y), signal.sosfiltfilt(first_order, y))
    only_b = np.array([[0.2, 0.2, 0.0, 1.0, -0.6, 0.1], [0.3, -0.3, 0.0, 1.0, -0.4, 0.2]])
    with pytest.raises(ValueError, match=r"^x must be longer than padlen, which is 15$"):
        dsp.sosfiltfilt(only_b, _noise(15))
    assert _same(dsp.sosfiltfilt(only_b, _noise(16)), signal.sosfiltfilt(only_b, _noise(16)))
    with pytest.raises(ValueError, match=r"^x must be longer than padlen, which is 9$"):
        dsp.sosfiltfilt(first_order, _noise(9))
    with pytest.raises(ValueError, match=r"^x must be longer than padlen, which is 5$"):
        dsp.sosfiltfilt(SOS, _noise(5), padlen=5)


def test_forward_backward_keeps_float32() -> None:
    x = _noise(100).astype(np.float32)
    sos32 = SOS.astype(np.float32)
    assert _same(dsp.sosfiltfilt(sos32, x), signal.sosfiltfilt(sos32, x))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 6])
def test_odd_extension_is_scipys(n: int) -> None:
    x = _noise(7)
    assert _same(_filtering._odd_ext(x, n), _arraytools.odd_ext(x, n))


def test_odd_extension_longer_than_the_samples_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^extension length 7 exceeds len\(x\) - 1 = 6$"):
        _filtering._odd_ext(_noise(7), 7)
