"""Whether a recording as heard is dominated by breath: ``heard_share`` (docs/accuracy.md,
twenty-eighth round), measured by bench.fast_read_probe on every fast read.

A heart's sounds are pulses at its rate (2.2 Hz and over in the urgent high band), so their
loudness varies at that rate; breath swells and fades with each breath, 6-60/min. The share of
the recording's loudness variation at 0.1-1 Hz says which of the two owns the sound. Measured
on the linear 25-1000 Hz magnitude, loudness as the stethoscope hears it, not on the analysis's
log-smoothed envelope (the round's first measure, which compresses the breath's swell).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = ["BAND_HZ", "BLOCK_HZ", "RHYTHM_HZ", "heard_share", "rhythm_share"]

BAND_HZ = (25.0, 1000.0)
BLOCK_HZ = 100.0
RHYTHM_HZ = (0.1, 1.0)


def rhythm_share(series: NDArray[np.float64], rate_hz: float) -> float | None:
    """Power at :data:`RHYTHM_HZ` over power from its lower edge up (Hann-windowed periodogram
    of the series less its mean); None without a bin in the rhythm or any variation."""
    low, high = RHYTHM_HZ
    power = np.abs(np.fft.rfft((series - np.mean(series)) * np.hanning(series.size))) ** 2
    freqs = np.fft.rfftfreq(series.size, 1.0 / rate_hz)
    above = freqs >= low
    rhythm = above & (freqs <= high)
    total = float(np.sum(power[above]))
    if not np.any(rhythm) or not total > 0:
        return None
    return round(float(np.sum(power[rhythm])) / total, 3)


def heard_share(x: NDArray[np.float64], fs_hz: float) -> float | None:
    """:func:`rhythm_share` of the recording's 25-1000 Hz magnitude (4th-order Butterworth
    forward and backward, the band's top capped at 0.45 of the rate; the analytic signal's
    magnitude averaged over blocks of 1 / :data:`BLOCK_HZ` s)."""
    top = min(BAND_HZ[1], 0.45 * fs_hz)
    sos = signal.butter(4, (BAND_HZ[0], top), "bandpass", fs=fs_hz, output="sos")
    magnitude = np.abs(signal.hilbert(signal.sosfiltfilt(sos, x - np.mean(x))))
    step = round(fs_hz / BLOCK_HZ)
    blocks = magnitude.size // step
    if blocks < 2:
        return None
    loudness = magnitude[: blocks * step].reshape(blocks, step).mean(axis=1)
    return rhythm_share(loudness, fs_hz / step)
