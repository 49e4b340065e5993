"""stetho_signal._stats: ordinary series never reach NumPy's own median and quantile; NaN
anywhere, other dtypes and shapes still do.

The fast path exists for its speed (its own partition, no wrappers), and its fall-back to
``np.median``/``np.quantile`` keeps the bits wherever the path would not: both are pinned here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from stetho_signal._stats import median, quantile


def _refuse(*args: Any, **kwargs: Any) -> float:
    raise AssertionError("an ordinary series went to NumPy's own function")


def test_ordinary_series_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    # Short series (a sorted list) and longer ones (a partition) alike.
    sizes = (1, 2, 3, 4, 5, 8, 9, 40, 41)
    series = {size: rng.standard_normal(size) + 10.0 for size in sizes}
    expected_median = {n: float(np.median(x)) for n, x in series.items()}
    # q = 0 (index 0), a fraction under 1, and the last index before the end (4.5 of 0-5).
    expected_quantile = {
        (n, q): float(np.quantile(x, q))
        for n, x in series.items()
        if n > 1
        for q in (0.0, 0.1, 0.9)
    }
    monkeypatch.setattr(np, "median", _refuse)
    monkeypatch.setattr(np, "quantile", _refuse)
    for size, x in series.items():
        assert median(x) == expected_median[size]
    for (size, q), value in expected_quantile.items():
        assert quantile(series[size], q) == value


@pytest.mark.parametrize("size", [4, 6, 8, 12, 21, 40, 41])
def test_a_nan_anywhere_makes_the_median_and_quantile_nan(size: int) -> None:
    # Wherever the NaN sits, the partition must still put the largest (NaN) last to see it.
    rng = np.random.default_rng(size)
    for where in range(size):
        x = rng.standard_normal(size)
        x[where] = np.nan
        assert math.isnan(median(x)), where
        for q in (0.1, 0.5):
            assert math.isnan(quantile(x, q)), (where, q)


def test_quantile_of_other_dtypes_and_shapes_is_numpy_quantile() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        single = rng.standard_normal(9).astype(np.float32)
        assert quantile(single, 0.3) == float(np.quantile(single, 0.3))
        grid = rng.standard_normal((3, 4))
        assert quantile(grid, 0.3) == float(np.quantile(grid, 0.3))
