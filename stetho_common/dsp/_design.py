"""Butterworth band-pass design as second-order sections, as ``scipy.signal.butter`` computes it.

The steps and the order of every floating-point operation follow SciPy 1.17
(``iirfilter`` > ``buttap`` > ``lp2bp_zpk`` > ``bilinear_zpk`` > ``zpk2sos`` with "nearest"
pairing), so the coefficients are bit-identical; ``tests/stetho_common/test_dsp.py`` checks
that against ``scipy.signal.butter`` over the orders, bands and rates in use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["butter_bandpass_sos"]

Complex = NDArray[np.complex128]


def butter_bandpass_sos(
    order: int, band_hz: tuple[float, float], fs_hz: float
) -> NDArray[np.float64]:
    """Second-order sections of a digital Butterworth band-pass.

    Parameters
    ----------
    order : int
        Order of the low-pass prototype (the band-pass has ``2 * order`` poles).
    band_hz : (float, float)
        Lower and upper -3 dB edges in Hz, ``0 < low < high < fs_hz / 2``.
    fs_hz : float
        Sampling rate in Hz.

    Returns
    -------
    sos : ndarray, shape (order, 6)
        ``scipy.signal.butter(order, band_hz, "bandpass", fs=fs_hz, output="sos")``.
    """
    if order < 1 or int(order) != order:
        raise ValueError(f"filter order must be a positive integer, got {order}")
    fs = float(fs_hz)
    wn = np.asarray(band_hz, dtype=np.float64) / (fs / 2)
    if wn.shape != (2,) or not (0 < wn[0] < wn[1] < 1):
        raise ValueError(f"band edges must satisfy 0 < low < high < fs/2, got {band_hz} at {fs}")
    # Pre-warp the edges for the bilinear transform at fs = 2 (normalised frequency).
    warped = 2 * 2.0 * np.tan(np.pi * wn / 2.0)
    bw = float(warped[1] - warped[0])
    wo = float(np.sqrt(warped[0] * warped[1]))
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    poles = -np.exp(1j * np.pi * m / (2 * order))
    z, p, k = _lowpass_to_bandpass(np.asarray([], dtype=np.complex128), poles, 1.0, wo, bw)
    z, p, gain = _bilinear(z, p, k, 2.0)
    return _zpk2sos(z, p, gain)


def _lowpass_to_bandpass(
    z: Complex, p: Complex, k: float, wo: float, bw: float
) -> tuple[Complex, Complex, float]:
    degree = p.shape[0] - z.shape[0]
    z_lp = (z * bw / 2).astype(np.complex128)
    p_lp = (p * bw / 2).astype(np.complex128)
    z_bp = np.concatenate((z_lp + np.sqrt(z_lp**2 - wo**2), z_lp - np.sqrt(z_lp**2 - wo**2)))
    p_bp = np.concatenate((p_lp + np.sqrt(p_lp**2 - wo**2), p_lp - np.sqrt(p_lp**2 - wo**2)))
    z_bp = np.concatenate((z_bp, np.zeros(degree)))
    return z_bp, p_bp, k * bw**degree


def _bilinear(z: Complex, p: Complex, k: float, fs: float) -> tuple[Complex, Complex, Any]:
    degree = p.shape[0] - z.shape[0]
    fs2 = 2.0 * fs
    z_z = np.concatenate(((fs2 + z) / (fs2 - z), -np.ones(degree)))
    p_z = (fs2 + p) / (fs2 - p)
    return z_z, p_z, k * np.real(np.prod(fs2 - z) / np.prod(fs2 - p))


def _zpk2sos(z: Complex, p: Complex, k: Any) -> NDArray[np.float64]:
    """SciPy's ``zpk2sos`` for a digital filter, "nearest" pairing: the poles nearest the unit
    circle go last, each paired with its nearest zeros."""
    k = np.asarray(k)
    p = np.concatenate((p, np.zeros(max(len(z) - len(p), 0))))
    z = np.concatenate((z, np.zeros(max(len(p) - len(z), 0))))
    n_sections = (max(len(p), len(z)) + 1) // 2
    if len(p) % 2 == 1:
        p = np.concatenate((p, [0.0]))
        z = np.concatenate((z, [0.0]))
    z = np.concatenate(_cplxreal(z))
    p = np.concatenate(_cplxreal(p))
    sos = np.zeros((n_sections, 6))
    # SciPy's two special cases (a last real pole alone; a complex pole that must take a complex
    # zero) need an odd number of real poles or real zeros left. Padded to an even length as
    # here, with complex values in conjugate pairs, both counts are even and stay so (each
    # section takes two poles and two zeros), so "nearest" pairing never reaches them.
    for si in range(n_sections - 1, -1, -1):
        p1_idx = _worst(p)
        p1 = p[p1_idx]
        p = np.delete(p, p1_idx)
        sos[si], p, z = _pair(p1, p, z)
    sos[0][:3] *= k.real
    return sos


def _worst(p: Complex) -> Any:
    """The pole nearest the unit circle."""
    return np.argmin(np.abs(1 - np.abs(p)))


def _pair(p1: Any, p: Complex, z: Complex) -> tuple[NDArray[np.float64], Complex, Complex]:
    if np.isreal(p1):
        prealidx = np.flatnonzero(np.isreal(p))
        p2_idx = prealidx[_worst(p[prealidx])]
        p2 = p[p2_idx]
        p = np.delete(p, p2_idx)
    else:
        p2 = p1.conj()
    # As many zeros as poles are left, real ones in pairs (see _zpk2sos): SciPy's branches for
    # no zero, or one real zero, left are never taken here.
    z1_idx = _nearest(z, p1, "any")
    z1 = z[z1_idx]
    z = np.delete(z, z1_idx)
    if not np.isreal(z1):
        return _section([z1, z1.conj()], [p1, p2]), p, z
    z2_idx = _nearest(z, p1, "real")
    z2 = z[z2_idx]
    z = np.delete(z, z2_idx)
    return _section([z1, z2], [p1, p2]), p, z


def _cplxreal(z: Complex) -> tuple[Any, Any]:
    """Conjugate pairs (one of each, positive imaginary part) and the real values, sorted."""
    if z.size == 0:
        return z, z
    tol = 100 * np.finfo(np.float64).eps  # SciPy takes the eps of (1.0 * z).dtype: float64
    z = z[np.lexsort((abs(z.imag), z.real))]
    real_indices = abs(z.imag) <= tol * abs(z)
    zr = z[real_indices].real
    if len(zr) == len(z):
        return np.array([]), zr
    z = z[~real_indices]
    zp = z[z.imag > 0]
    zn = z[z.imag < 0]
    if len(zp) != len(zn):
        raise ValueError("a complex value has no matching conjugate")
    same_real = np.diff(zp.real) <= tol * abs(zp[:-1])
    diffs = np.diff(np.concatenate(([0], same_real, [0])))
    for start, stop in zip(np.nonzero(diffs > 0)[0], np.nonzero(diffs < 0)[0] + 1, strict=True):
        for chunk in (zp[start:stop], zn[start:stop]):
            chunk[...] = chunk[np.lexsort([abs(chunk.imag)])]
    if any(abs(zp - zn.conj()) > tol * abs(zn)):
        raise ValueError("a complex value has no matching conjugate")
    return (zp + zn.conj()) / 2, zr


def _nearest(fro: Complex, to: Any, which: str) -> Any:
    order = np.argsort(np.abs(fro - to))
    if which == "any":
        return order[0]
    mask = np.isreal(fro[order])
    if which == "complex":
        mask = ~mask
    return order[np.nonzero(mask)[0][0]]


def _poly(zeros: list[Any]) -> NDArray[Any]:
    roots = np.asarray(zeros)
    if roots.shape[0] == 0:
        return np.asarray(1.0, dtype=np.real(roots).dtype)
    a = np.ones((1,), dtype=roots.dtype)
    one = np.ones_like(roots[0])
    for zero in roots:
        a = np.convolve(a, np.stack((one, -zero)), mode="full")
    if np.iscomplexobj(a):
        as_complex = np.asarray(roots, dtype=np.complex128)
        if np.all(np.sort(np.imag(as_complex)) == np.sort(np.imag(np.conj(as_complex)))):
            a = np.asarray(np.real(a), copy=True)
    return a


def _section(z: list[Any], p: list[Any]) -> NDArray[np.float64]:
    """One section with unit gain (SciPy's ``_single_zpksos``)."""
    sos = np.zeros(6)
    b = np.atleast_1d(np.multiply(np.ones(1), _poly(z)))
    a = np.atleast_1d(_poly(p))
    sos[3 - len(b) : 3] = b
    sos[6 - len(a) : 6] = a
    return sos
