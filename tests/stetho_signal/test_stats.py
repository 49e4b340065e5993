"""stetho_signal._stats gives the bits of np.median and np.quantile, edge cases included."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stetho_signal._stats import _SHORT, median, quantile


def _bits(value: float) -> bytes:
    return np.float64(value).tobytes()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 8, 9, 31, 32, 33, 34, 50, 51, 999, 1000])
def test_median_has_the_bits_of_numpy_median(size: int) -> None:
    rng = np.random.default_rng(size)
    for trial in range(40):
        x = rng.standard_normal(size) * 10 ** rng.uniform(-6, 6)
        if trial % 2:
            x = np.round(x, 1)  # ties and repeated middle values
        assert _bits(median(x)) == _bits(float(np.median(x)))


@pytest.mark.parametrize(
    "values",
    [
        [0.0, -0.0],
        [-0.0, -0.0],
        [-0.0],
        [1.0, np.nan, 2.0],
        [np.inf, 1.0],
        [np.inf, -np.inf],
        [1e308, 1e308],
        [1e308, 1e308, 1.0],  # a sum past the largest float, but no NaN: the median is there
        [np.inf, 1.0, 2.0],
        [np.inf, -np.inf, 1.0],
        [np.nan, np.inf, 1.0],
        [-0.0, 0.0, 1.0],
        [-1.0, -0.0, 0.0, 1.0],
    ],
)
def test_edge_cases_are_numpy_median_itself(values: list[float]) -> None:
    x = np.array(values)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = float(np.median(x))
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        found = median(x)
    assert repr(found) == repr(expected)
    assert [w.category for w in ours] == [w.category for w in theirs]


@pytest.mark.parametrize(
    "values",
    [
        [1e308, 1e308],
        [np.inf, 1.0],
        [np.inf, -np.inf],
        [0.0, -0.0],
        [1.0, np.nan],
    ],
)
def test_edge_cases_of_long_series_are_numpy_median_itself(values: list[float]) -> None:
    # Past the short series' bound, the partition's own checks: the edge values amid ordinary
    # ones, at the middle and at the ends.
    rng = np.random.default_rng(3)
    for size, where in ((40, 19), (41, 20), (41, 0), (40, 38)):
        x = np.round(rng.standard_normal(size), 1)
        x[where : where + len(values)] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = float(np.median(x))
            assert repr(median(x)) == repr(expected), (values, size, where)


def test_other_dtypes_and_shapes_go_to_numpy() -> None:
    assert median(np.array([3, 1, 2, 4], dtype=np.int64)) == 2.5
    assert median(np.array([3.0, 1.0, 2.0], dtype=np.float32)) == 2.0
    assert median(np.array([[1.0, 5.0], [2.0, 3.0]])) == 2.5


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 41, 1000, 1001])
def test_quantile_has_the_bits_of_numpy_quantile(size: int) -> None:
    rng = np.random.default_rng(size)
    for trial in range(30):
        x = rng.standard_normal(size) * 10 ** rng.uniform(-6, 6)
        if trial % 2:
            x = np.round(x, 1)  # ties, and zeros of both signs
        for q in (0.0, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0):
            assert _bits(quantile(x, q)) == _bits(float(np.quantile(x, q)))


@pytest.mark.parametrize(
    "values", [[1.0, np.nan, 2.0], [np.inf, 1.0, 2.0], [-np.inf, np.inf, 0.0], [0.0, -0.0, 0.0]]
)
def test_quantile_edge_cases_are_numpy_quantile_itself(values: list[float]) -> None:
    x = np.array(values)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = float(np.quantile(x, 0.9))
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        found = quantile(x, 0.9)
    assert repr(found) == repr(expected)
    assert [w.category for w in ours] == [w.category for w in theirs]


@pytest.mark.parametrize("size", [_SHORT - 1, _SHORT, _SHORT + 1])
def test_median_has_the_bits_of_numpy_median_at_the_short_series_bound(size: int) -> None:
    # Each side of the bound: a sorted list up to it, the partition past it.
    rng = np.random.default_rng(size)
    for trial in range(200):
        x = np.round(rng.standard_normal(size), trial % 3)  # ties, repeated middles, zeros
        if trial % 5 == 0:
            x[rng.integers(size)] = -0.0
        assert _bits(median(x)) == _bits(float(np.median(x)))
