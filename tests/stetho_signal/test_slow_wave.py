"""Crackle candidates on the bend of a larger slow wave (a child's chest, ICBHI 161 and 165) are
not crackles; crackles heard through a bell-like chest piece keep their flag."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_signal import _slow_wave, analyze
from stetho_signal._slow_wave import keeps_upper_octaves, off_slow_waves

_FS = 4000.0
_TIMES_S = [1.3, 3.1, 5.7, 8.2, 9.9, 12.6, 15.4, 17.1]


def _breath(seconds: float = 20.0, seed: int = 0) -> NDArray[np.float64]:
    """Breath sound over 100-1800 Hz, its power falling 6 dB an octave (the 600-1200 Hz octave
    12 dB under the 150-300 Hz one, as most ICBHI recordings: 7-19 dB), louder on inspiration.
    ``stetho_sim``'s breathing stops at 600 Hz, which the gate reads as a bell."""
    rng = np.random.default_rng(seed)
    n = int(seconds * _FS)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / _FS)
    spectrum *= np.where((f >= 100.0) & (f <= 1800.0), 150.0 / np.maximum(f, 100.0), 0.0)
    x = np.fft.irfft(spectrum, n)
    phase = (np.arange(n) / _FS * 15.0 / 60.0) % 1.0
    loud = np.where(
        phase < 0.4, np.sin(np.pi * phase / 0.4), 0.3 * np.sin(np.pi * (phase - 0.4) / 0.6)
    )
    return 0.01 * x / np.std(x) * (0.2 + loud)


def _wander(n: int, amplitude: float, seed: int) -> NDArray[np.float64]:
    """A slow wave of straight strokes 40-120 ms long: its corners are the kinks."""
    rng = np.random.default_rng(seed)
    knots = np.cumsum(rng.uniform(0.04, 0.12, int(n / _FS / 0.04) + 2))
    return np.interp(np.arange(n) / _FS, knots, rng.normal(0.0, amplitude, knots.size))


def _crackles(n: int, amplitude: float) -> NDArray[np.float64]:
    """Coarse crackles at ``_TIMES_S``: a first half-cycle 1.5 ms wide, then slower cycles, two
    of them in 10 ms (CORSA's initial deflection width and two-cycle duration, Sovijärvi et
    al. 2000), as ``test_crackles`` makes them."""
    t = np.arange(int(0.03 * _FS)) / _FS
    start_hz, two_cycle_s = 1.0 / 0.003, 0.01
    ks = np.linspace(1e-3, 2000.0, 20001)
    k = ks[np.argmin(np.abs(start_hz * (1.0 - np.exp(-ks * two_cycle_s)) / ks - 2.0))]
    phase = 2.0 * np.pi * start_hz * (1.0 - np.exp(-k * t)) / k
    wave = np.sin(phase) * np.exp(-t / (two_cycle_s / 2.5))
    out = np.zeros(n)
    for at in _TIMES_S:
        i = int(at * _FS)
        out[i : i + wave.size] += amplitude * wave
    return out


