"""Zero-phase Butterworth bands and envelopes cut from one FFT of a whole recording.

Forward-backward filtering (``sosfiltfilt``) applies the squared magnitude of a filter with no
phase. Applied in the frequency domain, that same response costs one multiplication per bin once
the recording's spectrum is known, and a lower analysis rate is just a shorter inverse transform.
The heart and lung analyses need several bands of each recording at 1 kHz and 4 kHz; sharing one
forward FFT makes them several times cheaper than resampling and filtering each band in turn.
"""

from __future__ import annotations

import functools
import math
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import fft

from stetho_signal._mains import find_mains, hum_lines
from stetho_signal.filters import checked_band

__all__ = ["PAD_S", "Spectrum", "smooth_resampled"]

_Sample = TypeVar("_Sample", bound=np.generic)

PAD_S = 0.25
"""Mirror padding at each end, at most: the filters' responses (a 5 Hz edge at order 2 is the
longest) have decayed well before it, so the circular transform does not wrap one end into the
other."""
MIN_PAD_S = 0.2
"""Mirror padding at each end, at least: the forward-backward response of that longest filter
is down to 0.4 % of its peak (0.3 % at 0.25 s). Padding between the two lets a recording fit a
faster transform: 20 s at 4 kHz takes 81,920 points (2**14 * 5) instead of 86,400, and its
forward transform, the largest one, about 40 % less time."""

# Every rate that is cut from the spectrum, and the envelope rate, divide the recording's
# rate by these; transform lengths are multiples of all of them.
_GRID = 40


