"""Whether a fast heart rate is borne out by the recording: two measures the triage reads.

Heard through breathing as loud as the heart, a real child's heart at 130/min (CirCor 9983_MV)
was read at 200/min, and a faint heart under breath sounds at 210/min, both urgent
(docs/accuracy.md, thirteenth round): the chain of "sounds" mixed the heart's S1 and S2 with
breath bursts, or held breath sounds alone. A heart beating that fast repeats its envelope at
the read period, or, when its rhythm is irregular (atrial fibrillation repeats at no period),
its sounds stand out clearly; a chain of breath bursts does neither. And a rhythm read from
breath sounds is heard while the resident breathes, not through the whole recording.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_signal.envelope import autocorrelation

__all__ = ["RUNNING_MEAN_S", "beat_span_share", "envelope_repeat"]

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