def _bell(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The lung bench's bell-like chest piece: a causal second-order low-pass at 250 Hz."""
    sos = signal.butter(2, 250.0, "lowpass", fs=_FS, output="sos")
    y: NDArray[np.float64] = signal.sosfilt(sos, x)
    return y


@pytest.mark.parametrize("seed", [3, 4])
def test_kinks_on_a_large_slow_wave_are_not_crackles(seed: int) -> None:
    x = _breath()
    result = analyze(x + _wander(x.size, 1.0, seed), _FS, "lung")
    assert result.lung is not None
    assert result.lung.crackle_times_s == ()
    assert not result.findings.crackles


@pytest.mark.parametrize("seed", [3, 4])
def test_the_same_kinks_are_crackles_without_the_gate(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the detector and the heart gates read the kinks as crackles."""
    monkeypatch.setattr(_slow_wave, "SLOW_WAVE_OVER_DEFLECTION", float("inf"))
    x = _breath()
    result = analyze(x + _wander(x.size, 1.0, seed), _FS, "lung")
    assert result.lung is not None
    assert len(result.lung.crackle_times_s) >= 7
    assert result.findings.crackles


def test_crackles_on_the_breath_alone_are_kept_and_counted_in_the_reason() -> None:
    x = _breath()
    result = analyze(x + _crackles(x.size, 0.1), _FS, "lung")
    assert result.lung is not None
    found = result.lung.crackle_times_s
    assert len(found) >= 3
    assert all(min(abs(t - at) for at in _TIMES_S) < 0.01 for t in found)
    flag = next(f for f in result.triage.flags if f.code == "lung_crackles")
    assert flag.value == float(len(found))
    assert f"{len(found)} short explosive sounds (at least 3)" in flag.reason


def test_crackles_through_a_bell_on_a_low_wave_keep_their_flag() -> None:
    x = _breath()
    rumble = 0.3 * np.sin(2 * np.pi * 20.0 * np.arange(x.size) / _FS)
    result = analyze(_bell(x + _crackles(x.size, 0.2) + rumble), _FS, "lung")
    assert result.lung is not None
    assert len(result.lung.crackle_times_s) >= 3
    assert result.findings.crackles


def test_the_same_crackles_read_as_kinks_if_the_gate_ignored_the_bell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: through the bell the crackles are small deflections on the low band."""
    monkeypatch.setattr(_slow_wave, "UPPER_OCTAVES_FALL_DB", float("inf"))
    x = _breath()
    rumble = 0.3 * np.sin(2 * np.pi * 20.0 * np.arange(x.size) / _FS)
    result = analyze(_bell(x + _crackles(x.size, 0.2) + rumble), _FS, "lung")
    assert result.lung is not None
    assert not result.findings.crackles


def _arrays(slow_value: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A band with a deflection of 0.1 at 0.5 s, a slow wave peaking at ``slow_value`` 8 ms on."""
    band, slow = np.zeros(4000), np.zeros(4000)
    band[2000] = -0.1
    slow[2032] = slow_value  # within the slow wave's +-10 ms, outside the deflection's 5 ms
    return slow, band


@pytest.mark.parametrize(("slow_value", "kept"), [(0.2999, True), (0.3001, False), (-0.5, False)])
def test_the_bound_is_three_times_the_deflection(slow_value: float, kept: bool) -> None:
    slow, band = _arrays(slow_value)
    assert off_slow_waves((0.5,), slow, band, _FS) == ((0.5,) if kept else ())


def test_a_slow_wave_beyond_10_ms_does_not_count() -> None:
    slow, band = _arrays(0.0)
    slow[2041] = 5.0
    assert off_slow_waves((0.5,), slow, band, _FS) == (0.5,)


def test_a_slow_wave_at_10_ms_counts() -> None:
    slow, band = _arrays(0.0)
    slow[2040] = 0.5
    assert off_slow_waves((0.5,), slow, band, _FS) == ()


def test_the_deflection_is_read_within_5_ms() -> None:
    slow, band = _arrays(0.2)
    band[2000] = -0.01
    band[2020] = 0.1  # 5 ms after the candidate: its deflection
    assert off_slow_waves((0.5,), slow, band, _FS) == (0.5,)


def test_exactly_three_times_is_a_slow_wave() -> None:
    slow, band = _arrays(0.375)
    band[2000] = -0.125  # 3 x 0.125 = 0.375 exactly in binary
    assert off_slow_waves((0.5,), slow, band, _FS) == ()


def test_a_candidate_at_the_first_sample_reads_it() -> None:
    slow, band = np.zeros(4000), np.zeros(4000)
    band[0] = 0.1
    slow[1] = 0.2
    assert off_slow_waves((0.0,), slow, band, _FS) == (0.0,)


def test_a_candidate_past_the_end_has_no_deflection_to_count() -> None:
    slow, band = _arrays(0.0)
    assert off_slow_waves((10.0,), slow, band, _FS) == ()


def test_no_candidate_is_nothing_to_gate() -> None:
    assert off_slow_waves((), np.zeros(10), np.zeros(10), _FS) == ()


@pytest.mark.parametrize(
    ("fall_db", "keeps"), [(-10.0, True), (12.0, True), (19.99, True), (20.0, False), (30.0, False)]
)
def test_the_chest_piece_keeps_the_upper_octaves_within_20_db(fall_db: float, keeps: bool) -> None:
    energy = np.ones((4, 50))
    energy[2] *= 10.0 ** (-fall_db / 10.0)
    assert keeps_upper_octaves(energy) is keeps


def test_silent_octaves_are_no_chest_piece_to_read() -> None:
    assert keeps_upper_octaves(np.zeros((4, 50))) is False
    energy = np.ones((4, 50))
    energy[2] = 0.0
    assert keeps_upper_octaves(energy) is False
    energy = np.ones((4, 50))
    energy[0] = 0.0
    assert keeps_upper_octaves(energy) is False


def test_the_octaves_are_compared_at_any_level() -> None:
    energy = np.full((4, 50), 1e-9)
    energy[2] *= 0.1  # 10 dB under
    assert keeps_upper_octaves(energy) is True


def test_the_breath_octaves_show_the_bell() -> None:
    """The simulated breath reads within the bound, through the bell over it."""
    from stetho_signal._spectra import frame_power
    from stetho_signal.lung import _octave_energy
    from stetho_signal.wheezes import WHEEZE_NPERSEG

    x = _breath()
    for y, keeps in ((x, True), (_bell(x), False)):
        energy, _ = _octave_energy(frame_power(y, _FS, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2))
        assert keeps_upper_octaves(energy) is keeps
