"""Lung analysis on synthetic breath sounds: rate, a wheeze tone, crackles."""

from __future__ import annotations

import pytest

from firmware_bridge.synth import synthesize
from stetho_signal import analyze
from tests.stetho_signal.synthetic import FS_HZ, add_crackles, add_wheeze, breathing, pcg


def test_respiratory_rate_of_synthetic_breathing() -> None:
    lung = analyze(breathing(18.0, 20.0), FS_HZ, "lung").lung
    assert lung is not None and lung.respiratory_rate_bpm is not None
    assert lung.respiratory_rate_bpm == pytest.approx(18.0, abs=1.5)


def test_fast_breathing_is_urgent_per_news2() -> None:
    result = analyze(breathing(30.0, 20.0), FS_HZ, "lung")
    assert result.triage.level == "urgent"
    assert any(f.code == "respiratory_rate_very_high" for f in result.triage.flags)


def test_plain_breathing_has_no_wheeze_nor_crackles() -> None:
    lung = analyze(breathing(15.0, 20.0), FS_HZ, "lung").lung
    assert lung is not None
    assert lung.wheeze is False
    assert lung.crackles is False


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
    assert result.lung is not None and result.lung.crackles
    found = result.lung.crackle_times_s
    for t in times:
        assert min(abs(f - t) for f in found) < 0.01
    assert any(f.code == "lung_crackles" for f in result.triage.flags)


def test_slow_breathing_is_urgent_per_news2() -> None:
    result = analyze(breathing(6.0, 30.0), FS_HZ, "lung")
    assert result.lung is not None
    assert result.lung.respiratory_rate_bpm == pytest.approx(6.0, abs=0.7)
    assert result.triage.level == "urgent"
    flag = next(f for f in result.triage.flags if f.code == "respiratory_rate_very_low")
    assert flag.threshold == 8.0


def test_heart_sounds_in_a_lung_recording_are_not_crackles() -> None:
    x = breathing(15.0, 20.0)
    heart, s1, s2 = pcg(75.0, 20.0, noise=0.0)
    x += 0.3 * heart
    add_crackles(x, [t + 0.01 for t in s1 + s2])  # valve clicks riding on S1 and S2
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None
    assert lung.crackle_times_s == ()
    assert lung.crackles is False


def test_low_pitched_wheeze_above_100_hz_is_found() -> None:
    # CORSA: wheezes are tones above 100 Hz; low-pitched ones (rhonchi) sit at 100-200 Hz.
    x = breathing(15.0, 20.0)
    add_wheeze(x, 6.0, 6.8, freq_hz=150.0)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.wheeze
    assert lung.wheeze_frequency_hz == pytest.approx(150.0, abs=16.0)


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
