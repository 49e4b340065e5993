"""Heart-sound envelope and cycle estimation by autocorrelation (Schmidt 2010, Springer 2016)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import fft

from stetho_common import dsp
from stetho_signal._stats import quantile
from stetho_signal.bands import Spectrum, smooth_resampled

__all__ = [
    "ANALYTIC_RATE_HZ",
    "ENVELOPE_RATE_HZ",
    "HEART_RATE_HZ",
    "SOUND_BAND_HZ",
    "CycleEstimate",
    "autocorrelation",
    "estimate_cycles",
    "expected_systole_s",
    "heart_envelope",
    "heart_envelopes",
    "periodicity_at",
    "searched_period",
    "slowest_rate_seen_bpm",
]

ENVELOPE_RATE_HZ = 100.0
"""Envelope sampling rate: 10 ms steps, well inside the +-60 ms scoring tolerance."""

SOUND_BAND_HZ = (25.0, 200.0)
"""S1/S2 band for segmentation: their energy is at 20-150 Hz, and stopping at 200 Hz keeps
breath, friction and murmur energy from swamping the beat (it found the rate on 5 of 5
trustworthy CirCor development recordings where 25-400 Hz found it on 3)."""

HEART_RATE_HZ = 1000.0
"""Rate of the heart bands: the heart band ends at 400 Hz, so 1 kHz holds it at a quarter of
the cost of 4 kHz."""
ANALYTIC_RATE_HZ = 500.0
"""Rate of the heart bands' analytic signals: with no negative frequencies, a complex series at
500 Hz holds everything up to 500 Hz, past the 400 Hz top of any heart band."""
MIN_RATE_BPM = 30.0
MAX_RATE_BPM = 220.0
MAX_LAG_SHARE = 0.6
"""The cycle search's longest lag as a share of the clip: a longer lag overlaps too little of
the clip with itself for its autocorrelation peak to mean a repeat."""
_SLOW_MARGIN = 1.05
MIN_INTERVALS_FOR_RATE = 2
"""Beat intervals a heart rate is read from (three S1s): one interval is not a rhythm."""
MIN_CLIP_FOR_SLOW_S = round(_SLOW_MARGIN * (MIN_INTERVALS_FOR_RATE + 1) * 60.0 / MIN_RATE_BPM, 6)
"""The shortest clip that holds :data:`MIN_INTERVALS_FOR_RATE` whole cycles of the slowest rate
searched wherever it opens (one cycle more, for a clip opening just after an S1), with the
search's 5 % margin: 6.3 s (docs/accuracy.md, twenty-seventh round)."""
_ENVELOPE_CUTOFF_HZ = 20.0
# Fraction of a recording's envelope samples trimmed from the top when normalising, so a
# single knock on the chest piece does not flatten every heart sound.
_NORMALISING_QUANTILE = 0.99
_AC_CAP_QUANTILE = 0.95
_REPEAT_CHECK_BELOW_S = 0.4
_REPEAT_FRACTION = 0.3
_ALTERNATIVES = 3
_FAST_SYSTOLE_CAP_S = 0.35


@dataclass(frozen=True)
class CycleEstimate:
    """Dominant cardiac cycle of a recording.

    Attributes
    ----------
    period_s : float
        S1-to-S1 interval in seconds.
    systole_s : float
        S1-to-S2 interval in seconds (at most half the period).
    periodicity : float
        Normalised autocorrelation at ``period_s``, 0..1: how clearly the sounds repeat.
    """

    period_s: float
    systole_s: float
    periodicity: float


def heart_envelope(
    spectrum: Spectrum, band_hz: tuple[float, float] = SOUND_BAND_HZ
) -> NDArray[np.float64]:
    """Homomorphic envelope of one band, sampled at :data:`ENVELOPE_RATE_HZ`.

    Parameters
    ----------
    spectrum : Spectrum
        The recording (any rate that :data:`ANALYTIC_RATE_HZ` and the envelope rate divide).
    band_hz : (float, float)
        Band in Hz; the default holds S1 and S2 (:data:`SOUND_BAND_HZ`).

    Returns
    -------
    envelope : ndarray, shape (ceil(duration_s * 100),)
        Non-negative envelope, scaled so its 99th percentile is 1; sample ``k`` is at
        ``k / ENVELOPE_RATE_HZ`` seconds.

    Notes
    -----
    The magnitude of the band's analytic signal at 500 Hz is smoothed in the log domain (a
    homomorphic envelope, as in Schmidt et al. 2010 and Springer et al. 2016) by a 20 Hz
    zero-phase low-pass, then sampled at 100 Hz.
    """
    env: NDArray[np.float64] = heart_envelopes(spectrum, (band_hz,))[0]
    return env


