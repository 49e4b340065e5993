"""Digital silence at a recording's ends (the AKG C417L files of ICBHI open with 4096 zero
samples): where the signal lies, and no crackle read in the step out of the silence."""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal import analyze
from stetho_signal._audio import prepare
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import find_crackles
from stetho_signal.lung import lung_band
from stetho_sim.sounds import breathing

_RATE = 44_100.0


@pytest.mark.parametrize(
    ("lead", "trail", "span"),
    [
        (0, 0, (0.0, 5.0)),
        (4096, 0, (4096 / _RATE, 5.0)),
        (0, 441, (0.0, 5.0 - 441 / _RATE)),
        (100_000, 50_000, (100_000 / _RATE, 5.0 - 50_000 / _RATE)),  # over a second each
        (220_400, 0, (220_400 / _RATE, 5.0)),  # signal in the last 100 samples only
    ],
)
def test_the_signal_lies_between_the_first_and_last_non_zero_samples(
    lead: int, trail: int, span: tuple[float, float]
) -> None:
    x = np.full(int(5 * _RATE), -0.25)
    x[:lead] = 0.0
    x[x.size - trail :] = 0.0
    assert prepare(x, _RATE).signal_span_s == pytest.approx(span, abs=1e-12)


def test_one_non_zero_sample_is_a_span_of_one_sample() -> None:
    x = np.zeros(int(2 * _RATE))
    x[60_000] = 0.5
    assert prepare(x, _RATE).signal_span_s == (60_000 / _RATE, 60_001 / _RATE)


def test_a_silent_recording_spans_its_whole_length() -> None:
    assert prepare(np.zeros(int(1.5 * _RATE)), _RATE).signal_span_s == (0.0, 1.5)


def test_the_detector_skips_its_half_window_from_where_the_signal_starts_and_ends() -> None:
    fs = 4000.0
    band = np.zeros(int(2 * fs), dtype=np.float32)
    band += np.random.default_rng(0).normal(0.0, 0.01, band.size).astype(np.float32)
    for at in (0.16, 0.26, 1.7, 1.78):
        band[int(at * fs)] = 0.5  # a lone spike: a crackle to the detector
    times = find_crackles(band, fs)
    assert len(times) == 4
    kept = find_crackles(band, fs, (0.15, 1.82))
    assert kept == times[1:3]  # 0.16 and 1.78 lie within 0.05 s of the signal's ends


def _breathing_after_silence(zeros: int) -> np.ndarray:
    """Breathing through a microphone with a DC offset, as a recorder that opens with zeros."""
    at_4k = breathing(16, 12.0, 4000, seed=1) + 0.1
    x = np.interp(np.arange(int(12.0 * _RATE)) / _RATE, np.arange(at_4k.size) / 4000.0, at_4k)
    x[:zeros] = 0.0
    return x


def test_the_step_out_of_leading_silence_is_no_crackle() -> None:
    lung = analyze(_breathing_after_silence(4096), _RATE, "lung").lung
    assert lung is not None
    assert not [t for t in lung.crackle_times_s if t < 0.3]


def test_the_same_step_counted_from_the_file_start_is_read_as_one() -> None:
    """The control: with the edge counted from the first sample, the step is a detection."""
    audio = prepare(_breathing_after_silence(4096), _RATE)
    band = lung_band(Spectrum(audio.samples, 4000.0))
    assert [t for t in find_crackles(band, 4000.0) if t < 0.3]
    assert not [t for t in find_crackles(band, 4000.0, audio.signal_span_s) if t < 0.3]
