"""Each step of our Butterworth band-pass design against SciPy's own, with the refusals.

The public function reaches only the pole and zero sets a band-pass makes; the steps are
SciPy's general ones, so each is also compared on the sets other designs make (odd counts,
complex zeros, real poles). Small inputs: bench/mutate.py runs these for every mutant.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal
from scipy.signal import _filter_design
from scipy.signal._polyutils import poly

from stetho_common import dsp
from stetho_common.dsp import _design


def _same(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_orders_that_are_not_positive_integers_are_refused() -> None:
    for order in (0, -1, 2.5):
        with pytest.raises(
            ValueError, match=rf"^filter order must be a positive integer, got {order}$"
        ):
            dsp.butter_bandpass_sos(order, (20.0, 400.0), 4000.0)  # type: ignore[arg-type]
    # 3.0 is a whole order, and an int's bands.
    expected = signal.butter(3, (20, 400), btype="bandpass", fs=4000, output="sos")
    assert _same(dsp.butter_bandpass_sos(3.0, (20, 400), 4000), expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "band",
    [(0.0, 400.0), (-5.0, 400.0), (400.0, 400.0), (500.0, 400.0), (20.0, 2000.0), (20.0, 2100.0)],
)
def test_band_edges_outside_zero_to_nyquist_are_refused(band: tuple[float, float]) -> None:
    message = f"band edges must satisfy 0 < low < high < fs/2, got {band} at 4000.0"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        dsp.butter_bandpass_sos(2, band, 4000)


def test_a_band_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^band edges must satisfy 0 < low < high < fs/2, got"):
        dsp.butter_bandpass_sos(2, (20.0, 100.0, 400.0), 4000.0)  # type: ignore[arg-type]


def test_single_precision_edges_are_designed_in_double_as_scipy_does() -> None:
    band = np.array([20.3, 401.7], np.float32)
    expected = signal.butter(3, band, btype="bandpass", fs=4000.0, output="sos")
    assert _same(dsp.butter_bandpass_sos(3, band, 4000.0), expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_edges_next_to_zero_and_nyquist_are_scipys(order: int) -> None:
    for band in ((0.001, 1999.999), (1e-6, 0.002), (1999.0, 1999.999), (0.5, 1999.5)):
        expected = signal.butter(order, band, btype="bandpass", fs=4000.0, output="sos")
        assert _same(dsp.butter_bandpass_sos(order, band, 4000.0), expected), band


def _lowpass_zpk(order: int) -> tuple[NDArray[Any], NDArray[Any], float]:
    z, p, k = signal.buttap(order)
    return z.astype(np.complex128), p.astype(np.complex128), float(k)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_low_pass_to_band_pass_is_scipys(order: int) -> None:
    z, p, k = _lowpass_zpk(order)
    for zeros in (z, np.array([0.5j, -0.5j, 2.0])[:order], np.array([3.0 + 0j])):
        got = _design._lowpass_to_bandpass(zeros, p, k, 1.3, 0.7)
        expected = signal.lp2bp_zpk(zeros, p, k, wo=1.3, bw=0.7)
        for a, b in zip(got, expected, strict=True):
            assert _same(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("order", [1, 2, 3])
def test_bilinear_transform_is_scipys(order: int) -> None:
    z, p, k = _lowpass_zpk(order)
    for zeros in (z, np.array([0.5j, -0.5j])[:order], np.array([3.0 + 0j])):
        got = _design._bilinear(zeros, p * 3.0, k * 2.0, 2.0)
        expected = signal.bilinear_zpk(zeros, p * 3.0, k * 2.0, fs=2.0)
        for a, b in zip(got, expected, strict=True):
            assert _same(np.asarray(a), np.asarray(b))


def _zpks() -> list[tuple[NDArray[Any], NDArray[Any], float]]:
    """Digital filters of every shape zpk2sos pairs: real and complex poles and zeros."""
    out = []
    for order in (1, 2, 3, 4, 5):
        for btype, wn in (("low", 0.3), ("high", 0.6), ("bandpass", (0.2, 0.5))):
            out.append(signal.butter(order, wn, btype=btype, output="zpk"))
            out.append(signal.cheby1(order, 1.0, wn, btype=btype, output="zpk"))
            out.append(signal.ellip(order, 1.0, 40.0, wn, btype=btype, output="zpk"))
            out.append(signal.bessel(order, wn, btype=btype, output="zpk"))
        out.append(signal.butter(order, (0.2, 0.5), btype="bandstop", output="zpk"))
    out += [
        (np.array([]), np.array([0.5, 0.2, -0.3]), 2.0),  # real poles, no zeros
        (np.array([0.1, 0.3, 0.9]), np.array([0.5]), 0.5),  # more zeros than poles
        (np.array([0.1]), np.array([0.5, 0.2, -0.3, 0.7]), 1.5),
        (np.array([1.0, -1.0]), np.array([0.9j, -0.9j, 0.5]), 1.0),
        (np.array([0.5j, -0.5j, 0.2]), np.array([0.9j, -0.9j, 0.5]), 1.0),
        (np.array([0.5j, -0.5j, 0.2, 0.1]), np.array([0.9j, -0.9j, 0.5, 0.3]), 1.0),
        (
            np.array([0.5j, -0.5j, 0.2]),
            np.array([0.8 + 0.1j, 0.8 - 0.1j, 0.3 + 0.5j, 0.3 - 0.5j]),
            1.0,
        ),
    ]
    return out


def test_sections_from_zeros_and_poles_are_zpk2sos_nearest() -> None:
    for i, (z, p, k) in enumerate(_zpks()):
        got = _design._zpk2sos(np.asarray(z), np.asarray(p), k)
        assert _same(got, signal.zpk2sos(z, p, k, pairing="nearest")), i


def _conjugate_set(rng: np.random.Generator, n_pairs: int, n_real: int) -> NDArray[Any]:
    pairs = rng.uniform(-1.2, 1.2, n_pairs) + 1j * rng.uniform(0.05, 1.0, n_pairs)
    reals = rng.uniform(-1.2, 1.2, n_real) + 0j
    values = np.concatenate((pairs, pairs.conj(), reals))
    return values[rng.permutation(values.size)]


def test_random_zeros_and_poles_pair_as_scipy_pairs_them() -> None:
    # Every mix of real and complex, odd and even counts, poles inside and outside the unit
    # circle: SciPy's special cases, left out here, would show as a difference.
    rng = np.random.default_rng(7)
    for i in range(400):
        z = _conjugate_set(rng, int(rng.integers(0, 3)), int(rng.integers(0, 4)))
        p = _conjugate_set(rng, int(rng.integers(0, 3)), int(rng.integers(0, 4)))
        if z.size == p.size == 0:
            continue
        k = float(rng.uniform(0.1, 3.0))
        got = _design._zpk2sos(z, p, k)
        assert _same(got, signal.zpk2sos(z, p, k, pairing="nearest")), (i, z, p)


def test_the_worst_pole_is_the_nearest_the_unit_circle_outside_too() -> None:
    assert _design._worst(np.array([0.2, 1.5, 0.7 + 0.5j, -0.3])) == 2  # |1 - 0.86| < 0.5
    assert _design._worst(np.array([0.2, 1.05, 0.7 + 0.5j])) == 1


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.5, 0.2, -0.3],
        [1 + 1j, 1 - 1j, 0.5],
        [1 + 2j, 1 - 2j, 1 + 1j, 1 - 1j, 0.3, -2.0],
        [0.2 + 1j, 0.2 - 1j, 0.2 + 3j, 0.2 - 3j, 0.1 + 2j, 0.1 - 2j],  # equal real parts
        [1 + 1e-15j, 1 - 1e-15j, 2.0],  # within rounding of real: real
    ],
)
def test_conjugate_pairs_are_cplxreals(values: list[complex]) -> None:
    z = np.asarray(values, dtype=np.complex128)
    pairs, reals = _design._cplxreal(z)
    expected_pairs, expected_reals = _filter_design._cplxreal(z)
    assert _same(np.asarray(pairs), np.asarray(expected_pairs))
    assert _same(np.asarray(reals), np.asarray(expected_reals))


# Real parts 500 * 2**-52 apart, 100 eps of |3 + 4j| = 5: equal, by SciPy's tolerance
# (`<=`), so sorted by imaginary part; 502 apart they are not. A value before them with a
# smaller modulus, and one after with a smaller imaginary part, catch a wrong reach.
_NEAR = 3.0 + 500 * 2.0**-52
_APART = 3.0 + 502 * 2.0**-52


@pytest.mark.parametrize("second", [_NEAR, _APART])
def test_real_parts_within_the_tolerance_sort_as_scipy_sorts_them(second: float) -> None:
    pairs = np.array([-1 + 0.5j, 3 + 4j, second + 1j, 10 + 0.1j])
    z = np.concatenate((pairs, pairs.conj()))
    got, expected = _design._cplxreal(z), _filter_design._cplxreal(z)
    for a, b in zip(got, expected, strict=True):
        assert _same(np.asarray(a), np.asarray(b))
    in_order = np.asarray(got[0])
    assert in_order[1].imag == (1.0 if second == _NEAR else 4.0)


def test_conjugates_apart_by_exactly_the_tolerance_are_a_pair() -> None:
    # |zp - conj(zn)| = 500 * 2**-52 = 100 eps * |zn| exactly: SciPy accepts it (`>` refuses).
    z = np.array([_NEAR + 4j, 3 - 4j])
    pairs, reals = _design._cplxreal(z)
    expected_pairs, _ = _filter_design._cplxreal(z)
    assert _same(np.asarray(pairs), np.asarray(expected_pairs)) and reals.size == 0
    with pytest.raises(ValueError, match=r"^a complex value has no matching conjugate$"):
        _design._cplxreal(np.array([3.0 + 502 * 2.0**-52 + 4j, 3 - 4j]))


@pytest.mark.parametrize(
    "values",
    [[1 + 1j], [1 + 1j, 1 + 1j, 1 - 1j], [1 + 1j, 1 - 1.1j], [1 + 1j, 2 - 1j]],
)
def test_a_complex_value_without_its_conjugate_is_refused(values: list[complex]) -> None:
    with pytest.raises(ValueError, match=r"^a complex value has no matching conjugate$"):
        _design._cplxreal(np.asarray(values, dtype=np.complex128))


def test_nearest_zero_of_each_kind_is_scipys() -> None:
    fro = np.array([0.9 + 0.1j, 0.9 - 0.1j, 0.5, -1.0, 2.0j, -2.0j])
    for to in (1.0, 0.6, -0.8, 1.5j, 0.0):
        for which in ("any", "real", "complex"):
            got = _design._nearest(fro, to, which)
            assert got == _filter_design._nearest_real_complex_idx(fro, to, which), (to, which)


@pytest.mark.parametrize(
    ("z", "p"),
    [
        ([], []),
        ([], [0.5, 0.2]),
        ([0.3], [0.5 + 0.5j, 0.5 - 0.5j]),
        ([0.3 + 0.2j, 0.3 - 0.2j], [0.5 + 0.5j, 0.5 - 0.5j]),
        ([1.0, -1.0], [0.5, 0.0]),
    ],
)
def test_one_section_is_single_zpksos(z: list[complex], p: list[complex]) -> None:
    z_array = np.asarray(z, dtype=np.complex128) if z else np.asarray(z)
    expected = _filter_design._single_zpksos(z_array, p, 1)
    assert _same(_design._section(z, p), expected)


def test_polynomials_are_scipys() -> None:
    for roots in ([], [0.5], [0.5, -0.2], [1 + 1j, 1 - 1j], [1 + 1j, 2 - 1j]):
        b, _ = signal.zpk2tf(roots, [], 1)
        assert _same(np.atleast_1d(_design._poly(roots)), np.atleast_1d(b)), roots
    # In the roots' own type, as scipy.signal._polyutils.poly (zpk2tf's) keeps it.
    for typed in (np.zeros(0, np.float32), np.array([0.5, -0.2], np.float32)):
        assert _same(np.asarray(_design._poly(typed)), np.asarray(poly(typed, xp=np)))
