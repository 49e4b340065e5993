"""The fast median and quantile give NumPy's values to the bit (evaluations stay reproducible)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from stetho_signal._order import median, quantile

_VALUES = st.floats(-1e6, 1e6, allow_nan=False)


@given(hnp.arrays(np.float64, st.integers(1, 40), elements=_VALUES))
def test_median_is_numpys(x: np.ndarray) -> None:
    assert median(x) == float(np.median(x))


@given(hnp.arrays(np.float32, st.integers(1, 40), elements=st.floats(-1e6, 1e6, width=32)))
def test_median_keeps_the_dtype_of_float32(x: np.ndarray) -> None:
    assert median(x) == float(np.median(x))


@given(
    hnp.arrays(np.float64, st.integers(1, 40), elements=_VALUES),
    st.sampled_from([0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0]),
)
def test_quantile_is_numpys(x: np.ndarray, q: float) -> None:
    assert quantile(x, q) == float(np.quantile(x, q))


def test_inputs_are_left_unsorted() -> None:
    x = np.array([3.0, 1.0, 2.0, 0.0])
    median(x)
    quantile(x, 0.9)
    assert x.tolist() == [3.0, 1.0, 2.0, 0.0]
