"""stetho_signal._audio.prepare: what it refuses and says, and the full scale it brings back.

NaN and infinity are found from the peak alone (the maximum passes NaN on, and infinity is the
largest magnitude), wherever the sample sits; a float recording over full scale is brought to
it; a recording of exactly one second is long enough.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from stetho_common import dsp
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


@pytest.mark.parametrize(
    ("dtype", "value", "scaled"),
    [
        (np.int16, 2**14, 0.5),
        (np.int16, -(2**15), -1.0),
        (np.int32, 2**30, 0.5),
        (np.uint8, 192, 0.5),
        (np.uint8, 0, -1.0),
        (np.uint16, 2**15, 0.0),
        (np.uint16, 2**14, -0.5),
    ],
)
def test_integer_samples_are_scaled_by_their_dtype(
    dtype: type[np.integer], value: int, scaled: float
) -> None:
    # Signed: full scale is 2**(bits - 1); unsigned: centred on 2**(bits - 1) first.
    x = np.full(4000, value, dtype=dtype)
    x[::2] = 0 if np.issubdtype(dtype, np.signedinteger) else 2 ** (8 * x.itemsize - 1)
    out = prepare(x, _RATE)
    assert out.samples[1] == scaled and out.samples[0] == 0.0


def test_a_float_too_large_for_float64_is_corrupt_without_a_warning() -> None:
    # A long double over float64's range becomes infinity in the cast: refused as corrupt,
    # and the cast's overflow warning (an error under the test settings) stays quiet.
    x = np.full(6000, 0.5, dtype=np.longdouble)
    x[100] = np.longdouble("1e400")
    if np.isinf(x[100]):  # long double no wider than float64 here: nothing to cast over
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(InvalidAudioError, match=r"^samples contain NaN or infinity"):
        prepare(x, _RATE)


@pytest.mark.parametrize(
    ("samples", "fs", "message"),
    [
        (np.zeros(6000), "fast", r"^sample rate must be a number of Hz, got 'fast'$"),
        (np.zeros(6000), 1000.0, r"^sample rate 1000\.0 Hz is not supported: use 2000-48000 Hz$"),
        (np.zeros((6000, 0)), _RATE, r"^no channels: the recording is empty$"),
        (np.zeros((2, 3000, 1)), _RATE, r"^expected shape \(n,\) or \(n, channels\), got "),
        (np.zeros(6000, dtype=np.complex64), _RATE, r"^unsupported sample type complex64: use "),
    ],
)
def test_unusable_input_says_what_is_wrong(samples: np.ndarray, fs: object, message: str) -> None:
    with pytest.raises(InvalidAudioError, match=message):
        prepare(samples, fs)  # type: ignore[arg-type]


def test_silence_has_no_clipped_samples() -> None:
    assert prepare(np.zeros(6000), _RATE).clipped_fraction == 0.0


def test_clipping_is_runs_of_three_at_the_peak_within_its_tolerance() -> None:
    # One run of exactly three samples at 1 - 1e-4 of the peak (the tolerance's bound) and
    # a run of two at the peak: only the three count, over all 6000 samples.
    x = 0.5 * np.sin(np.arange(6000.0))
    x[1000] = 1.0
    x[2000:2003] = 1.0 * (1.0 - 1e-4)
    x[3000:3002] = 1.0
    assert prepare(x, _RATE).clipped_fraction == 3 / 6000
    # The three alone: as few samples at the peak as one run needs.
    x = 0.5 * np.sin(np.arange(6000.0))
    x[2000:2003] = 1.0
    assert prepare(x, _RATE).clipped_fraction == 3 / 6000


def test_an_odd_rate_is_resampled_by_a_ratio_of_terms_up_to_1000() -> None:
    # 4004 Hz to 4 kHz is 1000/1001 exactly; within terms up to 1000 it is 999/1000.
    out = prepare(np.zeros(10_000), 4004.0)
    assert out.samples.size == 9990


def test_an_8_khz_recording_is_decimated_without_the_filters_sinc_zeros() -> None:
    x = np.random.default_rng(8).standard_normal(16001) * 0.1
    got = prepare(x, 8000.0).samples
    # Half the taps skipped: within 1e-15 of SciPy's, and not its bits.
    assert np.array_equal(got, dsp.resample_poly(x, 1, 2, sinc_zeros=True))
    assert np.max(np.abs(got - signal.resample_poly(x, 1, 2))) <= 1e-15
    assert not np.array_equal(got, signal.resample_poly(x, 1, 2))
