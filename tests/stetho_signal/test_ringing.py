"""Transients that do not ring down as a crackle does (a step: a chest piece moved, a recorder's
onset) are not crackles unless at least two that do ring stand beside them."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _ringing, analyze
from stetho_signal._ringing import _FREQS_HZ, RINGING_MIN, RINGING_R2, beside_ringing, ringing_r2
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band, find_crackles
from stetho_signal.lung import lung_band

from .test_slow_wave import _FS, _TIMES_S, _breath, _crackles

_STEPS_S = tuple(t + 0.5 for t in _TIMES_S)


def _steps(n: int, amplitude: float, times_s: tuple[float, ...]) -> NDArray[np.float64]:
    """Steps up and down at ``times_s``: in the lung band each rings on both sides."""
    out = np.zeros(n)
    for k, at in enumerate(times_s):
        out[int(at * _FS) :] += amplitude * (1.0 if k % 2 else -1.0)
    return out


def test_steps_that_do_not_ring_raise_no_crackle() -> None:
    x = _breath()
    result = analyze(x + _steps(x.size, 0.1, _TIMES_S), _FS, "lung")
    assert result.lung is not None
    assert result.lung.crackle_times_s == ()
    assert not result.findings.crackles


def test_the_same_steps_are_crackles_without_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the detector and every other gate read the steps as crackles."""
    monkeypatch.setattr(_ringing, "RINGING_R2", 0.0)
    x = _breath()
    result = analyze(x + _steps(x.size, 0.1, _TIMES_S), _FS, "lung")
    assert result.lung is not None
    assert len(result.lung.crackle_times_s) >= 6
    assert result.findings.crackles


def test_crackles_keep_the_steps_beside_them_in_their_count() -> None:
    x = _breath()
    crackles = analyze(x + _crackles(x.size, 0.2), _FS, "lung")
    both = analyze(x + _crackles(x.size, 0.2) + _steps(x.size, 0.1, _STEPS_S[:3]), _FS, "lung")
    assert crackles.lung is not None and both.lung is not None
    assert len(crackles.lung.crackle_times_s) == len(_TIMES_S)
    assert len(both.lung.crackle_times_s) == len(_TIMES_S) + 3
    flag = next(f for f in both.triage.flags if f.code == "lung_crackles")
    assert f"{len(_TIMES_S) + 3} short explosive sounds (at least 3)" in flag.reason


def _candidates() -> tuple[NDArray[np.float32], tuple[float, ...], tuple[float, ...]]:
    """The lung band of breath with crackles and steps, and the detector's candidates at each."""
    x = _breath()
    band = lung_band(Spectrum(x + _crackles(x.size, 0.2) + _steps(x.size, 0.1, _STEPS_S), _FS))
    found = find_crackles(band, _FS)
    near = [min(abs(t - at) for at in _TIMES_S) < 0.002 for t in found]
    crackles = tuple(t for t, c in zip(found, near, strict=True) if c)
    steps = tuple(t for t, c in zip(found, near, strict=True) if not c)
    return band, crackles, steps


def test_crackles_ring_and_steps_do_not() -> None:
    band, crackles, steps = _candidates()
    assert len(crackles) == len(_TIMES_S) and len(steps) >= 4
    finer, rate = crackle_band(band, _FS)
    assert ringing_r2(finer, rate, crackles).min() >= 0.75
    assert ringing_r2(finer, rate, steps).max() < RINGING_R2


@pytest.mark.parametrize(("ringing", "kept_steps"), [(RINGING_MIN, True), (RINGING_MIN - 1, False)])
def test_steps_count_only_beside_two_that_ring(ringing: int, kept_steps: bool) -> None:
    band, crackles, steps = _candidates()
    times = tuple(sorted(crackles[:ringing] + steps[:3]))
    expected = times if kept_steps else tuple(sorted(crackles[:ringing]))
    assert beside_ringing(times, *crackle_band(band, _FS)) == expected


def test_the_bound_counts_a_fit_at_it_as_ringing(monkeypatch: pytest.MonkeyPatch) -> None:
    band, crackles, steps = _candidates()
    finer, rate = crackle_band(band, _FS)
    fitted = ringing_r2(finer, rate, crackles[:2])
    times = (crackles[0], crackles[1], steps[0])
    monkeypatch.setattr(_ringing, "RINGING_R2", float(fitted.min()))
    assert beside_ringing(times, finer, rate) == times
    monkeypatch.setattr(_ringing, "RINGING_R2", float(np.nextafter(fitted.min(), 1.0)))
    assert beside_ringing(times, finer, rate) == (crackles[int(np.argmax(fitted))],)


def test_a_damped_sinusoid_is_fitted_whole_and_silence_not_at_all() -> None:
    rate = 8000.0
    t = np.arange(int(0.012 * rate)) / rate
    fine = np.zeros(int(rate))
    at = 4000
    f = _FREQS_HZ[6]  # one of the models: 422 Hz, 0.35 of the amplitude kept per cycle
    fine[at : at + t.size] = np.cos(2 * np.pi * f * t) * 0.35 ** (t * f)
    assert ringing_r2(fine, rate, (at / rate,))[0] > 0.999
    assert ringing_r2(np.zeros(8000), rate, (0.5,))[0] == 0.0
    assert ringing_r2(fine, rate, (0.9995,))[0] == 0.0  # its 12 ms leave the band
    assert beside_ringing((), np.zeros(100, dtype=np.float32), _FS) == ()


def test_a_deflection_needs_2_ms_of_band_before_it_to_be_fitted() -> None:
    rate = 8000.0
    t = np.arange(int(0.012 * rate)) / rate
    f = _FREQS_HZ[6]
    wave = np.cos(2 * np.pi * f * t) * 0.35 ** (t * f)
    for at, fitted in ((16, True), (15, False)):  # 2 ms at 8 kHz: 16 samples
        fine = np.zeros(int(rate))
        fine[at : at + wave.size] = wave
        r2 = ringing_r2(fine, rate, (at / rate,))[0]
        assert (r2 > 0.999) if fitted else (r2 == 0.0)


def test_a_single_precision_band_is_fitted_in_double() -> None:
    band, crackles, _ = _candidates()
    finer, rate = crackle_band(band, _FS)
    assert finer.dtype == np.float32
    single = ringing_r2(finer, rate, crackles)
    assert np.array_equal(single, ringing_r2(finer.astype(np.float64), rate, crackles))
