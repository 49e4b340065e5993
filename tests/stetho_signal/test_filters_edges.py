"""The band-pass filters' rules exactly: each refusal word for word, the cap, the padding, the
state carried between blocks, against scipy.signal's own functions bit for bit.

Short inputs, so a mutant's run stays well under a second (bench/mutate.py runs these).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_signal import FilterDesignError, StreamingBandpass, bandpass, design_bandpass, filters

FS = 4000.0


def _same(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _noise(n: int = 300, seed: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).standard_normal(n)


def _butter(order: int, band: tuple[float, float], fs: float = FS) -> NDArray[np.float64]:
    sos: NDArray[np.float64] = signal.butter(order, band, btype="bandpass", fs=fs, output="sos")
    return sos


@pytest.mark.parametrize("fs", [0.0, -4000.0, float("nan"), float("inf"), -float("inf")])
def test_a_rate_that_is_not_a_positive_number_is_refused(fs: float) -> None:
    message = f"^sample rate must be a positive number of Hz, got {fs!r}$"
    with pytest.raises(FilterDesignError, match=message):
        filters.checked_band(fs, (25.0, 400.0), 4)


@pytest.mark.parametrize("order", [0, -1, 13])
def test_orders_outside_1_to_12_are_refused(order: int) -> None:
    with pytest.raises(FilterDesignError, match=rf"^filter order must be 1\.\.12, got {order}$"):
        filters.checked_band(FS, (25.0, 400.0), order)


@pytest.mark.parametrize("order", [1, 12])
def test_orders_1_and_12_are_designed_as_scipy_does(order: int) -> None:
    assert _same(design_bandpass(FS, (25.0, 400.0), order), _butter(order, (25.0, 400.0)))


def test_the_upper_edge_is_capped_at_95_percent_of_nyquist() -> None:
    assert filters.checked_band(FS, (100.0, 2000.0), 4) == (100.0, 1900.0)
    assert filters.checked_band(FS, (100.0, 1900.0), 4) == (100.0, 1900.0)
    assert filters.checked_band(FS, (100.0, 1899.5), 4) == (100.0, 1899.5)
    assert filters.checked_band(8000.0, (100, 2000), 4) == (100.0, 2000.0)
    low, high = filters.checked_band(FS, (100, 400), 4)  # integers: floats out
    assert type(low) is float and type(high) is float
    assert _same(design_bandpass(FS, (100.0, 2000.0)), _butter(4, (100.0, 1900.0)))


@pytest.mark.parametrize(
    ("band", "capped"),
    [
        ((0.0, 400.0), "400.0"),
        ((-5.0, 400.0), "400.0"),
        ((400.0, 400.0), "400.0"),
        ((500.0, 300.0), "300.0"),
        ((1900.0, 3000.0), "1900.0"),  # above the cap: empty once capped
        ((float("nan"), 400.0), "400.0"),
        ((float("inf"), 400.0), "400.0"),
    ],
)
def test_an_empty_band_is_refused_with_its_capped_edge(
    band: tuple[float, float], capped: str
) -> None:
    message = f"band {band} Hz is empty at {FS} Hz sampling (upper edge capped at {capped})"
    with pytest.raises(FilterDesignError, match=f"^{re.escape(message)}$"):
        design_bandpass(FS, band)


def test_the_capped_edge_is_told_to_a_tenth_of_a_hz() -> None:
    # 95 % of 1999.5 Hz is 1899.525 Hz.
    message = (
        "band (1950.0, 2500.0) Hz is empty at 3999.0 Hz sampling (upper edge capped at 1899.5)"
    )
    with pytest.raises(FilterDesignError, match=f"^{re.escape(message)}$"):
        design_bandpass(3999.0, (1950.0, 2500.0))


def test_the_design_is_scipys_and_the_callers_own() -> None:
    first = design_bandpass(FS, (25.0, 400.0))
    assert _same(first, _butter(4, (25.0, 400.0))) and first.flags.writeable
    first[:] = 0.0  # the caller's copy: the cache keeps its own
    assert _same(design_bandpass(FS, (25.0, 400.0)), _butter(4, (25.0, 400.0)))
    cached = filters._butter_sos(FS, 25.0, 400.0, 4)
    assert not cached.flags.writeable


@pytest.mark.parametrize("n", [0, 1, 2, 27, 28, 29, 300])
def test_zero_phase_filtering_pads_as_far_as_the_length_allows(n: int) -> None:
    x = _noise(n, seed=n)
    got = bandpass(x, FS, (25.0, 400.0))
    assert got.dtype == np.float32 and got.shape == (n,)
    if n:
        # SciPy's default padding is 3 * (2 * 4 + 1) = 27 samples; shorter inputs take n - 1.
        sos = _butter(4, (25.0, 400.0))
        expected = signal.sosfiltfilt(sos, x, padlen=min(27, n - 1)).astype(np.float32)
        assert _same(got, expected)


def test_zero_phase_filtering_takes_any_shape_and_type_and_order() -> None:
    x = _noise(100)
    flat = bandpass(x, FS, (25.0, 400.0))
    assert _same(bandpass(x.reshape(10, 10), FS, (25.0, 400.0)), flat)
    assert _same(bandpass(list(x), FS, (25.0, 400.0)), flat)  # type: ignore[arg-type]
    ints = (x * 1000).astype(np.int16)
    expected = signal.sosfiltfilt(_butter(4, (25.0, 400.0)), ints.astype(np.float64), padlen=27)
    assert _same(bandpass(ints, FS, (25.0, 400.0)), expected.astype(np.float32))
    sos2 = _butter(2, (25.0, 400.0))
    expected = signal.sosfiltfilt(sos2, x, padlen=15).astype(np.float32)
    assert _same(bandpass(x, FS, (25.0, 400.0), order=2), expected)
    with pytest.raises(FilterDesignError, match="filter order"):
        bandpass(x, FS, (25.0, 400.0), order=0)


def test_a_stream_in_blocks_is_sosfilt_over_the_whole() -> None:
    x = _noise(1000)
    stream = StreamingBandpass(FS, (25.0, 400.0))
    assert stream.fs_hz == 4000.0 and type(stream.fs_hz) is float
    parts = [stream.process(x[i : i + 130]) for i in range(0, x.size, 130)]
    expected = signal.sosfilt(_butter(4, (25.0, 400.0)), x).astype(np.float32)
    assert _same(np.concatenate(parts), expected)
    assert type(StreamingBandpass(4000, (25.0, 400.0)).fs_hz) is float


def test_an_empty_block_keeps_the_state_and_a_reset_forgets_it() -> None:
    x = _noise(200)
    stream = StreamingBandpass(FS, (25.0, 400.0), order=2)
    first = stream.process(x[:100])
    empty = stream.process(np.zeros(0))
    assert empty.dtype == np.float32 and empty.shape == (0,)
    second = stream.process(x[100:].reshape(10, 10))  # any shape, flattened
    expected = signal.sosfilt(_butter(2, (25.0, 400.0)), x).astype(np.float32)
    assert _same(np.concatenate((first, second)), expected)
    stream.reset()
    assert _same(stream.process(x[:100]), first)
    ints = StreamingBandpass(FS, (25.0, 400.0)).process(np.arange(50, dtype=np.int16))
    assert _same(
        ints, signal.sosfilt(_butter(4, (25.0, 400.0)), np.arange(50.0)).astype(np.float32)
    )


def test_single_precision_samples_are_filtered_in_double() -> None:
    # The analysis hands float32 samples: the odd extension at the ends is made in float64
    # too (in float32 its roundings would show in the output's last bits).
    x = _noise(300).astype(np.float32)
    sos = _butter(4, (25.0, 400.0))
    expected = signal.sosfiltfilt(sos, x.astype(np.float64), padlen=27).astype(np.float32)
    assert _same(bandpass(x, FS, (25.0, 400.0)), expected)


def test_rates_and_edges_from_1_hz_are_designed() -> None:
    assert _same(design_bandpass(1.0, (0.05, 0.4)), _butter(4, (0.05, 0.4), fs=1.0))
    assert _same(design_bandpass(FS, (1.0, 400.0)), _butter(4, (1.0, 400.0)))
    assert _same(design_bandpass(FS, (0.5, 400.0)), _butter(4, (0.5, 400.0)))


def test_one_sample_blocks_and_a_reset_before_any_block() -> None:
    x = _noise(40)
    stream = StreamingBandpass(FS, (25.0, 400.0))
    stream.reset()
    parts = [stream.process(x[i : i + 1]) for i in range(x.size)]
    assert all(part.shape == (1,) for part in parts)
    expected = signal.sosfilt(_butter(4, (25.0, 400.0)), x).astype(np.float32)
    assert _same(np.concatenate(parts), expected)
