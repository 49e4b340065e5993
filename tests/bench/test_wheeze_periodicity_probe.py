"""The periodicity probe: a periodic waveform reads aperiodicity near 0 at its fundamental,
breath noise does not, and a loud tone that comes back with the breath is a periodic flag."""

from __future__ import annotations

import numpy as np

from bench import wheeze_periodicity_probe as probe
from bench.wheeze_forensics import analysed
from bench.wheeze_whitened_probe import Run
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_sim.sounds import FS_HZ, breathing

RATE = ANALYSIS_RATE_HZ


def _sines(pitches_hz: tuple[float, ...], seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(np.sin(2.0 * np.pi * f * t) for f in pitches_hz)


def test_a_harmonic_series_is_periodic_at_its_fundamental_even_when_it_is_missing() -> None:
    for pitches in ((230.0, 460.0, 690.0), (460.0, 690.0, 920.0)):  # the second: no 230 Hz
        track = probe.periodicity(_sines(pitches), None)
        inner = slice(3, -3)
        assert np.max(track.prominence_db[inner]) < 0.05
        assert np.allclose(track.track_hz[inner], 230.0, atol=3.0)  # not a multiple's period


def test_noise_is_aperiodic() -> None:
    noise = np.random.default_rng(0).standard_normal(3 * int(RATE))
    track = probe.periodicity(noise, None)
    assert np.min(track.prominence_db) > 0.5


def test_silence_and_heart_sounds_are_not_searched() -> None:
    x = np.concatenate([np.zeros(int(RATE)), _sines((330.0,), 2.0)])
    track = probe.periodicity(x, np.array([2.0]))
    assert not track.searched[track.times < 0.9].any()
    assert not track.searched[np.abs(track.times - 2.0) <= 0.06].any()
    assert track.searched[(track.times > 1.3) & (track.times < 1.8)].all()


def _with_tone(x: np.ndarray, level_db: float, breath_s: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x**2)))
    n_breaths = int(x.size / FS_HZ / breath_s)
    spans = [(k * breath_s + 0.8, k * breath_s + 1.3) for k in range(n_breaths)]
    return x + probe.tone(x.size, 430.0, rms * 10.0 ** (level_db / 20.0), spans)


def test_a_loud_tone_in_every_breath_recurs_as_periodic_runs() -> None:
    rec = probe.Periodic(analysed(_with_tone(breathing(15.0, 30.0, seed=0), 12.0, 4.0), FS_HZ), 0.1)
    found = rec.periodic_runs(probe.RULE_BOUND)
    assert sum(abs(r.pitch_hz - 430.0) <= 16.0 for r in found) >= 4
    assert probe.recurs(found, 15.0)
    cycle = rec.held_aperiodicity(4.6, 5.5)  # the second breath's tone
    assert cycle <= probe.RULE_BOUND < rec.held_aperiodicity(5.5, 6.5)


def test_clean_breathing_keeps_no_periodic_run() -> None:
    rec = probe.Periodic(analysed(breathing(15.0, 30.0, seed=2), FS_HZ), 0.1)
    assert rec.periodic_runs(probe.RULE_BOUND) == []
    assert rec.held_aperiodicity(1.0, 1.05) == float("inf")  # under four frames


def test_speaking_range_runs_go_only_once_speech_is_heard() -> None:
    runs = [Run(1.0, 1.2, 150.0), Run(3.0, 3.2, 400.0)]
    assert probe.speaker_kept(runs, 2) == runs
    assert probe.speaker_kept(runs, 3) == [runs[1]]