def heart_envelopes(
    spectrum: Spectrum, bands_hz: tuple[tuple[float, float], ...]
) -> NDArray[np.float64]:
    """:func:`heart_envelope` of each band, as the rows of one array.

    The bands' transforms run as one call each (the analytic signals, the smoothing's forward
    and inverse transforms): the same bits as one band at a time, row by row, with a third of
    the calls for the heart analysis's three bands, whose short recordings cost more in calls
    than in transforms.
    """
    magnitude = spectrum.envelopes(bands_hz, ANALYTIC_RATE_HZ)
    # Each row's floor as heart_envelope's own: a float32 a millionth of the row's peak.
    floors = [np.float32(max(peak * 1e-6, 1e-12)) for peak in np.max(magnitude, axis=-1).tolist()]
    # Three rows transformed as four: pocketfft transforms an array's rows four at a time, one
    # in each lane of a vector register (SciPy's SSE2 build), and a remainder one at a time, so
    # a fourth row (ones: its log is 0) makes the three rows' smoothing about a third cheaper
    # with the same bits in each (docs/accuracy.md, twentieth round).
    count = len(floors)
    shifted = np.ones((count + (count % 4 == 3), magnitude.shape[-1]), dtype=np.float32)
    # In place where the array is new: the same values, fewer temporaries.
    np.add(magnitude, np.array(floors, dtype=np.float32)[:, None], out=shifted[:count])
    log_env = smooth_resampled(
        np.log(shifted, out=shifted), ANALYTIC_RATE_HZ, _ENVELOPE_CUTOFF_HZ, ENVELOPE_RATE_HZ
    )
    env: NDArray[np.float64] = np.exp(spectrum.unpad(log_env[:count], ENVELOPE_RATE_HZ))
    for row in env:
        scale = quantile(row, _NORMALISING_QUANTILE)
        if scale > 0:
            row /= scale
    return env


def autocorrelation(env: NDArray[np.float64]) -> NDArray[np.float64]:
    """Biased autocorrelation along the last axis, normalised to 1 at lag 0 (FFT, zero-padded);
    all zeros for a constant series. Shared by the heart's cycle search and the lung's breath
    rate, which passes its four octaves as rows of one array (one transform call for all)."""
    centred = env - np.mean(env, axis=-1, keepdims=True)
    n = centred.shape[-1]
    # Zero-padded to a fast length of at least 2n - 1: no lag under n wraps around.
    length = fft.next_fast_len(2 * n - 1, real=True)
    spectrum = np.fft.rfft(centred, length, axis=-1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, length, axis=-1)[..., :n]
    lag0 = ac[..., :1]
    result: NDArray[np.float64] = np.divide(ac, lag0, out=np.zeros_like(ac), where=lag0 > 0)
    return result


