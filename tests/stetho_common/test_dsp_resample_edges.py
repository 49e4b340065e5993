"""Each step of our resample_poly against SciPy's own (firwin, kaiser, upfirdn), with refusals.

Short inputs, so a mutant's run stays well under a second (bench/mutate.py runs these).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_common import dsp
from stetho_common.dsp import _resample


def _same(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _noise(n: int = 300, seed: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(n)


def test_samples_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match=r"^x must be one-dimensional, got shape \(2, 3\)$"):
        dsp.resample_poly(np.zeros((2, 3)), 1, 2)


@pytest.mark.parametrize(("up", "down"), [(0, 2), (1, 0), (-1, 2), (2.5, 1), (1, 1.5)])
def test_ratios_that_are_not_whole_numbers_from_one_are_refused(up: Any, down: Any) -> None:
    message = f"^up and down must be integers >= 1, got {up} and {down}$"
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        dsp.resample_poly(_noise(), up, down)


def test_whole_floats_and_common_factors_are_scipys() -> None:
    x = _noise()
    for up, down in ((2, 4), (6, 4), (2.0, 1.0), (3, 9), (10, 4)):
        got = dsp.resample_poly(x, up, down)  # type: ignore[arg-type]
        assert _same(got, signal.resample_poly(x, int(up), int(down))), (up, down)


@pytest.mark.parametrize("data", [_noise(10), _noise(10).astype(np.float32), np.arange(5)])
def test_the_same_rate_is_a_copy(data: NDArray[Any]) -> None:
    for up, down in ((1, 1), (3, 3)):
        got = dsp.resample_poly(data, up, down)
        assert _same(got, signal.resample_poly(data, up, down))
        assert got is not data and not np.shares_memory(got, data)


@pytest.mark.parametrize(("up", "down"), [(1, 2), (1, 3), (2, 1), (3, 2), (2, 3), (5, 7)])
def test_every_length_is_scipys(up: int, down: int) -> None:
    for n in range(1, 26):
        data = _noise(n, seed=n)
        assert _same(dsp.resample_poly(data, up, down), signal.resample_poly(data, up, down)), n


@pytest.mark.parametrize(("up", "down"), [(1, 2), (3, 2)])
def test_complex_and_integer_samples_are_scipys(up: int, down: int) -> None:
    x = _noise(100)
    for data in (
        x + 1j * _noise(100, seed=2),
        (x + 1j * x).astype(np.complex64),
        (x * 100).astype(np.int32),
        (x > 0),
        x.astype(np.float16),  # filtered in float32 at least, as SciPy does
    ):
        assert _same(dsp.resample_poly(data, up, down), signal.resample_poly(data, up, down))


@pytest.mark.parametrize(("numtaps", "cutoff"), [(41, 0.5), (61, 1 / 3), (21, 0.25), (10, 0.5)])
def test_the_low_pass_is_firwins_and_read_only(numtaps: int, cutoff: float) -> None:
    h = _resample._lowpass(numtaps, cutoff)
    assert _same(h, signal.firwin(numtaps, cutoff, window=("kaiser", 5.0)))
    with pytest.raises(ValueError, match="read-only"):
        h[0] = 1.0


def test_the_zeroed_low_pass_has_zeros_only_where_the_sinc_does() -> None:
    h = _resample._lowpass(61, 1 / 3)
    zeroed = _resample._lowpass_zeroed(61, 3)
    offsets = np.arange(61) - 30
    at_zeros = (offsets % 3 == 0) & (offsets != 0)
    assert np.all(zeroed[at_zeros] == 0.0) and np.count_nonzero(at_zeros) == 20
    assert np.array_equal(zeroed[~at_zeros], h[~at_zeros]) and zeroed[30] == h[30]
    assert np.all(np.abs(h[at_zeros]) < 1e-16 * h[30])  # what is dropped: rounding only
    with pytest.raises(ValueError, match="read-only"):
        zeroed[0] = 1.0
    assert h.flags.writeable is False  # the cached design left as it was
    assert np.all(h[at_zeros] != 0.0)


@pytest.mark.parametrize("length", [2, 3, 10, 41, 81])  # ours are 21 taps or more
def test_the_kaiser_window_is_scipys(length: int) -> None:
    for beta in (5.0, 0.0, 8.6):
        assert _same(_resample._kaiser(length, beta), signal.windows.kaiser(length, beta))


@pytest.mark.parametrize(("up", "down"), [(2, 1), (3, 2), (4, 3), (2, 5)])
def test_the_polyphase_filter_is_upfirdns(up: int, down: int) -> None:
    x = _noise(50)
    for taps in (1, 5, 7, 8, 12):
        h = _noise(taps, seed=taps)
        assert _same(_resample._upfirdn(h, x, up, down), signal.upfirdn(h, x, up, down))
    h32, x32 = _noise(7).astype(np.float32), x.astype(np.float32)
    assert _same(_resample._upfirdn(h32, x32, up, down), signal.upfirdn(h32, x32, up, down))


@pytest.mark.parametrize(("up", "down"), [(1, 2), (2, 1), (3, 2)])
def test_mixed_types_are_filtered_in_the_wider_as_upfirdn_does(up: int, down: int) -> None:
    h, x = _noise(9), _noise(40)
    h32, x32 = h.astype(np.float32), x.astype(np.float32)
    for taps, data in ((h32, x), (h, x32), (h32, (x * 100).astype(np.int16))):
        expected = signal.upfirdn(taps, data, up, down)
        if up == 1:
            got = _resample._decimated(taps, data, down, 0, expected.size)
        else:
            got = _resample._upfirdn(taps, data, up, down)
        assert _same(got, expected), (taps.dtype, data.dtype)


def test_a_tap_of_exactly_one_is_applied() -> None:
    h, x = np.array([0.25, 1.0, 0.0, 0.5]), _noise(20)
    assert _same(_resample._decimated(h, x, 2, 0, 12), signal.upfirdn(h, x, 1, 2))


@pytest.mark.parametrize("down", [2, 3, 5])
def test_decimation_is_upfirdns_outputs(down: int) -> None:
    x = _noise(40)
    for taps in (1, 4, 9, 21):
        h = _noise(taps, seed=taps)
        full = signal.upfirdn(h, x, 1, down)
        for first, count in ((0, full.size), (2, 5), (3, full.size - 3), (0, full.size + 4)):
            got = _resample._decimated(h, x, down, first, count)
            expected = np.concatenate((full, np.zeros(4)))[first : first + count]
            assert _same(got, expected), (taps, first, count)
    ints = (x * 100).astype(np.int16)
    assert _same(_resample._decimated(h, ints, down, 0, 8), signal.upfirdn(h, ints, 1, down)[:8])


def test_sinc_zeros_are_skipped_only_when_asked() -> None:
    x = _noise(200)
    plain, skipped = dsp.resample_poly(x, 1, 2), dsp.resample_poly(x, 1, 2, sinc_zeros=True)
    assert _same(plain, signal.resample_poly(x, 1, 2)) and not np.array_equal(plain, skipped)
    assert np.max(np.abs(plain - skipped)) <= 1e-15 * np.max(np.abs(x))
    for up, down in ((3, 1), (2, 3)):
        got = dsp.resample_poly(x, up, down, sinc_zeros=True)
        assert np.max(np.abs(got - signal.resample_poly(x, up, down))) <= 1e-15 * np.max(abs(x))
