"""Lung analysis on synthetic breath sounds: rate, a wheeze tone, crackles."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.lung import find_crackles, lung_band, respiratory_rate
from stetho_sim.sounds import (
    FS_HZ,
    add_crackles,
    add_wheeze,
    breathing,
    pcg,
    voice,
)
from stetho_sim.synth import synthesize


def test_respiratory_rate_of_synthetic_breathing() -> None:
    lung = analyze(breathing(18.0, 20.0), FS_HZ, "lung").lung
    assert lung is not None and lung.respiratory_rate_bpm is not None
    assert lung.respiratory_rate_bpm == pytest.approx(18.0, abs=1.5)


def test_fast_breathing_in_news2_urgent_band_asks_for_a_resting_count() -> None:
    result = analyze(breathing(30.0, 20.0), FS_HZ, "lung")
    assert result.triage.level == "review"
    codes = [f.code for f in result.triage.flags]
    assert "respiratory_rate_very_high_during_auscultation" in codes


def test_plain_breathing_has_no_wheeze_nor_crackles() -> None:
    result = analyze(breathing(15.0, 20.0), FS_HZ, "lung")
    assert result.lung is not None
    assert result.lung.wheeze is False
    assert result.findings.crackles is False


def test_wheeze_tone_is_found_with_its_interval_and_frequency() -> None:
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 7.0, freq_hz=400.0)  # expiratory, as wheezes usually are
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    # A frame where breath noise masks the tone may split it: check the union.
    assert min(a for a, _ in lung.wheeze_intervals_s) == pytest.approx(6.0, abs=0.1)
    assert max(b for _, b in lung.wheeze_intervals_s) == pytest.approx(7.0, abs=0.2)
    assert sum(b - a for a, b in lung.wheeze_intervals_s) >= 0.6
    assert lung.wheeze_frequency_hz == pytest.approx(400.0, abs=20.0)


def test_tone_shorter_than_100ms_is_not_a_wheeze() -> None:
    x = breathing(15.0, 20.0)
    add_wheeze(x, 5.0, 5.05, freq_hz=400.0)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and not lung.wheeze


def test_crackles_are_found_at_their_times() -> None:
    x = breathing(15.0, 20.0)
    times = [2.1, 2.4, 6.3, 6.55, 10.2, 14.8]
    add_crackles(x, times)
    result = analyze(x, FS_HZ, "lung")
    assert result.lung is not None and result.findings.crackles
    found = result.lung.crackle_times_s
    for t in times:
        assert min(abs(f - t) for f in found) < 0.01
    assert any(f.code == "lung_crackles" for f in result.triage.flags)


def test_slow_breathing_in_news2_urgent_band_asks_for_a_resting_count() -> None:
    result = analyze(breathing(6.0, 30.0), FS_HZ, "lung")
    assert result.lung is not None
    assert result.lung.respiratory_rate_bpm == pytest.approx(6.0, abs=0.7)
    assert result.triage.level == "review"
    code = "respiratory_rate_very_low_during_auscultation"
    flag = next(f for f in result.triage.flags if f.code == code)
    assert flag.threshold == 8.0


def test_heart_sounds_in_a_lung_recording_are_not_crackles() -> None:
    x = breathing(15.0, 20.0)
    heart, s1, s2 = pcg(75.0, 20.0, noise=0.0)
    x += 0.3 * heart
    add_crackles(x, [t + 0.01 for t in s1 + s2])  # valve clicks riding on S1 and S2
    result = analyze(x, FS_HZ, "lung")
    assert result.lung is not None
    assert result.lung.crackle_times_s == ()
    assert result.findings.crackles is False


def test_low_pitched_wheeze_above_100_hz_is_found() -> None:
    # CORSA: wheezes are tones above 100 Hz; low-pitched ones (rhonchi) sit at 100-200 Hz.
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 6.8, freq_hz=150.0)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    assert lung.wheeze_frequency_hz == pytest.approx(150.0, abs=16.0)


@pytest.mark.parametrize("freq_hz", [110.0, 150.0, 190.0])
def test_a_rhonchus_held_300_ms_is_a_wheeze(freq_hz: float) -> None:
    # ATS: a rhonchus is a tone under 200 Hz lasting over 250 ms. Any duration rule for low
    # tones must keep this one (docs/accuracy.md, twenty-first round).
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 6.3, freq_hz=freq_hz)
    result = analyze(x, FS_HZ, "lung")
    lung = result.lung
    assert lung is not None and lung.wheeze
    assert lung.wheeze_frequency_hz == pytest.approx(freq_hz, abs=16.0)
    [flag] = [f for f in result.triage.flags if f.code == "lung_wheeze"]
    assert flag.value is not None and flag.value >= 0.3


@pytest.mark.parametrize("seed", range(3))
def test_a_minute_of_breath_noise_has_no_wheeze(seed: int) -> None:
    lung = analyze(breathing(16.0, 60.0, seed=seed), FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze_intervals_s == ()


def test_heart_sounds_in_a_lung_recording_are_not_wheezes() -> None:
    x = breathing(15.0, 20.0)
    heart, _, _ = pcg(75.0, 20.0, noise=0.0)
    x += 0.3 * heart
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze is False


@pytest.mark.parametrize("seed", range(3))
def test_simulator_wheezes_are_found_and_plain_breathing_is_not(seed: int) -> None:
    wheezy = synthesize("wheeze", 20.0, 4000, seed)
    lung = analyze(wheezy.samples, 4000, "lung").lung
    assert lung is not None and lung.wheeze
    placed = [(e.start_s, e.end_s) for e in wheezy.events if e.kind == "wheeze"]
    found = lung.wheeze_intervals_s
    hit = [any(min(b, e) - max(a, s) > 0 for s, e in found) for a, b in placed]
    assert sum(hit) >= 0.75 * len(placed)
    assert all(any(min(b, e) - max(a, s) > 0 for a, b in placed) for s, e in found)
    plain = analyze(synthesize("lung-normal", 20.0, 4000, seed).samples, 4000, "lung").lung
    assert plain is not None and plain.wheeze is False


@pytest.mark.parametrize("seed", range(3))
def test_speech_over_breathing_is_not_a_wheeze(seed: int) -> None:
    # Voiced sound (the patient or someone in the room talking) is a harmonic series over a
    # 70-260 Hz fundamental; each harmonic is a held tone, but none is a wheeze. Known leak:
    # speech as loud as the breath hides harmonics 2-5 in breath noise, and a fragment of its
    # fundamental alone can still pass (2 of 10 seeds at 0.03, 8 of 10 at 0.01).
    for level in (0.1, 0.03):
        x = breathing(15.0, 20.0, seed=seed) + voice(20.0, level, seed)
        lung = analyze(x, FS_HZ, "lung").lung
        assert lung is not None and lung.wheeze is False


def test_wheeze_is_found_while_someone_talks() -> None:
    x = breathing(15.0, 20.0) + voice(20.0, 0.01)
    add_wheeze(x, 6.0, 6.8, freq_hz=400.0)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    assert any(a < 6.8 and b > 6.0 for a, b in lung.wheeze_intervals_s)
    assert lung.wheeze_frequency_hz == pytest.approx(400.0, abs=20.0)


@pytest.mark.parametrize("freq_hz", [200.0, 300.0])
def test_wheeze_with_a_second_harmonic_is_not_taken_forvoice(freq_hz: float) -> None:
    # Only a fundamental that is itself a tone makes a voice-like series: breath noise under
    # a wheeze's second harmonic does not.
    x = breathing(15.0, 20.0)
    t = np.arange(x.size) / FS_HZ
    on = (t >= 6.0) & (t < 7.0)
    x[on] += 0.05 * (
        np.sin(2 * np.pi * freq_hz * t[on]) + 0.3 * np.sin(4 * np.pi * freq_hz * t[on])
    )
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    assert lung.wheeze_frequency_hz == pytest.approx(freq_hz, abs=16.0)


def test_faint_whistle_under_loud_breath_is_not_a_wheeze() -> None:
    # A 1.4 kHz whistle stands far out of the empty spectrum above the breath sound, yet
    # holds under 1 % of the band's power: masked by the breath, not a wheeze. Ten times
    # louder, it is one.
    x = breathing(15.0, 20.0)
    t = np.arange(x.size) / FS_HZ
    during_inspiration = ((t % 4.0) > 0.4) & ((t % 4.0) < 1.2)
    whistle = np.sin(2 * np.pi * 1400.0 * t) * during_inspiration
    faint = analyze(x + 0.0005 * whistle, FS_HZ, "lung").lung
    assert faint is not None and faint.wheeze is False
    audible = analyze(x + 0.01 * whistle, FS_HZ, "lung").lung
    assert audible is not None and audible.wheeze
    assert audible.wheeze_frequency_hz == pytest.approx(1400.0, abs=16.0)


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_mains_hum_and_its_harmonics_are_not_a_wheeze(mains_hz: float) -> None:
    x = breathing(15.0, 20.0)
    t = np.arange(x.size) / FS_HZ
    x += sum(0.004 / k * np.sin(2 * np.pi * k * mains_hz * t + k) for k in range(1, 12))
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze is False


def _damped_wave(freq_hz: float, decay_per_cycle: float) -> NDArray[np.float64]:
    """A deflection ringing at ``freq_hz``, its amplitude falling by this factor each cycle."""
    t = np.arange(int(4.0 / freq_hz * FS_HZ)) / FS_HZ
    return np.sin(2 * np.pi * freq_hz * t) * decay_per_cycle ** (t * freq_hz)


def _crackle_times(x: NDArray[np.float64]) -> tuple[float, ...]:
    """Crackles as the detector finds them, before heart sounds are gated out."""
    return find_crackles(lung_band(Spectrum(x, FS_HZ)), FS_HZ)


@pytest.mark.parametrize("two_cycle_ms", [4.0, 8.0, 11.0])
def test_fine_and_coarse_crackles_are_found(two_cycle_ms: float) -> None:
    # CORSA: fine crackles have a two-cycle duration under 10 ms, coarse ones over 10 ms; both
    # die away within a couple of cycles. Known limit, unchanged by the damping rule: coarse
    # crackles much over 11 ms ring mostly under the band's 150 Hz edge and are missed.
    x = breathing(15.0, 20.0)
    wave = 0.3 * _damped_wave(2.0 / (two_cycle_ms / 1000.0), 0.15)
    times = [2.1, 2.4, 6.3, 10.2, 14.8]
    for t in times:
        i = int(t * FS_HZ)
        x[i : i + wave.size] += wave
    found = _crackle_times(x)
    assert len(found) == len(times)
    assert all(min(abs(f - t) for f in found) < 0.01 for t in times)


def test_ringing_bursts_are_not_crackles() -> None:
    # Friction on the chest piece or a tone onset rings on: a 600 Hz burst that keeps most
    # of its amplitude for several cycles is no crackle, however loud.
    x = breathing(15.0, 20.0)
    wave = 0.3 * _damped_wave(600.0, 0.9)
    for t in [2.1, 2.4, 6.3, 10.2, 14.8]:
        i = int(t * FS_HZ)
        x[i : i + wave.size] += wave
    assert _crackle_times(x) == ()


def test_click_at_the_very_start_is_not_a_crackle() -> None:
    # The chest piece settling, and the band filter starting up, make the first samples jump.
    x = breathing(15.0, 20.0)
    add_crackles(x, [0.005, 0.012])
    assert _crackle_times(x) == ()


def _ringing_clicks(x: NDArray[np.float64], times_s: list[float], freq_hz: float) -> None:
    """Clicks ringing at a resonance: amplitude halves every 12 ms (~25 ms over half height)."""
    t = np.arange(int(0.15 * FS_HZ)) / FS_HZ
    wave = 0.08 * np.exp(-t * np.log(2.0) / 0.012) * np.sin(2 * np.pi * freq_hz * t)
    for time in times_s:
        i = int(time * FS_HZ)
        x[i : i + wave.size] += wave


@pytest.mark.parametrize("freq_hz", [250.0, 560.0])
def test_clicks_ringing_at_a_resonance_are_not_wheezes(freq_hz: float) -> None:
    # A knock on the chest piece rings at its resonance for a few tens of ms; three averaged
    # 64 ms frames stretch it to 130-160 ms of "tone". CORSA asks the tone to last 100 ms:
    # measured on the waveform, the click does not.
    x = breathing(15.0, 20.0)
    _ringing_clicks(x, [1.3, 4.7, 8.2, 11.6, 15.1, 18.4], freq_hz)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze_intervals_s == ()


@pytest.mark.parametrize("freq_hz", [250.0, 560.0])
def test_tone_held_just_over_100ms_is_a_wheeze(freq_hz: float) -> None:
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 6.14, freq_hz=freq_hz)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    assert lung.wheeze_frequency_hz == pytest.approx(freq_hz, abs=16.0)


def test_a_flat_breath_envelope_has_no_rate() -> None:
    # The shared FFT autocorrelation returns zeros for a constant envelope: no rate, a note.
    notes: list[str] = []
    x = np.full(int(20.0 * FS_HZ), 0.01)
    assert respiratory_rate(frame_power(x, FS_HZ, 256, 128), notes) is None
    assert notes == ["no breathing pattern in the recording"]