def estimate_cycles(
    env: NDArray[np.float64], fs_hz: float = ENVELOPE_RATE_HZ
) -> list[CycleEstimate]:
    """Estimate the cardiac period and the systolic interval from an envelope.

    Returns the best estimate first, then other well-separated candidate periods for the
    segmentation to weigh (all carry the best estimate's periodicity); empty when the envelope
    is too short to hold a repeat at the lowest rate searched, or holds no repeating pattern.

    Notes
    -----
    The period is the highest autocorrelation peak between 60/220 and 60/30 s (limited to
    60 % of the recording). Guards follow the classic failures of this method: a short lag
    that does not repeat at twice itself is an S1-S2 interval, not a beat (double-rate
    error); a peak at half the lag that is nearly as high replaces it (the chosen lag skipped
    a beat: half-rate error); the systolic interval is searched near the physiological
    expectation (:func:`expected_systole_s`) and below half the period.
    """
    ac = _capped_autocorrelation(env)
    shortest, longest = _searched_span(fs_hz)
    min_lag = int(np.floor(shortest))
    max_lag = min(int(np.ceil(longest)), int(env.size * MAX_LAG_SHARE))
    if max_lag <= min_lag + 2:
        return []
    peaks = dsp.find_peaks(ac[: max_lag + 1])
    peaks = peaks[peaks >= min_lag]
    if peaks.size == 0:
        return []
    lag = _repeating_lag(ac, peaks, fs_hz)
    lag = _halve_if_skipped(ac, peaks, lag)
    # Alternatives for the segmentation to weigh: the next autocorrelation peaks, and half and
    # twice the chosen lag (an irregular rhythm blurs the true period's own peak).
    others = [int(p) for p in peaks[np.argsort(ac[peaks])[::-1]][:_ALTERNATIVES]]
    others += [lag // 2, 2 * lag]
    lags = [lag]
    for other in others:
        if min_lag <= other <= max_lag and all(abs(other - k) > 0.2 * k for k in lags):
            lags.append(other)
    return [
        CycleEstimate(
            period_s=k / fs_hz,
            systole_s=_systole_lag(ac, k, fs_hz) / fs_hz,
            periodicity=float(max(ac[lags[0]], 0.0)),
        )
        for k in lags
    ]


def periodicity_at(env: NDArray[np.float64], fs_hz: float, period_s: float) -> float:
    """How clearly an envelope repeats at one period, 0..1.

    Parameters
    ----------
    env : ndarray, shape (n,)
        Heart envelope at ``fs_hz``.
    fs_hz : float
        Envelope sample rate, Hz.
    period_s : float
        Period to score, seconds (rounded to the nearest sample).

    Notes
    -----
    The autocorrelation :func:`estimate_cycles` searches (loud artefacts capped), read at
    ``period_s`` rather than at its best lag: a cycle the segmentation derives carries the best
    lag's periodicity, not its own. 0 at or past the envelope's end, and where it anticorrelates.
    """
    lag = round(period_s * fs_hz)
    if not 0 < lag < env.size:
        return 0.0
    return float(max(_capped_autocorrelation(env)[lag], 0.0))


def _capped_autocorrelation(env: NDArray[np.float64]) -> NDArray[np.float64]:
    """The autocorrelation the cycle search reads, and :func:`periodicity_at` with it: the
    envelope capped at its 95th percentile first, since loud artefacts (a knock, a cry) would
    dominate it."""
    return autocorrelation(np.minimum(env, quantile(env, _AC_CAP_QUANTILE)))


def searched_period(period_s: float) -> bool:
    """Whether a cycle's period lies in the range :func:`estimate_cycles` searches.

    Parameters
    ----------
    period_s : float
        S1-to-S1 interval, seconds.

    Notes
    -----
    From 60/:data:`MAX_RATE_BPM` to 5 % past 60/:data:`MIN_RATE_BPM` seconds (0.273-2.1 s).
    A chain whose rate is past what the heart analysis shows is searched again over the cycle
    models in it: a chain at 255/min of split sounds and murmur peaks, read off the loud
    sounds alone, hid 49897_PV's heart made to beat at 170/min, and its rate was not shown
    (docs/accuracy.md, twenty-eighth round).
    """
    shortest_s, longest_s = _searched_span(1.0)
    return shortest_s <= period_s <= longest_s


def _searched_span(fs_hz: float) -> tuple[float, float]:
    """Shortest and longest period the cycle search reads, in samples at ``fs_hz`` (seconds at
    1 Hz): 60/:data:`MAX_RATE_BPM` to 5 % past 60/:data:`MIN_RATE_BPM` seconds, the margin so
    that a peak right at 30/min is still a local maximum. Keep the products' order: the lags
    are floored and ceiled from them, and another order can move a last bit (55 x 60 / 220 is
    15.0, 55 x (60 / 220) is 14.999999999999998, a lag shorter)."""
    return fs_hz * 60.0 / MAX_RATE_BPM, _SLOW_MARGIN * fs_hz * 60.0 / MIN_RATE_BPM


def slowest_rate_seen_bpm(clip_s: float) -> float:
    """The slowest heart rate a clip shows the whole cycles of, beats per minute.

    Parameters
    ----------
    clip_s : float
        Length of the clip's envelope, seconds (> 0).

    Notes
    -----
    A rate is read from :data:`MIN_INTERVALS_FOR_RATE` beat intervals; a clip that opens just
    after an S1 holds that many whole cycles only if it spans one cycle more, and the search
    needs 5 % beyond a period. Under :data:`MIN_CLIP_FOR_SLOW_S` a heart at
    :data:`MIN_RATE_BPM` may show one interval, and a multiple of its rate is read (30/min in
    3.5 s read 62.5/min). This bound lies past the search's own reach (:data:`MAX_LAG_SHARE`
    of the clip: 3.5 s for 30/min).
    """
    cycles = MIN_INTERVALS_FOR_RATE + 1
    return max(MIN_RATE_BPM, _SLOW_MARGIN * cycles * 60.0 / clip_s)


def _repeating_lag(ac: NDArray[np.float64], peaks: NDArray[np.intp], fs_hz: float) -> int:
    """Highest peak, unless it is short and does not repeat at twice its lag (double-rate guard).

    The S1-S2 interval (0.25-0.4 s) varies less than the beat interval, so in an irregular
    rhythm its autocorrelation peak can be the highest; unlike a true period it does not repeat
    at twice the lag. Real beat-to-beat variation also blurs the repeat of true periods, so the
    check only applies to lags under 0.4 s (rates over 150 bpm), where such a confusion is
    possible and real fast rhythms are regular enough to repeat.
    """
    order = peaks[np.argsort(ac[peaks])[::-1]]
    for lag in order.tolist():
        double = 2 * lag
        if lag >= _REPEAT_CHECK_BELOW_S * fs_hz or double + lag // 10 >= ac.size * 0.6:
            return int(lag)
        window = ac[double - lag // 10 : double + lag // 10 + 1]
        if float(np.max(window)) >= _REPEAT_FRACTION * float(ac[lag]):
            return int(lag)
    return int(order[0])


def _halve_if_skipped(ac: NDArray[np.float64], peaks: NDArray[np.intp], lag: int) -> int:
    """Half-rate guard: prefer a peak at ~lag/2 whose height is close to the chosen one."""
    half = peaks[np.abs(peaks - lag / 2.0) <= 0.05 * lag]
    if half.size == 0:
        return lag
    best_half = int(half[np.argmax(ac[half])])
    # A skipped beat leaves the half-lag peak as high as the full one once the linear decay of
    # the biased estimate is undone; S1-S2 repeats at lag/2 reach well under it.
    n = ac.size
    unbiased_half = ac[best_half] / (1.0 - best_half / n)
    unbiased_full = ac[lag] / (1.0 - lag / n)
    return best_half if unbiased_half >= 0.9 * unbiased_full else lag


def expected_systole_s(period_s: float) -> float:
    """Typical S1-S2 interval for a cycle length, seconds.

    Weissler's electromechanical systole QS2 = 546 - 2.1 HR ms (Weissler et al., Circulation
    37:149, 1968) less ~50 ms from Q to S1; at fast rates, where that line falls below
    physiology, at least 40 % of the cycle (but never more than 350 ms: at slow rates the
    diastole lengthens, not the systole).
    """
    rate_bpm = 60.0 / period_s
    return max(0.496 - 0.0021 * rate_bpm, min(0.4 * period_s, _FAST_SYSTOLE_CAP_S))


def _systole_lag(ac: NDArray[np.float64], period: int, fs_hz: float) -> int:
    """S1-S2 interval: the highest autocorrelation peak within +-30 % of the expected systole.

    The prior keeps a murmur that fills systole, or a split sound, from passing for S2; the
    upper bound is half the period (systole is the shorter phase).
    """
    expected = expected_systole_s(period / fs_hz) * fs_hz
    low = max(int(0.7 * expected), 1)
    high = min(int(np.ceil(1.3 * expected)), period // 2) + 1
    window = ac[low:high]
    if window.size == 0:
        return min(round(expected), max(period // 2, 1))
    # A maximum at the window's edge belongs to a lag outside it (S1 to a loud S3 at slow rates
    # lies ~40 % past the expected systole): the highest peak inside wins.
    inner = dsp.find_peaks(window)
    if inner.size:
        return low + int(inner[np.argmax(window[inner])])
    return low + int(np.argmax(window))
