"""Filters: in-band tones pass, out-of-band tones are attenuated as designed, streams match."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from stetho_signal import (
    HEART_BAND_HZ,
    LUNG_BAND_HZ,
    MODE_BANDS_HZ,
    FilterDesignError,
    Mode,
    StreamingBandpass,
    bandpass,
    design_bandpass,
)

FS = 4000.0


def _tone(freq_hz: float, seconds: float = 2.0, fs: float = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * freq_hz * t)


def _gain_db(y: np.ndarray, x: np.ndarray) -> float:
    core = slice(len(x) // 4, 3 * len(x) // 4)  # away from the edges
    return float(20 * np.log10(np.std(y[core]) / np.std(x[core])))


@pytest.mark.parametrize("freq", [60.0, 150.0, 300.0])
def test_heart_band_tone_passes(freq: float) -> None:
    x = _tone(freq)
    assert abs(_gain_db(bandpass(x, FS, HEART_BAND_HZ), x)) < 0.5


@pytest.mark.parametrize(("freq", "max_db"), [(5.0, -40.0), (1200.0, -40.0)])
def test_heart_band_tone_outside_is_attenuated(freq: float, max_db: float) -> None:
    # 4th-order Butterworth halves, applied forward and back: 5 Hz is 2.3 octaves under 25 Hz
    # (~ -2*4*6*2.3 = -110 dB nominal), 1200 Hz 1.6 octaves over 400 Hz (~ -75 dB).
    x = _tone(freq)
    assert _gain_db(bandpass(x, FS, HEART_BAND_HZ), x) < max_db


def test_gain_at_band_edge_matches_design() -> None:
    # Forward-backward filtering squares the magnitude: -3 dB edges become -6 dB.
    x = _tone(400.0)
    assert _gain_db(bandpass(x, FS, HEART_BAND_HZ), x) == pytest.approx(-6.0, abs=0.5)


def test_lung_band_is_capped_below_nyquist() -> None:
    sos = design_bandpass(FS, LUNG_BAND_HZ)
    _, h = signal.sosfreqz(sos, worN=[1000.0], fs=FS)
    assert abs(h[0]) == pytest.approx(1.0, abs=0.05)


def test_every_mode_has_a_usable_band() -> None:
    for mode in Mode:
        x = _tone(150.0)
        assert np.all(np.isfinite(bandpass(x, FS, MODE_BANDS_HZ[mode])))


def test_output_is_float32_and_same_length_for_odd_and_tiny_inputs() -> None:
    for n in (0, 1, 2, 7, 101):
        y = bandpass(np.ones(n), FS, HEART_BAND_HZ)
        assert y.dtype == np.float32
        assert y.shape == (n,)


def test_streaming_100ms_blocks_equal_one_shot_filtering() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(int(5.3 * FS))
    stream = StreamingBandpass(FS, HEART_BAND_HZ)
    block = int(0.1 * FS)
    parts = [stream.process(x[i : i + block]) for i in range(0, x.size, block)]
    expected = signal.sosfilt(design_bandpass(FS, HEART_BAND_HZ), x)
    np.testing.assert_allclose(np.concatenate(parts), expected, atol=1e-6)


def test_streaming_reset_forgets_state() -> None:
    stream = StreamingBandpass(FS, HEART_BAND_HZ)
    first = stream.process(np.ones(400))
    stream.reset()
    np.testing.assert_array_equal(stream.process(np.ones(400)), first)


@pytest.mark.parametrize(
    ("fs", "band"), [(FS, (500.0, 300.0)), (FS, (2500.0, 3000.0)), (0.0, HEART_BAND_HZ)]
)
def test_impossible_band_is_a_typed_error(fs: float, band: tuple[float, float]) -> None:
    with pytest.raises(FilterDesignError):
        design_bandpass(fs, band)
