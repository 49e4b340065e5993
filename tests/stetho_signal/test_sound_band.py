"""The high-band share at its edges: what each sound adds, as the Notes of `high_band_share` say.

Short synthetic recordings with known answers: tones of a known pitch where the labels are, and
the sum the Notes describe (the mean power over 100 ms centred on each sound, less the median of
the consecutive 100 ms blocks) computed the slow way, in double precision, as the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal._sound_band import (
    HIGH_BAND_HZ,
    _added_power,
    high_band_share,
    spectral_centroids_hz,
)
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import ANALYTIC_RATE_HZ, SOUND_BAND_HZ

FS_HZ = 4000
BANDS = [(SOUND_BAND_HZ, ANALYTIC_RATE_HZ), (HIGH_BAND_HZ, 1000.0)]


def _tone(t: NDArray[np.float64], at: float, freq_hz: float, sd_s: float = 0.02) -> NDArray:
    return np.exp(-0.5 * ((t - at) / sd_s) ** 2) * np.sin(2 * np.pi * freq_hz * (t - at))


def _recording(seconds: float, noise: float, sounds: list[tuple[float, float, float]]) -> NDArray:
    """White noise plus Gaussian-windowed tones given as (time s, pitch Hz, amplitude)."""
    t = np.arange(round(seconds * FS_HZ)) / FS_HZ
    x = noise * np.random.default_rng(0).standard_normal(t.size)
    for at, freq_hz, amplitude in sounds:
        x += amplitude * _tone(t, at, freq_hz)
    return x


def _slow_added_power(
    spectrum: Spectrum, band_hz: tuple[float, float], rate_hz: float, times_s: list[float]
) -> list[float]:
    """The Notes, one window at a time: each window cut at the recording's ends."""
    magnitude = spectrum.unpad(spectrum.envelope(band_hz, rate_hz), rate_hz)
    power = magnitude.astype(np.float64) ** 2
    width = round(0.1 * rate_hz)
    blocks = [power[i : i + width].mean() for i in range(0, power.size - width + 1, width)]
    background = float(np.median(blocks))
    out = []
    for at in times_s:
        start = min(max(round(at * rate_hz) - width // 2, 0), power.size)
        window = power[start : min(start + width, power.size)]
        out.append(max(float(window.mean()) - background, 0.0))
    return out


@pytest.mark.parametrize(("band_hz", "rate_hz"), BANDS)
def test_each_sound_adds_its_centred_window_mean_over_the_median_block(
    band_hz: tuple[float, float], rate_hz: float
) -> None:
    # Loud noise over a minute, faint sounds at both ends and late in it: a running sum kept in
    # single precision is off there by up to 1e-4 (the noise's power is about 1), half a percent
    # of what the faintest sound adds.
    times = [0.0, 0.01, 30.0, 59.5, 59.99, 60.0]
    sounds = [(at, pitch, 0.5) for at in times for pitch in (60.0, 500.0)]
    spectrum = Spectrum(_recording(60.0, 1.0, sounds), FS_HZ)
    added = _added_power(spectrum, band_hz, rate_hz, np.array(times))
    assert added.dtype == np.float64
    np.testing.assert_allclose(added, _slow_added_power(spectrum, band_hz, rate_hz, times), 1e-9)
    assert np.all(added > 0.0)


@pytest.mark.parametrize(("band_hz", "rate_hz"), BANDS)
def test_the_background_is_the_median_block_not_the_mean(
    band_hz: tuple[float, float], rate_hz: float
) -> None:
    # Loud unlabelled sounds in a few blocks raise the mean block far above the median one.
    loud = [(at, pitch, 5.0) for at in (2.0, 4.0, 6.0, 8.0) for pitch in (60.0, 500.0)]
    x = _recording(10.0, 0.01, [(1.0, 60.0, 1.0), (1.0, 500.0, 1.0), *loud])
    spectrum = Spectrum(x, FS_HZ)
    (added,) = _added_power(spectrum, band_hz, rate_hz, np.array([1.0]))
    (slow,) = _slow_added_power(spectrum, band_hz, rate_hz, [1.0])
    assert added == pytest.approx(slow, rel=1e-9)
    magnitude = spectrum.unpad(spectrum.envelope(band_hz, rate_hz), rate_hz)
    assert added > 0.5 * np.mean(magnitude.astype(np.float64) ** 2)


def test_a_recording_shorter_than_one_window_has_no_background() -> None:
    spectrum = Spectrum(_recording(0.08, 0.0, [(0.04, 60.0, 1.0)]), FS_HZ)
    magnitude = spectrum.unpad(spectrum.envelope(SOUND_BAND_HZ, ANALYTIC_RATE_HZ), 500.0)
    (added,) = _added_power(spectrum, SOUND_BAND_HZ, ANALYTIC_RATE_HZ, np.array([0.04]))
    assert added == pytest.approx(np.mean(magnitude.astype(np.float64) ** 2), rel=1e-9)


def test_one_sound_is_enough_and_the_share_has_three_decimals() -> None:
    x = _recording(5.0, 0.01, [(2.5, 60.0, 0.3), (2.5, 500.0, 1.0)])
    share = high_band_share(Spectrum(x, FS_HZ), np.array([2.5]))
    assert share is not None and 0.2 < share < 0.98
    assert share == round(share, 3) and share != round(share, 2)


def test_a_time_where_nothing_rises_is_left_out() -> None:
    # Silence at 4 s under noise elsewhere: that "sound" adds nothing in either band.
    x = _recording(8.0, 0.1, [(2.0, 60.0, 1.0)])
    x[round(3.5 * FS_HZ) : round(4.5 * FS_HZ)] = 0.0
    spectrum = Spectrum(x, FS_HZ)
    assert high_band_share(spectrum, np.array([4.0])) is None
    alone = high_band_share(spectrum, np.array([2.0]))
    assert alone is not None and alone < 0.1
    assert high_band_share(spectrum, np.array([2.0, 4.0])) == alone


def _slow_centroids(band: NDArray, rate_hz: float, times_s: list[float]) -> list[float]:
    """The Notes of `spectral_centroids_hz`, one window and one sample at a time."""
    width = round(0.08 * rate_hz)
    length = 1
    while length < width:
        length *= 2
    out = []
    for at in times_s:
        first = round(at * rate_hz) - width // 2
        picked = [band[min(max(first + k, 0), band.size - 1)] for k in range(width)]
        window = np.array(picked, dtype=np.float64) * np.hanning(width)
        power = np.abs(np.fft.rfft(window, length)) ** 2
        freqs = np.arange(power.size) * rate_hz / length
        total = float(np.sum(power))
        out.append(float(np.sum(power * freqs)) / total if total > 0 else 0.0)
    return out


@pytest.mark.parametrize("rate_hz", [1000.0, 800.0, 812.5, 500.0])
def test_centroids_as_restated_inside_and_past_both_ends(rate_hz: float) -> None:
    # 800 Hz: a window of 64 samples, a power of two already (no padding); 812.5 Hz: 65, one
    # over it (padded to 128).
    band = np.random.default_rng(int(rate_hz)).standard_normal(round(3.0 * rate_hz))
    band = band.astype(np.float32)
    times = [0.0, 0.01, 0.5, 1.2345, 2.98, 3.0, 3.2]
    got = spectral_centroids_hz(band, rate_hz, np.array(times))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _slow_centroids(band, rate_hz, times), rtol=1e-9)


def test_a_tone_centroid_is_its_pitch_and_silence_has_none() -> None:
    t = np.arange(2000) / 1000.0
    tone = np.sin(2 * np.pi * 100.0 * t).astype(np.float32)
    tone[1200:] = 0.0
    high, silent = spectral_centroids_hz(tone, 1000.0, np.array([0.5, 1.6]))
    assert high == pytest.approx(100.0, abs=3.0) and silent == 0.0
    # However faint: a window's power far under 1 still has its centroid.
    (faint,) = spectral_centroids_hz(1e-4 * tone, 1000.0, np.array([0.5]))
    assert faint == pytest.approx(high, rel=1e-6)
    low = np.sin(2 * np.pi * 50.0 * t).astype(np.float32)
    assert spectral_centroids_hz(low, 1000.0, np.array([0.5]))[0] == pytest.approx(50.0, abs=3.0)


def test_no_time_or_no_band_gives_no_centroid() -> None:
    empty = spectral_centroids_hz(np.zeros(0, dtype=np.float32), 1000.0, np.array([0.5]))
    assert empty.tolist() == [0.0]
    none = spectral_centroids_hz(np.ones(100, dtype=np.float32), 1000.0, np.zeros(0))
    assert none.shape == (0,) and none.dtype == np.float64


@pytest.mark.parametrize(("band_hz", "rate_hz"), BANDS)
def test_a_window_past_the_end_holds_its_last_samples_or_none(
    band_hz: tuple[float, float], rate_hz: float
) -> None:
    # A loud sound at the very end: a window holding only the last sample takes that sample's
    # power (a mean over one), and a time a second past the end adds nothing.
    spectrum = Spectrum(_recording(2.0, 0.01, [(2.0, 60.0, 1.0), (2.0, 500.0, 1.0)]), FS_HZ)
    size = spectrum.unpad(spectrum.envelope(band_hz, rate_hz), rate_hz).size
    width = round(0.1 * rate_hz)
    last = (size - 1 + width // 2) / rate_hz  # the window starts at the last sample
    times = [last - 1.0 / rate_hz, last]
    added = _added_power(spectrum, band_hz, rate_hz, np.array([*times, 3.0]))
    slow = _slow_added_power(spectrum, band_hz, rate_hz, times)
    np.testing.assert_allclose(added[:2], slow, 1e-9)
    assert added[1] > 0.0 and added[2] == 0.0
