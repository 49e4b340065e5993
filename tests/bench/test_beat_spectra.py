import numpy as np

from bench._beat_spectra import beat_spectra

FS = 4000.0


def _burst(x: np.ndarray, t: float, hz: float, rng: np.random.Generator) -> None:
    n = round(0.08 * FS)
    at = round(t * FS)
    tone = np.sin(2 * np.pi * hz * np.arange(n) / FS) + 0.2 * rng.standard_normal(n)
    x[at : at + n] += 5.0 * np.hanning(n) * tone


def _breath(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / FS)
    spectrum[(f < 200) | (f > 800)] = 0
    return np.fft.irfft(spectrum, n) * 0.3


def test_heart_sounds_are_lower_pitched_than_the_breath_between() -> None:
    rng = np.random.default_rng(3)
    x = _breath(round(10 * FS), rng)
    s1 = tuple(0.5 + 0.8 * k for k in range(10))
    for t in s1:
        _burst(x, t - 0.04, 50.0, rng)
        _burst(x, t + 0.26, 70.0, rng)
    m = beat_spectra(x, FS, s1, tuple(t + 0.3 for t in s1))
    assert m["low_excess"] > 0.5 and m["weaker_half_excess"] > 0.5
    assert m["heartlike_s1"] == 1.0 and m["half_gap"] < 0.1


def test_a_chain_with_breath_bursts_between_beats_has_a_half_like_the_breath() -> None:
    rng = np.random.default_rng(4)
    x = _breath(round(10 * FS), rng)
    s1 = tuple(0.5 + 0.4 * k for k in range(20))  # every other "beat" a breath burst
    for k, t in enumerate(s1):
        _burst(x, t - 0.04, 50.0 if k % 2 == 0 else 450.0, rng)
    m = beat_spectra(x, FS, s1, ())
    assert m["weaker_half_excess"] < 0.1 and m["half_gap"] > 0.5
    assert m["heartlike_s1"] <= 0.6


def test_a_short_chain_has_no_measures() -> None:
    x = np.zeros(round(3 * FS))
    assert set(beat_spectra(x, FS, (0.5, 1.0, 1.5), ()).values()) == {None}
