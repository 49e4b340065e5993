"""The analytic signal, as ``scipy.signal.hilbert`` makes it, without importing scipy.signal."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft

__all__ = ["hilbert"]


def hilbert(x: ArrayLike) -> NDArray[np.complexfloating]:
    """The analytic signal of a real 1-D ``x``: ``x + i H(x)``, ``H`` the Hilbert transform.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Real samples, ``n >= 1``.

    Returns
    -------
    xa : ndarray, shape (n,)
        ``scipy.signal.hilbert(x)``, bit for bit: SciPy's own steps on ``scipy.fft``'s
        transforms (positive frequencies doubled, negative ones zeroed).
    """
    data = np.asarray(x)
    if data.ndim != 1 or data.size == 0 or np.iscomplexobj(data):
        raise ValueError(f"x must be real, 1-D and not empty, got shape {data.shape}")
    n = data.size
    spectrum = fft.fft(data, n)
    half = (n + 1) // 2  # the positive frequencies end here; an even n keeps its Nyquist bin
    spectrum[1:half] *= 2.0
    spectrum[n // 2 + 1 :] = 0.0
    analytic: NDArray[np.complexfloating] = fft.ifft(spectrum)
    return analytic
