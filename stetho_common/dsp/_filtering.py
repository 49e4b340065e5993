"""Second-order-section filtering over SciPy's compiled ``_sosfilt`` kernel.

``sosfilt``, ``sosfiltfilt`` and ``sosfilt_zi`` repeat the steps of SciPy 1.17's
(``scipy/signal/_signaltools.py``) for one-dimensional input, so the output is bit-identical;
``tests/stetho_common/test_dsp.py`` compares them with ``scipy.signal``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stetho_common.dsp import _kernels

__all__ = ["sosfilt", "sosfilt_zi", "sosfiltfilt"]

Float = NDArray[np.float64]


def _checked_sos(sos: ArrayLike) -> Float:
    array = np.atleast_2d(np.asarray(sos))
    if array.ndim != 2 or array.shape[1] != 6:
        raise ValueError(f"sos must have shape (n_sections, 6), got {array.shape}")
    if not np.all(array[:, 3] == 1):
        raise ValueError("sos[:, 3] must be all ones")
    return array


def _checked_x(x: ArrayLike) -> NDArray[np.floating]:
    array = np.asarray(x)
    if array.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {array.shape}")
    return array


def sosfilt(sos: ArrayLike, x: ArrayLike, zi: ArrayLike | None = None) -> tuple[Float, Float]:
    """Filter `x` through the cascade `sos`, starting from state `zi` (rest when None).

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections, ``sos[:, 3] == 1``.
    x : ndarray, shape (n,)
        Samples, any unit.
    zi : ndarray, shape (n_sections, 2), optional
        Each section's delay state (direct form II transposed).

    Returns
    -------
    y, zf : ndarray, shapes (n,) and (n_sections, 2)
        The filtered samples and the final state, to carry into the next block.
    """
    data = _checked_x(x)
    sections = _checked_sos(sos)
    n_sections = sections.shape[0]
    inputs = [sections, data] if zi is None else [sections, data, np.asarray(zi)]
    dtype = np.result_type(*inputs)
    if dtype.char not in "fdgFDG":
        raise ValueError(f"input type {dtype} is not supported")
    if zi is None:
        state = np.zeros((n_sections, 2), dtype=dtype)
    else:
        state = np.array(zi, dtype=dtype)  # a copy: the kernel works in place
        if state.shape != (n_sections, 2):
            raise ValueError(f"zi must have shape {(n_sections, 2)}, got {state.shape}")
    out = np.array(np.reshape(data, (1, -1)), dtype, order="C")
    state = np.ascontiguousarray(np.reshape(state, (1, n_sections, 2)))
    _kernels.sosfilt._sosfilt(sections.astype(dtype, copy=False), out, state)
    return out.reshape(data.shape), state.reshape(n_sections, 2)


def sosfilt_zi(sos: ArrayLike) -> Float:
    """The state that makes the cascade's step response start at steady state.

    Returns
    -------
    zi : ndarray, shape (n_sections, 2)
        Multiply by the first sample to start a filter without a transient.
    """
    sections = np.asarray(sos)
    if sections.ndim != 2 or sections.shape[1] != 6:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sections.shape}")
    if np.issubdtype(sections.dtype, np.integer) or sections.dtype == np.bool_:
        sections = sections.astype(np.float64)
    zi = np.empty((sections.shape[0], 2), dtype=sections.dtype)
    scale = 1.0
    for i in range(sections.shape[0]):
        b = sections[i, :3]
        a = sections[i, 3:]
        zi[i, ...] = scale * _lfilter_zi(b, a)
        # b.sum() / a.sum() is the section's gain at 0 Hz: its step response's final value.
        scale *= np.sum(b) / np.sum(a)
    return zi


def _lfilter_zi(b: Float, a: Float) -> Float:
    """SciPy's ``lfilter_zi`` for one section: solve ``zi = A zi + B`` (companion form)."""
    while a.shape[0] > 1 and a[0] == 0.0:
        a = a[1:]
    if a[0] == 0.0:  # as SciPy: dividing by it would give infinities or NaN
        raise ValueError("the denominator has no nonzero coefficient")
    if a[0] != 1.0:
        b = b / a[0]
        a = a / a[0]
    n = max(a.shape[0], b.shape[0])
    if a.shape[0] < n:
        a = np.concatenate((a, np.zeros(n - a.shape[0], dtype=a.dtype)))
    elif b.shape[0] < n:
        b = np.concatenate((b, np.zeros(n - b.shape[0], dtype=b.dtype)))
    companion = np.zeros((n - 1, n - 1), dtype=(-a[1:] / (1.0 * a[0:1])).dtype)
    companion[0, :] = -a[1:] / (1.0 * a[0:1])
    companion[np.arange(1, n - 1), np.arange(0, n - 2)] = 1
    i_minus_a = np.asarray(np.eye(n - 1) - companion.T, dtype=np.result_type(a, b))
    zi: Float = np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
    return zi


def sosfiltfilt(sos: ArrayLike, x: ArrayLike, padlen: int | None = None) -> Float:
    """Zero-phase forward-backward filtering with odd extension at both ends.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections.
    x : ndarray, shape (n,)
        Samples; ``n`` must exceed the padding.
    padlen : int, optional
        Samples mirrored at each end; SciPy's default ``3 * ntaps`` when None.

    Returns
    -------
    y : ndarray, shape (n,)
        ``scipy.signal.sosfiltfilt(sos, x, padlen=padlen)``.
    """
    sections = _checked_sos(sos)
    data = _checked_x(x)
    n_sections = sections.shape[0]
    ntaps = 2 * n_sections + 1
    ntaps -= min((sections[:, 2] == 0).sum(), (sections[:, 5] == 0).sum())
    edge = ntaps * 3 if padlen is None else padlen
    if data.shape[0] <= edge:
        raise ValueError(f"x must be longer than padlen, which is {edge}")
    ext = _odd_ext(data, edge) if edge > 0 else data
    zi = sosfilt_zi(sections)
    y, _ = sosfilt(sections, ext, zi=zi * ext[0:1])
    y, _ = sosfilt(sections, y[::-1], zi=zi * y[-1:])
    y = y[::-1]
    if edge > 0:
        y = y[edge:-edge]
    return y


def _odd_ext(x: NDArray[np.floating], n: int) -> Float:
    """Mirror `n` samples about each end (point symmetry), as SciPy's ``odd_ext``."""
    if n > x.shape[0] - 1:
        raise ValueError(f"extension length {n} exceeds len(x) - 1 = {x.shape[0] - 1}")
    left = 2 * x[0:1] - x[n:0:-1]
    right = 2 * x[-1:] - x[-2 : -(n + 2) : -1]
    ext: Float = np.concatenate((left, x, right))
    return ext
