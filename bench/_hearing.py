"""How a recording is heard, not what it holds: the conditions bench.heart_conditions and
bench.lung_conditions share.

Each condition changes the room, the device or the chest piece a recording was heard through
and leaves the sounds of the chest as they are; the two benches say what each stands for. Added
sounds are scaled against the recording's own power (the mean square over all its samples),
and the random ones are drawn from a generator fixed by the recording's name and the condition,
so every run hears the same noise.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import signal

from bench._retime import Samples, _splice
from stetho_signal._audio import prepare

QUIET_DB = 30.0
NOISE_DBS = {"room_noise_20db": 20.0, "room_noise_10db": 10.0}
HUM_DB = 10.0
MAINS_HZ = 50.0
DIAPHRAGM_HZ = 120.0
BELL_HZ = 250.0
USB_RATE_HZ = 44_100
FULL_SCALE_16BIT = 32767.0
SHARED = ("quiet_16bit", *NOISE_DBS, "mains_hum", "diaphragm", "bell", "at_44k1")
"""The conditions :func:`heard_through` knows, the same for hearts and lungs."""

__all__ = [
    "SHARED",
    "clipped_as",
    "heard_through",
    "hum",
    "looped",
    "pink",
    "resampled",
    "rng",
    "scaled",
    "under",
]


def power(x: Samples) -> float:
    """Mean square of ``x``."""
    return float(np.mean(np.square(x)))


def scaled(noise: Samples, x: Samples, ratio: float) -> Samples:
    """``noise`` scaled to an RMS ``ratio`` times that of ``x``."""
    return noise * (ratio * float(np.sqrt(power(x) / max(power(noise), 1e-30))))


def under(noise: Samples, x: Samples, under_db: float) -> Samples:
    """``noise`` scaled to ``under_db`` below the power of ``x``."""
    return scaled(noise, x, 10.0 ** (-under_db / 20.0))


def rng(name: str, condition: str) -> np.random.Generator:
    """The generator of one recording (``name``) under one condition: the same every run."""
    return np.random.default_rng(zlib.crc32(f"{name}/{condition}".encode()))


def pink(n: int, generator: np.random.Generator) -> Samples:
    """``n`` samples of pink noise: white noise shaped to power ~ 1/f."""
    spectrum = np.fft.rfft(generator.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


def hum(n: int, fs: float) -> Samples:
    """Mains hum: 50, 150 and 250 Hz, each half the amplitude of the one below."""
    t = np.arange(n) / fs
    out = np.zeros(n)
    for k in range(3):
        out += 0.5**k * np.sin(2 * np.pi * MAINS_HZ * (2 * k + 1) * t + k)
    return out


def resampled(x: Samples, rate: float, to: float) -> Samples:
    """``x`` at ``rate`` brought to ``to`` (polyphase, both rates whole hertz)."""
    up, down = int(to), int(rate)
    g = np.gcd(up, down)
    return np.asarray(signal.resample_poly(x, up // g, down // g), dtype=np.float64)


def looped(y: Samples, n: int, fade: int) -> Samples:
    """``n`` samples of ``y`` played again and again, each join an equal-power crossfade of
    ``fade`` samples (a recording's end and start do not meet: a bare join would be a click)."""
    out = y
    while out.size < n:
        out = _splice(out, y, min(fade, y.size))
    return out[:n]


def clipped_as(x: Samples, fs: float, y: Samples) -> Samples:
    """``y`` clipped where the converter that clipped ``x`` would clip it: at ``x``'s flat
    tops' level; ``y`` itself when ``x`` is not clipped (its full scale is then not known).

    A chest piece sits before the microphone and the converter after it: filtering a clipped
    file would round its flat tops off and hide the clipping from the quality gate, which no
    chest piece can do. At the same gain what comes out of another chest piece over that
    level is clipped again.
    """
    if prepare(x, fs).clipped_fraction <= 0.0:
        return y
    level = float(np.max(np.abs(x)))
    return np.clip(y, -level, level)


def heard_through(condition: str, x: Samples, fs: float, name: str) -> tuple[Samples, float] | None:
    """``x`` (at ``fs``) heard under one of the :data:`SHARED` conditions: the samples and
    their rate; None for any other condition (the bench's own, or unknown).

    ``quiet_16bit``: 30 dB quieter, then rounded to 16 bits. ``room_noise_*``: pink noise
    20 or 10 dB under the recording's power. ``mains_hum``: :func:`hum` 10 dB under it.
    ``diaphragm`` / ``bell``: a causal second-order high-pass at 120 Hz or low-pass at
    250 Hz, then clipped at the recording's own flat tops (:func:`clipped_as`).
    ``at_44k1``: resampled to 44.1 kHz (unchanged when already there).
    """
    if condition == "quiet_16bit":
        quiet = x * 10.0 ** (-QUIET_DB / 20.0)
        return np.round(quiet * FULL_SCALE_16BIT) / FULL_SCALE_16BIT, fs
    if condition in NOISE_DBS:
        return x + under(pink(x.size, rng(name, condition)), x, NOISE_DBS[condition]), fs
    if condition == "mains_hum":
        return x + under(hum(x.size, fs), x, HUM_DB), fs
    if condition in ("diaphragm", "bell"):
        kind, cut = ("highpass", DIAPHRAGM_HZ) if condition == "diaphragm" else ("lowpass", BELL_HZ)
        filtered = signal.sosfilt(signal.butter(2, cut, kind, fs=fs, output="sos"), x)
        return clipped_as(x, fs, filtered), fs
    if condition == "at_44k1":
        return resampled(x, fs, USB_RATE_HZ), float(USB_RATE_HZ)
    return None
