"""Input checks and conversion of raw samples to the canonical analysis rate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stetho_common import dsp
from stetho_signal._masks import run_lengths
from stetho_signal._rates import MAX_RATE_HZ, MIN_RATE_HZ
from stetho_signal.errors import InvalidAudioError

ANALYSIS_RATE_HZ = 4000.0
"""Canonical rate: holds lung sounds to 2 kHz (crackles) and is the CirCor/Littmann rate."""

MIN_DURATION_S = 1.0

# A clipped plateau: at least this many consecutive samples at the absolute peak.
_CLIP_RUN = 3
_CLIP_TOLERANCE = 1e-4


@dataclass(frozen=True)
class PreparedAudio:
    """Mono float64 samples at :data:`ANALYSIS_RATE_HZ`, scaled so full scale is 1.0."""

    samples: NDArray[np.float64]
    input_rate_hz: float
    duration_s: float
    clipped_fraction: float
    peak_full_scale: float
    signal_span_s: tuple[float, float]
    """From the first to just after the last non-zero input sample, s: some recorders open
    with digital silence (the AKG C417L files of ICBHI, 4096 samples), and the step out of
    it is no sound of the chest."""


def prepare(samples: NDArray[Any], fs_hz: float) -> PreparedAudio:
    """Validate, take the first channel, scale to full scale 1.0 and resample to 4 kHz.

    Raises
    ------
    InvalidAudioError
        Empty input, unsupported dtype or rate, NaN/inf, or less than one second.
    """
    rate = _checked_rate(fs_hz)
    mono = _first_channel(samples)
    scaled = _to_full_scale(mono)
    if scaled.size == 0:
        raise InvalidAudioError("no samples: the recording is empty")
    magnitude = np.abs(scaled)
    peak = float(np.max(magnitude))
    # The peak is finite exactly when every sample is (the maximum passes NaN on, and infinity
    # is the largest magnitude): no pass of its own over the data. Integers are finite anyway.
    if not math.isfinite(peak):
        raise InvalidAudioError("samples contain NaN or infinity: the recording is corrupt")
    duration = scaled.size / rate
    if duration < MIN_DURATION_S:
        raise InvalidAudioError(
            f"recording lasts {duration:.3f} s; at least {MIN_DURATION_S:.0f} s is needed"
        )
    clipped = _clipped_fraction(magnitude, peak)
    if peak > 1.0:
        # Out-of-range float input: bring it to full scale so squares cannot overflow.
        scaled = scaled / peak
    return PreparedAudio(
        samples=_resample(scaled, rate),
        input_rate_hz=rate,
        duration_s=duration,
        clipped_fraction=clipped,
        peak_full_scale=min(peak, 1.0),
        signal_span_s=_signal_span_s(magnitude, rate),
    )


def _checked_rate(fs_hz: float) -> float:
    try:
        rate = float(fs_hz)
    except (TypeError, ValueError) as exc:
        raise InvalidAudioError(f"sample rate must be a number of Hz, got {fs_hz!r}") from exc
    if not (np.isfinite(rate) and MIN_RATE_HZ <= rate <= MAX_RATE_HZ):
        raise InvalidAudioError(
            f"sample rate {fs_hz!r} Hz is not supported: use {MIN_RATE_HZ:.0f}-{MAX_RATE_HZ:.0f} Hz"
        )
    return rate


def _first_channel(samples: NDArray[Any]) -> NDArray[Any]:
    array = np.asarray(samples)
    if array.ndim == 2:
        if array.shape[1] == 0:
            raise InvalidAudioError("no channels: the recording is empty")
        return array[:, 0]
    if array.ndim != 1:
        raise InvalidAudioError(f"expected shape (n,) or (n, channels), got {array.shape}")
    return array


def _to_full_scale(mono: NDArray[Any]) -> NDArray[np.float64]:
    """Integers are scaled by their dtype (int24 arrives left-justified in int32)."""
    kind = mono.dtype.kind
    if kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            return mono.astype(np.float64)
    if kind == "i":
        # One pass; scaling by a power of two is exact either way.
        scaled: NDArray[np.float64] = np.multiply(
            mono, 1.0 / 2 ** (8 * mono.dtype.itemsize - 1), dtype=np.float64
        )
        return scaled
    if kind == "u":
        half = float(2 ** (8 * mono.dtype.itemsize - 1))
        return (mono.astype(np.float64) - half) / half
    raise InvalidAudioError(f"unsupported sample type {mono.dtype}: use int16/int32/float")


def _clipped_fraction(magnitude: NDArray[np.float64], peak: float) -> float:
    """Fraction of samples on flat runs at the absolute peak (the signature of clipping)."""
    if peak <= 0.0:
        return 0.0
    at_peak = magnitude >= peak * (1.0 - _CLIP_TOLERANCE)
    if int(np.count_nonzero(at_peak)) < _CLIP_RUN:
        return 0.0
    runs = run_lengths(at_peak)
    return float(np.sum(runs[runs >= _CLIP_RUN])) / magnitude.size


def _signal_span_s(magnitude: NDArray[np.float64], rate_hz: float) -> tuple[float, float]:
    """:attr:`PreparedAudio.signal_span_s`, searched from each end (a recording with signal
    from its first and last samples costs two short reads, not a pass: the heart analysis
    never reads the span)."""
    first = _first_nonzero(magnitude)
    if first is None:
        return 0.0, magnitude.size / rate_hz  # all silent: nothing to trim
    from_end = _first_nonzero(magnitude[::-1])
    assert from_end is not None  # the sample at ``first`` is non-zero
    return first / rate_hz, (magnitude.size - from_end) / rate_hz


_FIRST_READ = 256  # samples read first from an end; each further read twice the last


def _first_nonzero(values: NDArray[np.float64]) -> int | None:
    """Index of the first non-zero value, or None: read in growing stretches from the start."""
    start, length = 0, _FIRST_READ
    while start < values.size:
        found = np.flatnonzero(values[start : start + length])
        if found.size:
            return start + int(found[0])
        start += length
        length *= 2
    return None


def _resample(x: NDArray[np.float64], rate_hz: float) -> NDArray[np.float64]:
    if rate_hz == ANALYSIS_RATE_HZ:
        return x
    ratio = Fraction(ANALYSIS_RATE_HZ / rate_hz).limit_denominator(1000)
    # The filter's sinc zeros skipped: half the taps of an 8 kHz recording's 2:1 decimation
    # (a 1e-15 change against SciPy's, docs/accuracy.md, twentieth round).
    out: NDArray[np.float64] = np.asarray(
        dsp.resample_poly(x, ratio.numerator, ratio.denominator, sinc_zeros=True),
        dtype=np.float64,
    )  # float64 already: no copy
    return out