class Spectrum:
    """One recording's spectrum, from which bands are cut at its rate or an integer fraction.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Samples, any unit.
    fs_hz : float
        Sampling rate in Hz; rates asked of :meth:`band` and :meth:`envelope` must divide it.
    top_hz : float, optional
        Highest frequency any band, envelope or hum search will read, Hz (None: up to the
        Nyquist frequency). Up to 1.5 kHz at 4 kHz, only the bins to ``top_hz`` are made, at
        less than half the cost of the whole transform (:func:`_low_rfft`); asking for more
        raises ValueError.

    Notes
    -----
    The recording is mirrored at both ends (odd extension, as ``sosfiltfilt`` pads) by
    :data:`PAD_S` and zero-filled to a fast transform length. A band is the inverse transform of
    the spectrum times ``|H(f)|**2`` of the Butterworth band-pass: the response of forward-
    backward filtering. Cutting the spectrum at a lower rate's Nyquist frequency resamples with
    an ideal anti-aliasing filter, which suits bands that end well below it.
    """

    def __init__(self, x: NDArray[np.floating], fs_hz: float, top_hz: float | None = None) -> None:
        data = np.asarray(x).ravel()
        self.fs_hz = float(fs_hz)
        self.size = data.size
        most = _GRID * ((data.size - 1) // _GRID)  # an odd extension reflects inner samples
        least = min(_GRID * math.ceil(MIN_PAD_S * fs_hz / _GRID), most)
        self.length = _GRID * fft.next_fast_len(
            math.ceil(max(data.size + 2 * least, 1) / _GRID), real=True
        )
        spare = _GRID * ((self.length - data.size) // (2 * _GRID))
        pad = min(_GRID * math.ceil(PAD_S * fs_hz / _GRID), spare, most)
        self.pad = pad
        # One single-precision buffer, mirrored ends and zero fill written in place: single
        # precision halves the cost of the transforms, and its 1e-7 relative error is far below
        # any level the analysis compares (the quietest is 1e-6 of the peak).
        # Only the fill past the mirrored end is zeroed: a large buffer comes from the heap
        # unzeroed, and zeroing all of it was a pass over every sample before the copy.
        padded = np.empty(self.length, dtype=np.float32)
        padded[pad : pad + data.size] = data
        if pad > 0:
            padded[:pad] = 2.0 * data[0] - data[pad:0:-1]
            padded[pad + data.size : data.size + 2 * pad] = (
                2.0 * data[-1] - data[-2 : -pad - 2 : -1]
            )
        padded[data.size + 2 * pad :] = 0.0  # (empty: pad is -GRID, and this takes it all)
        count = None if top_hz is None else math.ceil(top_hz * self.length / fs_hz) + 1
        self._bins: NDArray[np.complex64] = (
            fft.rfft(padded)
            if count is None or count > _LOW_BINS * self.length
            else _low_rfft(padded, count)
        )
        # A lung analysis asks for the heart-sound envelope twice (heart sounds, then how long
        # each lasts); the cache is per recording, so it dies with the analysis.
        self._envelopes: dict[tuple[tuple[float, float], float, int], NDArray[np.float32]] = {}

    def band(
        self, band_hz: tuple[float, float], rate_hz: float, order: int = 4
    ) -> NDArray[np.float32]:
        """The zero-phase band-passed recording at ``rate_hz``, in single precision.

        Parameters
        ----------
        band_hz : (float, float)
            Pass band edges in Hz (upper capped below the Nyquist frequency of ``rate_hz``).
        rate_hz : float
            Output rate in Hz: the recording's rate divided by a whole number.
        order : int
            Butterworth order of each half of the band-pass.

        Returns
        -------
        y : ndarray of float32, shape (ceil(n * rate_hz / fs_hz),)
        """
        step, length = self._decimation(rate_hz)
        kept = self._filtered(band_hz, rate_hz, order, length)
        full: NDArray[np.float32] = fft.irfft(kept, length)
        return self._unpadded(full, step)

    def envelope(
        self, band_hz: tuple[float, float], rate_hz: float, order: int = 4
    ) -> NDArray[np.float32]:
        """Magnitude of the band's analytic signal at ``rate_hz`` (as ``abs(hilbert(band))``).

        The analytic signal has no negative frequencies, so a complex series at ``rate_hz``
        holds the band up to ``rate_hz`` itself (not half of it): a 25-200 Hz envelope needs
        only 500 samples a second. Returned with the mirror padding, which later smoothing uses
        as ``sosfiltfilt`` would; :meth:`unpad` removes it. Read-only: the same array is
        returned to every caller.
        """
        key = (band_hz, rate_hz, order)
        if key not in self._envelopes:
            self.envelopes((band_hz,), rate_hz, order)
        return self._envelopes[key]

    def envelopes(
        self, bands_hz: tuple[tuple[float, float], ...], rate_hz: float, order: int = 4
    ) -> NDArray[np.float32]:
        """:meth:`envelope` of each band, as the rows of one array (read-only).

        The bands not yet asked for are transformed in one call: the same bits as one call
        each, row by row, with a third of the calls' overhead for the heart's three bands.
        """
        missing = [b for b in dict.fromkeys(bands_hz) if (b, rate_hz, order) not in self._envelopes]
        if missing:
            _, length = self._decimation(rate_hz)
            count = min(length, self.length // 2 + 1)
            # Three rows transformed as four: pocketfft transforms an array's rows four at a
            # time, one in each lane of a vector register (SciPy's SSE2 build), a remainder one
            # at a time; a fourth row of zeros makes the heart's three a third cheaper, with
            # the same bits in each (docs/accuracy.md, twentieth round).
            rows = len(missing) + (len(missing) % 4 == 3)
            # Nothing to zero when the kept bins fill the rows, as they do below the full rate.
            analytic = (np.empty if count == length else np.zeros)(
                (rows, length), dtype=np.complex64
            )
            analytic[len(missing) :] = 0.0
            self._check_bins(count)
            for row, band_hz in zip(analytic[: len(missing)], missing, strict=True):
                weights = _analytic_weights(band_hz, self.fs_hz, order, self.length, length)
                # Written in place: no temporary of the kept bins to copy over.
                np.multiply(self._bins[:count], weights, out=row[:count])
            # In place: ``analytic`` is ours, and the transform then needs no copy of it.
            transformed = fft.ifft(analytic, overwrite_x=True)[: len(missing)]
            magnitude: NDArray[np.float32] = np.abs(transformed)
            magnitude.flags.writeable = False
            for row, band_hz in zip(magnitude, missing, strict=True):
                self._envelopes[(band_hz, rate_hz, order)] = row
            if len(missing) == len(bands_hz):
                return magnitude
        stacked = np.stack([self._envelopes[(b, rate_hz, order)] for b in bands_hz])
        stacked.flags.writeable = False
        return stacked

    def mains_hum(self) -> tuple[float, ...]:
        """The mains hum's fundamentals in the recording, Hz (:func:`~stetho_signal._mains.
        find_mains`; empty without hum)."""
        return find_mains(self._bins, self.fs_hz, self.length)

    def mains_lines(self, fundamentals: tuple[float, ...]) -> tuple[float, ...]:
        """The harmonics of the hums ``fundamentals`` (Hz) that carry them, Hz: the ones to
        take out (:func:`~stetho_signal._mains.hum_lines`)."""
        return hum_lines(self._bins, self.fs_hz, self.length, fundamentals)

    def unpad(self, padded: NDArray[_Sample], rate_hz: float) -> NDArray[_Sample]:
        """The part of a padded series at ``rate_hz`` (along the last axis) that covers the
        recording."""
        step = round(self.fs_hz / rate_hz)
        return self._unpadded(padded, step)

    def _decimation(self, rate_hz: float) -> tuple[int, int]:
        step = round(self.fs_hz / rate_hz)
        if step < 1 or abs(step * rate_hz - self.fs_hz) > 1e-6 * self.fs_hz or _GRID % step:
            raise ValueError(f"rate {rate_hz} Hz does not divide {self.fs_hz} Hz by 1..{_GRID}")
        return step, self.length // step

    def _filtered(
        self, band_hz: tuple[float, float], rate_hz: float, order: int, length: int
    ) -> NDArray[np.complex64]:
        """Bins up to the Nyquist frequency of ``rate_hz``, weighted by the band's response."""
        weights = _band_weights(band_hz, rate_hz, order, length, self.length)
        self._check_bins(weights.size)
        kept: NDArray[np.complex64] = self._bins[: weights.size] * weights
        return kept

    def _check_bins(self, count: int) -> None:
        if count > self._bins.size:
            top = (self._bins.size - 1) * self.fs_hz / self.length
            raise ValueError(f"bins to {top:.1f} Hz were made, {count} asked for")

    def _unpadded(self, full: NDArray[_Sample], step: int) -> NDArray[_Sample]:
        start = self.pad // step
        count = -(-self.size // step)
        out: NDArray[_Sample] = full[..., start : start + count]
        return out


# A spectrum made to a top frequency this share of the transform length or under (3/8: 1.5 kHz
# at 4 kHz) is made by _low_rfft; the radix-4 split below gives bins up to it.
_LOW_BINS = 3 / 8


def _low_rfft(padded: NDArray[np.float32], count: int) -> NDArray[np.complex64]:
    """The first ``count`` bins (at most ``3 * n // 8 + 1``) of ``rfft(padded)``, ``n`` a
    multiple of 8, to single-precision rounding (2-4e-7 of the largest bin).

    Notes
    -----
    One decimation-in-time step of radix 4 (Cooley & Tukey, Math. Comput. 19:297, 1965): the
    four subsequences ``padded[r::4]`` are transformed as the rows of one array, then joined by
    a radix-4 butterfly with the twiddles ``exp(-2 pi i r k / n)``. pocketfft transforms the
    rows of an array several at a time, one in each lane of a vector register (four in SciPy's
    SSE2 build), a single row one value at a time: the four quarter-length rows cost about a
    third of the whole transform, and the butterfly, over the eighth of the bins it needs, a
    sixth. The rows are read in place (the subsequences' four values at each step are adjacent).
    With ``Y_r`` row ``r``'s transform and ``P_r = W**(r k) Y_r[k]`` for ``k <= n / 8``: bin
    ``k`` is ``P_0 + P_1 + P_2 + P_3``, bin ``n / 4 - k`` the conjugate of ``P_0 + i P_1 - P_2 -
    i P_3`` and bin ``n / 4 + k`` is ``P_0 - i P_1 - P_2 + i P_3`` (each row real, so ``Y_r[n /
    4 - k]`` is the conjugate of ``Y_r[k]``).
    """
    n = padded.size
    eighth = n // 8
    if n % 8 or not 0 < count <= 3 * eighth + 1:
        raise ValueError(f"{count} bins of a {n}-point transform: not made by the radix-4 split")
    rows = fft.rfft(padded.reshape(n // 4, 4).T, axis=1)[:, : eighth + 1]
    twiddles = _radix4_twiddles(n)
    p1 = rows[1] * twiddles[0]
    p3 = rows[3] * twiddles[2]
    p2 = rows[2] * twiddles[1]
    odd = p1 + p3
    p1 -= p3  # P_1 - P_3, then times i
    p1 *= 1j
    even = rows[0] + p2
    p2 = np.subtract(rows[0], p2, out=p2)  # P_0 - P_2
    out = np.empty(count, dtype=np.complex64)
    low = min(count, eighth + 1)
    np.add(even[:low], odd[:low], out=out[:low])
    if count > eighth + 1:
        middle = min(count, 2 * eighth) - eighth - 1  # bins n/8 + 1 .. : k = n/8 - 1 down
        mirrored = p2[eighth - middle : eighth] + p1[eighth - middle : eighth]
        np.conjugate(mirrored[::-1], out=out[eighth + 1 : eighth + 1 + middle])
    if count > 2 * eighth:
        extra = count - 2 * eighth
        np.subtract(p2[:extra], p1[:extra], out=out[2 * eighth :])
    return out


@functools.lru_cache(maxsize=16)
def _radix4_twiddles(n: int) -> NDArray[np.complex64]:
    """The twiddles of ``_made_radix4_twiddles``, cached (a table per transform length)."""
    return _made_radix4_twiddles(n)


# Undecorated so that mutation testing reaches it: mutmut skips decorated functions.
def _made_radix4_twiddles(n: int) -> NDArray[np.complex64]:
    """``exp(-2 pi i r k / n)`` for r = 1, 2, 3 (rows) and k = 0 .. n / 8, read-only.

    Made in double precision from two short tables (``W**k`` as ``W**(a s) W**b``, ``s`` about
    the square root of the count: a few hundred exponentials instead of thousands of sines and
    cosines), then rounded once to single precision: each row rounded as it is written (the
    third as its product is formed), where a stack of the three and its cast were two more
    passes, 0.5 % of a cold heart pass (docs/accuracy.md, thirty-second round)."""
    count = n // 8 + 1
    step = math.isqrt(count) + 1
    coarse = np.exp((-2j * np.pi * step / n) * np.arange(-(-count // step)))
    fine = np.exp((-2j * np.pi / n) * np.arange(step))
    first = (coarse[:, None] * fine).ravel()[:count]
    second = first * first
    twiddles = np.empty((3, count), dtype=np.complex64)
    twiddles[0] = first
    twiddles[1] = second
    np.multiply(second, first, out=twiddles[2])
    twiddles.flags.writeable = False
    return twiddles


@functools.lru_cache(maxsize=64)
def _squared_response(
    band_hz: tuple[float, float], rate_hz: float, order: int, length: int, bins: int | None = None
) -> NDArray[np.float32]:
    """``|H(f)|**2`` of the Butterworth band-pass at the first ``bins`` bins (all when None)
    of a ``length``-point real transform.

    Cached: every recording of the same length uses the same few bands. The band is checked
    and its upper edge capped as :func:`~stetho_signal.filters.design_bandpass` does.
    """
    # Checked as the filters check it (FilterDesignError), without designing the filter.
    low, high = checked_band(rate_hz, band_hz, order)
    analogue = _warped(rate_hz, length, length // 2 + 1 if bins is None else bins)
    lw, hw = _prewarp(low, rate_hz), _prewarp(high, rate_hz)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Band-pass from the low-pass prototype: s -> (s**2 + w0**2) / (B s).
        x = (analogue * analogue - lw * hw) / ((hw - lw) * analogue)
    gain = _butterworth(x, order).astype(np.float32)
    gain.flags.writeable = False  # shared by the cache
    return gain


@functools.lru_cache(maxsize=16)
def _band_weights(
    band_hz: tuple[float, float], rate_hz: float, order: int, length: int, full_length: int
) -> NDArray[np.float32]:
    """What :meth:`Spectrum.band` weights the first ``length // 2 + 1`` bins of a
    ``full_length``-point transform by: the band's ``|H(f)|**2`` on a ``length``-point transform
    at ``rate_hz``, scaled so the shorter inverse transform returns the same amplitude;
    read-only. Cached with the response (the scaling was a pass and a temporary per band)."""
    gain = _squared_response(band_hz, rate_hz, order, length)
    weights = gain * np.float32(length / full_length)
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=64)
def _analytic_weights(
    band_hz: tuple[float, float], fs_hz: float, order: int, length: int, out_length: int
) -> NDArray[np.float32]:
    """What :meth:`Spectrum.envelope` weights a ``length``-point transform's bins by for an
    analytic signal of ``out_length`` points: the band's ``|H(f)|**2`` at the first
    ``min(out_length, length // 2 + 1)`` bins, scaled for the shorter inverse transform, the
    positive frequencies doubled (DC, and the Nyquist bin at the full rate, kept once).

    Cached with the response: the scale and the doubling were two passes over the bins per
    envelope, the doubling over complex ones. Doubling is exact in floating point, so the
    bins come out as from weighting, then doubling (to the last bit, short of subnormal
    products, far under any envelope's last bit).
    """
    count = min(out_length, length // 2 + 1)
    # Designed at the recording's rate: the response is needed up to the output rate, past the
    # Nyquist frequency of a filter designed at that rate.
    gain = _squared_response(band_hz, fs_hz, order, length, count)
    weights = gain * np.float32(out_length / length)
    weights[1 : min(count, (length + 1) // 2)] *= 2.0
    weights.flags.writeable = False  # shared by the cache
    return weights


def smooth_resampled(
    x: NDArray[np.floating], rate_hz: float, cutoff_hz: float, out_rate_hz: float
) -> NDArray[np.float64]:
    """Zero-phase second-order Butterworth low-pass of ``x``, sampled at ``out_rate_hz``.

    Parameters
    ----------
    x : ndarray, shape (..., n)
        Samples at ``rate_hz`` along the last axis (rows smoothed each on its own); ``n`` must
        be a multiple of ``rate_hz / out_rate_hz`` (true of what :meth:`Spectrum.envelope`
        returns).
    rate_hz, out_rate_hz : float
        Input and output rates in Hz; the output rate divides the input rate.
    cutoff_hz : float
        -3 dB edge of one pass, Hz, below half the output rate.

    Returns
    -------
    y : ndarray, shape (..., n * out_rate_hz / rate_hz)
        The output sample ``k`` is the smoothed input at sample ``k * rate_hz / out_rate_hz``.
    """
    step = round(rate_hz / out_rate_hz)
    size = x.shape[-1]
    if size % step:
        raise ValueError(f"length {size} is not a multiple of the decimation {step}")
    length = size // step
    # Computed in the input's precision (single precision halves the transform's cost); the
    # kept bins weighted in place, in the transform's own buffer.
    bins = fft.rfft(x)[..., : length // 2 + 1]
    bins *= _smoothing_weights(cutoff_hz, rate_hz, size, step, x.dtype)
    smooth: NDArray[np.float64] = fft.irfft(bins, length)
    return smooth.astype(np.float64)


@functools.lru_cache(maxsize=16)
def _smoothing_weights(
    cutoff_hz: float, rate_hz: float, length: int, step: int, dtype: np.dtype[Any]
) -> NDArray[np.floating]:
    """What :func:`smooth_resampled` weights the kept bins of a ``length``-point transform
    by: :func:`_squared_lowpass` over the decimation ``step`` (so the shorter inverse transform
    keeps the amplitude), in ``dtype``; read-only. Cached with the response: the division and
    the cast were two passes per smoothing."""
    gain = _squared_lowpass(cutoff_hz, rate_hz, length, length // step // 2 + 1)
    weights: NDArray[np.floating] = (gain / step).astype(dtype)
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=16)
def _squared_lowpass(
    cutoff_hz: float, rate_hz: float, length: int, bins: int | None = None
) -> NDArray[np.float64]:
    """``|H(f)|**2`` of a second-order Butterworth low-pass at the first ``bins`` bins (all
    when None) of a ``length``-point real transform."""
    count = length // 2 + 1 if bins is None else bins
    gain = _butterworth(_warped(rate_hz, length, count) / _prewarp(cutoff_hz, rate_hz), 2)
    gain.flags.writeable = False
    return gain


def _prewarp(edge_hz: float, rate_hz: float) -> float:
    """An edge's analogue frequency under the bilinear transform, as ``signal.butter`` uses."""
    return 2.0 * rate_hz * math.tan(math.pi * edge_hz / rate_hz)


@functools.lru_cache(maxsize=8)
def _warped(rate_hz: float, length: int, bins: int) -> NDArray[np.float64]:
    """The analogue frequencies ``2 fs tan(w / 2)`` of a ``length``-point real transform's
    first ``bins`` bins (Nyquist: inf), read-only.

    Only the bins a band is cut to are computed (an analytic envelope at 500 Hz keeps the first
    quarter of a 4 kHz transform's bins; the tangents and powers of the rest were a fifth of a
    cold heart analysis), and the three heart envelopes share them: cached per transform.
    """
    return _made_warped(rate_hz, length, bins)


# Undecorated so that mutation testing reaches it: mutmut skips decorated functions.
def _made_warped(rate_hz: float, length: int, bins: int) -> NDArray[np.float64]:
    """The frequencies of :func:`_warped`, each tangent ``tan(a + b)`` from two short tables
    (``a`` a multiple of ``s`` bins, ``s`` about the square root of the count, ``b`` under
    ``s`` bins) as ``(tan a + tan b) / (1 - tan a tan b)``: within a few units in the last place
    of ``np.tan`` to 0.45 of the rate, within 1e-11 nearer Nyquist (where the cosine the
    denominator stands for is small).

    A new transform length needs its own tangents: ``np.tan`` was 2 % of a cold heart pass's
    instructions (1.2 million tangents), the tables and the sums a fraction of that; the
    single-precision gains made from them are the same bits on the shared recordings
    (docs/accuracy.md, thirty-third round).
    """
    step = math.isqrt(bins) + 1
    coarse = np.tan((np.pi * step / length) * np.arange(-(-bins // step)))
    fine = np.tan((np.pi / length) * np.arange(step))
    warped: NDArray[np.float64] = np.add.outer(coarse, fine).ravel()[:bins]
    with np.errstate(divide="ignore"):  # 1 - tan a tan b is 0 at Nyquist only: inf, as set
        warped /= 1.0 - np.multiply.outer(coarse, fine).ravel()[:bins]
    warped *= 2.0 * rate_hz
    if length % 2 == 0 and bins == length // 2 + 1:
        warped[-1] = np.inf
    warped.flags.writeable = False
    return warped


def _butterworth(x: NDArray[np.float64], order: int) -> NDArray[np.float64]:
    """``1 / (1 + x**(2 order))``, the Butterworth magnitude squared at normalised frequency x.

    Notes
    -----
    A digital Butterworth filter designed by the bilinear transform has exactly this squared
    magnitude at the analogue frequency its bin maps to (Oppenheim & Schafer, Discrete-Time
    Signal Processing, 3rd ed., sec. 7.1.3), band-pass after the low-pass to band-pass
    substitution: one tangent per bin instead of evaluating every section's polynomials (the
    latter was 40 % of a cold heart analysis). Same values as ``sosfreqz`` to 1e-11.

    The power of a power-of-two order is taken by repeated squaring: ``pow`` per bin was 5 %
    of a cold heart analysis. The two differ by a few units in the last place of a double;
    the gains are used in single precision, where not one of the 3.1 million a pass over the
    shared recordings changes (docs/accuracy.md, fifteenth round).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if order & (order - 1):
            power = np.abs(x) ** (2 * order)
        else:
            power = np.square(x)
            for _ in range(order.bit_length() - 1):
                np.square(power, out=power)
        gain = 1.0 / (1.0 + power)
    # NaN (inf over inf at the Nyquist bin of a band-pass) to 0; the gain is never infinite.
    # In place: ``np.nan_to_num`` cost more than the power above.
    gain[np.isnan(gain)] = 0.0
    return gain
