"""The twenty-seventh round's wake probe on synthetic bands: drops, offsets, wakes, chance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.crackle_wake_probe import drops_db, member, offsets, since_offset_s, wake_share

FS = 8000.0


def _loud_then_quiet(loud_s: tuple[float, float] = (0.5, 1.0), gain: float = 10.0) -> np.ndarray:
    """2 s of faint noise with a stretch 20 log10(gain) dB louder."""
    x = np.random.default_rng(0).normal(0.0, 0.01, round(2.0 * FS))
    x[round(loud_s[0] * FS) : round(loud_s[1] * FS)] *= gain
    return x


def test_the_drop_peaks_where_a_loud_stretch_ends() -> None:
    drops = drops_db(_loud_then_quiet(), FS)
    assert drops.size == 201  # one value per 10 ms block edge, 0 to 2 s
    assert np.isnan(drops[:10]).all() and np.isnan(drops[-10:]).all()  # a side cut
    assert int(np.nanargmax(drops)) == 100  # the edge at 1.0 s
    assert drops[100] == pytest.approx(20.0, abs=1.0)
    assert drops[50] == pytest.approx(-20.0, abs=1.0)  # the loud stretch's start rises
    assert np.nanmax(np.abs(drops[20:40])) < 3.0  # steady noise: no step


def test_a_recording_too_short_for_both_sides_has_no_drop() -> None:
    drops = drops_db(np.ones(round(0.15 * FS)), FS)
    assert np.isnan(drops).all()
    assert offsets(drops, 10.0).size == 0


def test_one_offset_per_loud_sound_at_its_largest_drop() -> None:
    x = _loud_then_quiet()
    x[round(1.4 * FS) : round(1.6 * FS)] *= 10.0  # a second loud sound, ending at 1.6 s
    drops = drops_db(x, FS)
    assert offsets(drops, 10.0).tolist() == [100, 160]
    assert offsets(drops, 30.0).size == 0


def test_time_since_the_last_offset() -> None:
    edges = np.array([100, 160], dtype=np.intp)
    assert since_offset_s(edges, 1.04) == pytest.approx(0.04)
    assert since_offset_s(edges, 1.0) == 0.0  # at the edge
    assert since_offset_s(edges, 1.65) == pytest.approx(0.05)  # the later one
    assert since_offset_s(edges, 0.98) == math.inf  # before any loud sound ends
    assert since_offset_s(np.array([], dtype=np.intp), 1.0) == math.inf


def test_chance_is_the_share_of_edges_in_a_wake() -> None:
    drops = drops_db(_loud_then_quiet(), FS)
    edges = offsets(drops, 10.0)
    assert wake_share(drops, edges, 0.05) == pytest.approx(6 / 181)  # edges 100..105 of 181
    assert wake_share(drops, edges[:0], 0.05) == 0.0
    assert wake_share(np.full(5, np.nan), edges, 0.05) == 0.0


def test_member_names_say_the_bound() -> None:
    assert member(0.012, 15.563) == "wake 12 ms, 15.6 dB"
