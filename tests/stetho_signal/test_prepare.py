"""stetho_signal._audio.prepare: what it refuses and says, and the full scale it brings back.

NaN and infinity are found from the peak alone (the maximum passes NaN on, and infinity is the
largest magnitude), wherever the sample sits; a float recording over full scale is brought to
it; a recording of exactly one second is long enough.
"""

from __future__ import annotations

import numpy as np
import pytest

from stetho_signal._audio import ANALYSIS_RATE_HZ, MIN_DURATION_S, prepare
from stetho_signal.errors import InvalidAudioError

_RATE = ANALYSIS_RATE_HZ  # no resampling: the samples come back as scaled


def _tone(peak: float, seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * _RATE)) / _RATE
    return peak * np.sin(2 * np.pi * 50.0 * t + 0.3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 2999, 5999])
def test_nan_or_infinity_anywhere_is_a_corrupt_recording(bad: float, where: int) -> None:
    x = _tone(0.5)
    x[where] = bad
    corrupt = r"^samples contain NaN or infinity: the recording is corrupt$"
    with pytest.raises(InvalidAudioError, match=corrupt):
        prepare(x, _RATE)


def test_an_empty_recording_says_so() -> None:
    with pytest.raises(InvalidAudioError, match=r"^no samples: the recording is empty$"):
        prepare(np.zeros(0), _RATE)


def test_one_second_is_enough_and_a_sample_less_is_not() -> None:
    assert MIN_DURATION_S == 1.0
    assert prepare(_tone(0.5, 1.0), _RATE).duration_s == 1.0
    with pytest.raises(InvalidAudioError, match=r"^recording lasts 1\.000 s; at least 1 s"):
        prepare(_tone(0.5, 1.0)[:-1], _RATE)


def test_a_float_recording_over_full_scale_is_brought_to_it() -> None:
    x = _tone(1.5)
    out = prepare(x, _RATE)
    assert out.peak_full_scale == 1.0
    np.testing.assert_allclose(out.samples, x / np.max(np.abs(x)), rtol=0, atol=1e-15)


@pytest.mark.parametrize("peak", [0.5, 1.0])
def test_a_recording_within_full_scale_keeps_its_samples_and_peak(peak: float) -> None:
    x = _tone(peak)
    out = prepare(x, _RATE)
    assert out.peak_full_scale == float(np.max(np.abs(x)))
    np.testing.assert_array_equal(out.samples, x)
