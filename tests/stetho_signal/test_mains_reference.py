"""`hum_lines` and `without_hum` against plain, loop-by-loop restatements of their docstrings.

The shipped code is vectorised (cumulative sums, shared index arrays); these references say the
same thing one harmonic, one block and one window at a time, so an off-by-one in a window, a
neighbour range or a search width shows as a different answer (`make mutate`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _mains
from stetho_signal._mains import hum_lines, without_hum

FS = 4000.0


def _reference_lines(
    bins: NDArray[np.complex128], fs: float, n: int, fundamentals: tuple[float, ...]
) -> tuple[float, ...]:
    per_hz = n / fs
    power = np.abs(bins) ** 2
    near, far = (max(1, round(h * per_hz)) for h in _mains.NEIGHBOURS_HZ)
    found = []
    for f in fundamentals:
        k = 1
        while k * f <= _mains.HIGHEST_HZ:
            centre = round(k * f * per_hz)
            half = max(1, round(max(_mains.MIN_SEARCH_HZ, _mains.DRIFT * k * f) * per_hz))
            line = max(power[centre + d] for d in range(-half, half + 1))
            below = [power[centre - d] for d in range(near, far + 1)]
            above = [power[centre + d] for d in range(near, far + 1)]
            level = max(float(np.median(below)), float(np.median(above)))
            if line > _mains.LINE_OVER_MEDIAN * level:
                found.append(k * f)
            k += 1
    kept: list[float] = []
    for hz in sorted(found):
        if not kept or hz - kept[-1] >= 1.0:
            kept.append(hz)
    return tuple(kept)


def _planted(
    seconds: float, fundamentals: tuple[float, ...], seed: int
) -> tuple[NDArray[np.complex128], int]:
    """A noise spectrum with a line near every harmonic, 8-40 times the local level, each
    drifted within the search width and some at its very edge."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    bins = (rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)) / np.sqrt(2)
    per_hz = n / FS
    for f in fundamentals:
        for k in range(1, int(1100 // f) + 1):  # past HIGHEST_HZ too: those must stay out
            half = max(1, round(max(_mains.MIN_SEARCH_HZ, _mains.DRIFT * k * f) * per_hz))
            offset = int(rng.choice([-half, half, int(rng.integers(-half, half + 1))]))
            bins[round(k * f * per_hz) + offset] = np.sqrt(rng.uniform(8.0, 40.0))
    return bins, n


@pytest.mark.parametrize("seconds", [1.2, 1.5, 10.0, 20.0])
@pytest.mark.parametrize("fundamentals", [(50.0,), (60.0,), (50.0, 60.3)])
def test_the_lines_chosen_are_the_docstrings(
    seconds: float, fundamentals: tuple[float, ...]
) -> None:
    for seed in range(6):
        bins, n = _planted(seconds, fundamentals, seed)
        assert hum_lines(bins, FS, n, fundamentals) == _reference_lines(bins, FS, n, fundamentals)


def test_lines_up_to_the_highest_harmonic_and_none_past_it() -> None:
    n = round(10 * FS)
    bins = np.full(n // 2 + 1, 1.0 + 0j)
    for hz in (950.0, 1000.0, 1050.0):
        bins[round(hz * n / FS)] = 100.0
    assert hum_lines(bins, FS, n, (50.0,)) == (950.0, 1000.0)


def _reference_without(
    x: NDArray[np.float64], fs: float, lines: tuple[float, ...]
) -> NDArray[np.float64]:
    n = x.size
    size = min(max(1, round(_mains.BLOCK_S * fs)), n)
    count = math.ceil(n / size)
    starts = [min(b * size, n - size) for b in range(count)]
    centres = [s + (size - 1) / 2 for s in starts]
    span = max(1, round(_mains.FOLLOW_S / _mains.BLOCK_S))
    windows = [(max(b - span // 2, 0), min(b - span // 2 + span, count)) for b in range(count)]
    t = np.arange(n)
    out = x.copy()
    for hz in lines:
        turn = np.exp(-2j * np.pi * hz / fs * t)
        blocks = np.array([np.mean(x[s : s + size] * turn[s : s + size]) for s in starts])
        weights = np.ones(count)
        estimate = np.array([np.mean(blocks[lo:hi]) for lo, hi in windows])
        for _ in range(_mains.ROUNDS):
            departure = np.abs(blocks - estimate) ** 2
            scale = max(float(np.median(departure)), np.finfo(np.float64).tiny)
            weights = 1.0 / (1.0 + departure / scale)
            estimate = np.array([
                np.sum(weights[lo:hi] * blocks[lo:hi]) / np.sum(weights[lo:hi])
                for lo, hi in windows
            ])  # fmt: skip
        phasor = np.interp(t, centres, estimate.real) + 1j * np.interp(t, centres, estimate.imag)
        out -= 2.0 * np.real(phasor * np.conj(turn))
    return out


@pytest.mark.parametrize("samples", [40_000, 40_123, 9_007])
def test_the_hum_taken_out_is_the_docstrings(samples: int) -> None:
    """Lengths that are and are not whole blocks; hum with clicks that the estimate must
    weigh down."""
    rng = np.random.default_rng(samples)
    t = np.arange(samples) / FS
    x = 0.05 * rng.standard_normal(samples) + 0.2 * np.sin(2 * np.pi * 50.02 * t + 0.3)
    x += 0.05 * np.sin(2 * np.pi * 150.06 * t)
    for at in rng.integers(0, samples - 200, 6):
        x[at : at + 200] += rng.uniform(0.5, 2.0) * np.hanning(200)
    lines = (50.02, 150.06)
    np.testing.assert_allclose(without_hum(x, FS, lines), _reference_without(x, FS, lines),
                               rtol=0, atol=1e-9)  # fmt: skip


def test_a_line_must_stand_strictly_over_twenty_times_its_neighbours() -> None:
    n = 41_000  # 10.25 s: 32 neighbours a side, so their median is the mean of two
    bins = np.full(n // 2 + 1, 1.0 + 0j)
    centre = round(100.0 * n / FS)
    for side in (-1, 1):  # half the neighbours at power 9, half at 1: median exactly 5
        bins[centre + side * np.arange(10, 26)] = 3.0
    bins[centre] = 10.0  # power exactly 20 x 5: not over
    assert hum_lines(bins, FS, n, (50.0,)) == ()
    bins[centre] = 10.01
    assert hum_lines(bins, FS, n, (50.0,)) == (100.0,)


def test_a_short_recording_searches_one_bin_either_side_only() -> None:
    """1.5 s: bins 0.67 Hz apart, the drift allowed at 50 Hz 0.2 Hz: a peak two bins off the
    harmonic (1.3 Hz) is a sound of the recording, not the hum."""
    n = round(1.5 * FS)
    bins = np.full(n // 2 + 1, 1.0 + 0j)
    bins[round(50.0 * n / FS) + 2] = 100.0
    assert hum_lines(bins, FS, n, (50.0,)) == ()
    bins[round(50.0 * n / FS) + 1] = 100.0
    assert hum_lines(bins, FS, n, (50.0,)) == (50.0,)


def test_lines_one_hertz_apart_are_both_kept() -> None:
    """1/FOLLOW_S apart, the notches just part: both lines go (4 x 50.25 = 201 Hz exactly)."""
    n = round(20 * FS)
    bins = np.full(n // 2 + 1, 1.0 + 0j)
    for hz in (200.0, 201.0):
        bins[round(hz * n / FS)] = 100.0
    assert hum_lines(bins, FS, n, (50.0, 50.25)) == (200.0, 201.0)
