"""The whitened-spectrum probe: a chest piece's resonance is taken out, a recurring tone is not."""

from __future__ import annotations

import numpy as np

from bench import wheeze_whitened_probe as probe
from bench.wheeze_forensics import analysed
from stetho_sim.sounds import FS_HZ, breathing

BREATH_S = 4.0  # 15/min


def _searched(x: np.ndarray) -> probe.Searched:
    return probe.Searched(analysed(x, FS_HZ), 0.1)


def _with_tone(x: np.ndarray, level_db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x**2)))
    spans = [(k * BREATH_S + 0.8, k * BREATH_S + 1.2) for k in range(int(x.size / FS_HZ / 4))]
    return x + probe.tone(x.size, 400.0, rms * 10.0 ** (level_db / 20.0), spans)


def test_a_resonance_heard_in_every_frame_is_taken_out_by_the_recording_itself() -> None:
    x = probe.resonant(breathing(15.0, 60.0, seed=1), 550.0, 12.0)
    rec = _searched(x)
    # Unwhitened, the resonance stands over its neighbours in many frames; whitened it does
    # not reach the rule's prominence in a run.
    assert len(rec.runs(probe.RULE_DB, whiten=False)) > len(rec.runs(probe.RULE_DB))
    at_550 = np.abs(rec.plain.track_hz - 550.0) <= 32.0
    assert np.mean(at_550) > 2.0 * np.mean(np.abs(rec.white.track_hz - 550.0) <= 32.0)
    assert not probe.recurs(rec.runs(probe.RULE_DB), 15.0)


def test_a_tone_in_every_breath_recurs_over_the_whitened_spectrum() -> None:
    rec = _searched(_with_tone(breathing(15.0, 60.0, seed=0), 6.0))
    found = rec.runs(probe.RULE_DB)
    assert any(abs(r.pitch_hz - 400.0) <= 16.0 for r in found)
    assert probe.recurs(found, 15.0)
    assert not probe.recurs(found, None)  # no breath read, no whitened flag


def test_clean_breathing_is_not_whitened_wheezy() -> None:
    rec = _searched(breathing(15.0, 60.0, seed=2))
    assert not probe.recurs(rec.runs(probe.RULE_DB), 15.0)


def test_recurrence_asks_the_same_pitch_half_a_breath_apart() -> None:
    a = probe.Run(1.0, 1.128, 400.0)
    assert probe.recurs([a, probe.Run(3.0, 3.128, 470.0)], 15.0)  # 2 s, under 1/4 octave
    assert not probe.recurs([a, probe.Run(2.9, 3.028, 400.0)], 15.0)  # too near
    assert not probe.recurs([a, probe.Run(5.0, 5.128, 480.0)], 15.0)  # over 1/4 octave
    assert not probe.recurs([a], 15.0)


def test_a_recorders_silence_is_neither_reference_nor_searched() -> None:
    x = analysed(_with_tone(breathing(15.0, 30.0, seed=0), 6.0), FS_HZ)
    lead = 300  # 9.6 s of silence: a whole number of 32 ms hops
    silent = np.concatenate([np.zeros(lead * 128), x])
    plain, padded = probe.whitened(x, None), probe.whitened(silent, None)
    assert not padded.searched[: lead - 2].any()
    inside = slice(lead + 5, lead + plain.times.size - 5)
    gap = np.abs(padded.prominence_db[inside] - plain.prominence_db[5:-5])
    assert np.median(gap) < 0.01  # the same reference: the silence is not in it
