"""Whether a fast heart rate is borne out by the recording: three measures the triage reads.

Heard through breathing as loud as the heart, a real child's heart at 130/min (CirCor 9983_MV)
was read at 200/min, and a faint heart under breath sounds at 210/min, both urgent
(docs/accuracy.md, thirteenth round): the chain of "sounds" mixed the heart's S1 and S2 with
breath bursts, or held breath sounds alone. A heart beating that fast repeats its envelope at
the read period, or, when its rhythm is irregular (atrial fibrillation repeats at no period),
its sounds stand out clearly; a chain of breath bursts does neither. And a rhythm read from
breath sounds is heard while the resident breathes, not through the whole recording. Nor do a
heart's beats step up and down in level from one to the next, as a chain does whose every
other "beat" is the background between a slower heart's sounds (twentieth round), and a
chain that counts breath sounds holds beats that barely stand above the sound between them
(thirty-fourth round).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy import fft

from stetho_common import dsp
from stetho_signal._stats import median, quantile
from stetho_signal.envelope import autocorrelation

__all__ = [
    "BEAT_PROMINENCE_MIN_BEATS",
    "BEAT_STEP_BAND_HZ",
    "BEAT_STEP_MIN_BEATS",
    "BEAT_STEP_RATE_HZ",
    "RUNNING_MEAN_S",
    "beat_levels",
    "beat_measures",
    "beat_prominence",
    "beat_span_share",
    "beat_step",
    "envelope_repeat",
]

RUNNING_MEAN_S = 0.5
"""The envelope is read relative to its own running mean over this span: longer than a heart
sound (80-140 ms) and than S1 to S2 at any rate, far shorter than a breath (2 s or more at
30/min), so the mean follows the breathing's swell and not the beats. Without it the swell
dominates the autocorrelation at every short lag (0.69 at 210/min for breath sounds over a
faint heart, docs/accuracy.md, thirteenth round); 1 s was measured too and kept the swell in."""
_LAG_REACH_S = 0.02  # the read period is a median of beat intervals: +-20 ms, two envelope steps


def envelope_repeat(env: NDArray[np.float64], fs_hz: float, period_s: float) -> float | None:
    """How well the envelope repeats at ``period_s``: the autocorrelation of the envelope over
    its running mean, at that lag (the highest within +-20 ms).

    Parameters
    ----------
    env : ndarray, shape (m,)
        Heart-band envelope (:func:`stetho_signal.envelope.heart_envelope`), positive.
    fs_hz : float
        Its sampling rate, Hz.
    period_s : float
        The read heart period, seconds.

    Returns
    -------
    float or None
        -1..1 (dimensionless): near 1 when every beat looks like the one a period before, near
        0 when nothing repeats at that period; None when the recording holds under two periods.

    Notes
    -----
    The envelope over its centred running mean (:data:`RUNNING_MEAN_S`; at the recording's ends,
    the mean of the samples there are), less 1, has the breathing's slow swell taken out: a
    faint heart's beats in the quiet between breaths count as much as a loud one's. Its biased
    autocorrelation (:func:`stetho_signal.envelope.autocorrelation`), normalised to 1 at lag 0.
    """
    lag = round(period_s * fs_hz)
    reach = round(_LAG_REACH_S * fs_hz)
    if lag < 1 or 2 * (lag + reach) >= env.size:
        return None
    width = max(round(RUNNING_MEAN_S * fs_hz), 1)
    running = np.concatenate(([0.0], np.cumsum(env)))
    index = np.arange(env.size)
    start = np.maximum(index - width // 2, 0)
    end = np.minimum(index + width - width // 2, env.size)
    mean = (running[end] - running[start]) / (end - start)
    relative = np.divide(env, mean, out=np.ones_like(env), where=mean > 0) - 1.0
    ac = autocorrelation(relative)
    return round(float(np.max(ac[max(lag - reach, 1) : lag + reach + 1])), 3)


def beat_span_share(intervals_s: NDArray[np.float64], duration_s: float) -> float | None:
    """The share of the recording the beat intervals a rate stands on span (0..1 and a little
    over for intervals that overlap a short recording's ends; None without intervals).

    A heart beats through the whole recording; a rhythm read from breath sounds is heard while
    the resident breathes in and out, and its chain restarts after each pause.
    """
    if intervals_s.size == 0 or duration_s <= 0:
        return None
    return round(float(np.sum(intervals_s)) / duration_s, 3)


BEAT_STEP_BAND_HZ = (25.0, 150.0)
"""Where S1 and S2 carry most of their energy (DOMAIN.md): the band the step was measured in
(docs/accuracy.md, twentieth round), not the chain's 25-200 Hz one, whose version of the step
lost two true fast hearts when one patient was left out."""
BEAT_STEP_RATE_HZ = 50.0
"""The envelope's step, 20 ms: a heart sound lasts 80-140 ms."""
BEAT_STEP_MIN_BEATS = 8
"""Fewer S1s than this give no step (the median of under seven steps is too loose)."""
_BEAT_HALF_S = 0.05  # a beat's level: the highest envelope within 50 ms of its S1


@functools.lru_cache(maxsize=8)
def _heart_sos(fs_hz: float) -> NDArray[np.float64]:
    """The 4th-order 25-150 Hz Butterworth band-pass as second-order sections, the upper edge
    capped at 0.45 of the rate (read-only: shared by the cache; design costs as much as the
    filtering)."""
    high = min(BEAT_STEP_BAND_HZ[1], 0.45 * fs_hz)
    sos = dsp.butter_bandpass_sos(4, (BEAT_STEP_BAND_HZ[0], high), fs_hz)
    sos.flags.writeable = False
    return sos


def beat_step(x: NDArray[np.float64], fs_hz: float, s1_s: tuple[float, ...]) -> float | None:
    """How much the level steps from one beat to the next: the median absolute difference of
    successive S1s' log heart-band level, nepers.

    Parameters
    ----------
    x : ndarray, shape (n,)
        The recording, any full scale (the step is a ratio), mains hum left in.
    fs_hz : float
        Its sampling rate, Hz, a multiple of :data:`BEAT_STEP_RATE_HZ` (the analysis's 4 kHz).
    s1_s : tuple of float
        The chain's S1 times, seconds from the start.

    Returns
    -------
    float or None
        0 for beats of equal level, ln 2 (0.693) when each beat is half or twice the one
        before; None under :data:`BEAT_STEP_MIN_BEATS` S1s inside the recording.

    Notes
    -----
    The recording less its mean, band-passed forward and backward (4th-order Butterworth,
    :data:`BEAT_STEP_BAND_HZ`), the magnitude of its analytic signal averaged over blocks of
    :data:`BEAT_STEP_RATE_HZ`; each S1's level :func:`beat_levels`. Exactly ``beat_step`` of
    ``bench/_breath_rhythm.py``, where the bound was placed: false fast reads the other rules
    left urgent step by a median 0.56 nepers (1.7 times), true reads by 0.16
    (docs/accuracy.md, twentieth round).
    """
    return beat_measures(x, fs_hz, s1_s, ())[0]


BEAT_PROMINENCE_MIN_BEATS = 4
"""Fewer S1s than this give no prominence (a quartile of three beats is one of them)."""
_SOUND_REACH_S = 0.06  # the level between sounds: blocks further than this from every sound
_FAINT_QUANTILE = 0.25  # a quarter of the beats


def beat_measures(
    x: NDArray[np.float64], fs_hz: float, s1_s: tuple[float, ...], s2_s: tuple[float, ...]
) -> tuple[float | None, float | None]:
    """:func:`beat_step` and :func:`beat_prominence` from one heart-band envelope of ``x``
    (their shared filtering costs more than either measure); None each where it cannot tell."""
    step = round(fs_hz / BEAT_STEP_RATE_HZ)
    blocks = x.size // step
    times = _inside(np.asarray(s1_s), blocks)
    if times.size < min(BEAT_STEP_MIN_BEATS, BEAT_PROMINENCE_MIN_BEATS):
        return None, None
    # stetho_common.dsp's filter, SciPy's bit for bit: importing scipy.signal would cost the
    # agent ~48 MiB (issue 13). A copy of the sections: the compiled filter wants them
    # writable, and the cached ones are shared.
    band = dsp.sosfiltfilt(_heart_sos(float(fs_hz)).copy(), x - np.mean(x))
    env = _analytic_magnitude(band)[: blocks * step].reshape(blocks, step).mean(axis=1)
    levels = beat_levels(env, times)
    beat_step_ = None
    if times.size >= BEAT_STEP_MIN_BEATS:
        logs = np.log(np.maximum(levels, 1e-12))
        beat_step_ = round(float(np.median(np.abs(np.diff(logs)))), 3)
    return beat_step_, beat_prominence(env, levels, times, _inside(np.asarray(s2_s), blocks))


def _inside(times_s: NDArray[np.float64], blocks: int) -> NDArray[np.float64]:
    """The times inside an envelope of ``blocks`` blocks at :data:`BEAT_STEP_RATE_HZ`."""
    return times_s[(times_s >= 0) & (times_s * BEAT_STEP_RATE_HZ < blocks)]


def beat_prominence(
    env: NDArray[np.float64],
    s1_levels: NDArray[np.float64],
    s1_s: NDArray[np.float64],
    s2_s: NDArray[np.float64],
) -> float | None:
    """How far the chain's fainter beats stand above the sound between them: the 25th centile
    of the S1s' levels over the median level between sounds (dimensionless).

    Parameters
    ----------
    env : ndarray, shape (m,)
        The heart-band envelope at :data:`BEAT_STEP_RATE_HZ` (as :func:`beat_step` makes it).
    s1_levels : ndarray, shape (k,)
        Each S1's level (:func:`beat_levels`).
    s1_s, s2_s : ndarray
        The labelled S1 and S2 times inside the envelope, s.

    Returns
    -------
    float or None
        1 when a quarter of the beats are no louder than the sound between them; clear hearts
        10 and over. None under :data:`BEAT_PROMINENCE_MIN_BEATS` S1s or with no block further
        than 60 ms from every sound.

    Notes
    -----
    Between the sounds of a clearly heard heart lies little in its band; under loud breath
    the breath fills it, and a chain that counts breath bursts as beats holds beats no louder
    than that. A quartile, not the median: a chain mixing the heart's own sounds with breath
    bursts has its loud beats from the heart. False fast reads left urgent by the other rules
    read 3.4 (old sets) and 2.2 (low-band breath), true urgent reads 9.5 (docs/accuracy.md,
    thirty-fourth round).
    """
    if s1_s.size < BEAT_PROMINENCE_MIN_BEATS:
        return None
    t = np.arange(env.size) / BEAT_STEP_RATE_HZ
    sounds = np.sort(np.concatenate([s1_s, s2_s]))
    # Each block's distance to its nearest sound: the sounds either side of it.
    right = np.minimum(np.searchsorted(sounds, t), sounds.size - 1)
    left = np.maximum(right - 1, 0)
    nearest = np.minimum(np.abs(t - sounds[left]), np.abs(t - sounds[right]))
    between = env[nearest > _SOUND_REACH_S]
    floor = median(between) if between.size else 0.0
    if not floor > 0:
        return None
    return round(quantile(s1_levels, _FAINT_QUANTILE) / floor, 3)


def _analytic_magnitude(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``abs(scipy.signal.hilbert(x))`` of a real 1-D ``x``, to rounding (1e-15 of its peak),
    by two real transforms instead of two complex ones.

    Notes
    -----
    The analytic signal is ``x + i H(x)``: its real part is ``x`` itself, its imaginary part
    the Hilbert transform, whose spectrum is ``-i sign(f) X(f)``, zero at 0 Hz and at an even
    length's Nyquist frequency. Those two bins of ``-i X`` are imaginary, and a real inverse
    transform reads only their real parts: no bin needs zeroing. SciPy's ``hilbert`` gets
    both parts from one complex inverse transform of the doubled positive frequencies; at the
    recording's own length, whose large prime factors (127, 137) pocketfft's complex
    transforms handle slowly, the complex pair cost 15-25 ms a long recording, a real
    transform each way about a fifth of that (docs/accuracy.md, twenty-first round).
    """
    bins = fft.rfft(x)
    bins *= -1j
    # sqrt(H**2 + x**2) in place: NumPy's complex abs (hypot) costs three times as much.
    magnitude: NDArray[np.float64] = fft.irfft(bins, x.size, overwrite_x=True)
    np.square(magnitude, out=magnitude)
    magnitude += np.square(x)
    return np.sqrt(magnitude, out=magnitude)


def beat_levels(env: NDArray[np.float64], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each beat's level: the highest of ``env`` (at :data:`BEAT_STEP_RATE_HZ`) within 50 ms
    of its time, the time's block taken as the last one when it rounds past it (``times_s``
    from 0 to the envelope's end)."""
    half = round(_BEAT_HALF_S * BEAT_STEP_RATE_HZ)
    idx = np.minimum(np.round(times_s * BEAT_STEP_RATE_HZ).astype(np.intp), env.size - 1)
    rows = np.minimum(np.maximum(idx[:, None] + np.arange(-half, half + 1), 0), env.size - 1)
    levels: NDArray[np.float64] = env[rows].max(axis=1)
    return levels
