"""Whether a read chain's sounds are heart sounds, beat by beat: the nineteenth round's measures.

Heart sounds carry most of their power at 20-150 Hz (DOMAIN.md), breath sounds at 100-1000 Hz.
A chain read too fast holds sounds that are not the heart's (breath bursts, or S1 and S2 both
counted as beats); these measures compare each sound's spectrum with the recording's background
between sounds and with its neighbours in the chain. Measured by bench.fast_read_probe only.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

SOUND_HALF_S = 0.05  # a heart sound lasts 80-140 ms: 100 ms centred on the labelled time
LOW_HZ = (25.0, 150.0)  # S1 and S2 (DOMAIN.md)
ALL_HZ = (25.0, 1000.0)  # breath sounds reach 1 kHz
LIKENESS_HZ = (25.0, 600.0)


def _spectrum(x: np.ndarray, fs: float, t: float) -> np.ndarray | None:
    half = round(SOUND_HALF_S * fs)
    at = round(t * fs)
    if at - half < 0 or at + half > x.size:
        return None
    seg = x[at - half : at + half]
    seg = (seg - np.mean(seg)) * np.hanning(seg.size)
    return np.abs(np.fft.rfft(seg)) ** 2


def _band(p: np.ndarray, f: np.ndarray, band: tuple[float, float]) -> float:
    return float(np.sum(p[(f >= band[0]) & (f <= band[1])]))


def _low_share(p: np.ndarray, f: np.ndarray) -> float:
    whole = _band(p, f, ALL_HZ)
    return _band(p, f, LOW_HZ) / whole if whole > 0 else 0.0


def _centroid(p: np.ndarray, f: np.ndarray) -> float:
    keep = (f >= ALL_HZ[0]) & (f <= ALL_HZ[1])
    whole = float(np.sum(p[keep]))
    return float(np.sum(p[keep] * f[keep]) / whole) if whole > 0 else 0.0


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def beat_spectra(
    x: np.ndarray, fs: float, s1_s: tuple[float, ...], s2_s: tuple[float, ...]
) -> dict[str, Any]:
    """The measures on one read chain (None each when the chain or its gaps are too short).

    - ``low_share_s1`` / ``low_share_background``: median share of 25-1000 Hz power at
      25-150 Hz in the chain's S1s and in 100 ms windows halfway between successive sounds;
      ``low_excess`` their difference (a heart sound is lower-pitched than breath between).
    - ``weaker_half_excess``: the S1s taken alternately (the beats a half-rate chain keeps and
      those it drops), the lower of the two halves' median low share, less the background's:
      near the background when every other "beat" is a breath burst.
    - ``half_gap``: the two halves' median low shares apart.
    - ``centroid_alternation``: the halves' median spectral centroids apart over the chain's
      (S1 and S2 both counted as beats alternate in pitch).
    - ``alternate_likeness``: median correlation of the log spectra (25-600 Hz) of S1s two
      apart less that of successive S1s (about 0 when every beat is alike).
    - ``heartlike_s1``: the share of S1s whose low share is over halfway from the
      background's to 1.
    """
    n = 2 * round(SOUND_HALF_S * fs)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    s1 = [(t, p) for t in s1_s if (p := _spectrum(x, fs, t)) is not None]
    sounds = sorted([*s1_s, *s2_s])
    gaps = [
        p
        for a, b in itertools.pairwise(sounds)
        if b - a >= 4 * SOUND_HALF_S and (p := _spectrum(x, fs, (a + b) / 2)) is not None
    ]
    out: dict[str, Any] = dict.fromkeys(
        ("low_share_s1", "low_share_background", "low_excess", "weaker_half_excess",
         "half_gap", "centroid_alternation", "alternate_likeness", "heartlike_s1"),
    )  # fmt: skip
    if len(s1) < 4:
        return out
    shares = np.array([_low_share(p, f) for _, p in s1])
    cents = np.array([_centroid(p, f) for _, p in s1])
    out["low_share_s1"] = round(float(np.median(shares)), 3)
    even, odd = shares[0::2], shares[1::2]
    out["half_gap"] = round(abs(float(np.median(even) - np.median(odd))), 3)
    centre = float(np.median(cents))
    alternation = abs(float(np.median(cents[0::2]) - np.median(cents[1::2])))
    out["centroid_alternation"] = round(alternation / centre, 3) if centre > 0 else None
    keep = (f >= LIKENESS_HZ[0]) & (f <= LIKENESS_HZ[1])
    logs = [np.log(p[keep] + 1e-20) for _, p in s1]
    if len(logs) >= 5:
        step1 = np.median([_likeness(a, b) for a, b in itertools.pairwise(logs)])
        step2 = np.median([_likeness(a, b) for a, b in zip(logs, logs[2:], strict=False)])
        out["alternate_likeness"] = round(float(step2 - step1), 3)
    if len(gaps) >= 3:
        background = float(np.median([_low_share(p, f) for p in gaps]))
        out["low_share_background"] = round(background, 3)
        out["low_excess"] = round(float(np.median(shares)) - background, 3)
        weaker = min(float(np.median(even)), float(np.median(odd)))
        out["weaker_half_excess"] = round(weaker - background, 3)
        out["heartlike_s1"] = round(float(np.mean(shares > (1.0 + background) / 2)), 3)
    return out
