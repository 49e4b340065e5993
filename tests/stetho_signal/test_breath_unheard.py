"""Breath sounds that do not swell over the background: crackles and wheezes would go unheard,
so the recording is sent back with what to do (deep breaths, a quiet room), never called clean."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal.quality import PROBLEM_TEXT, assess_quality
from stetho_sim.sounds import FS_HZ, add_crackles, breathing

LOUD_BAND = np.full(100, 0.01)  # -40 dBFS: the level alone says there is sound


def pink(seconds: float, seed: int = 5) -> NDArray[np.float64]:
    n = round(seconds * FS_HZ)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0.0
    x: NDArray[np.float64] = np.fft.irfft(spectrum, n)
    return x


def under(noise: NDArray[np.float64], x: NDArray[np.float64], db: float) -> NDArray[np.float64]:
    scale = float(np.sqrt(np.mean(x**2) / np.mean(noise**2))) * 10.0 ** (-db / 20.0)
    return x + scale * noise


@pytest.mark.parametrize(("rate", "swell_over"), [(8.0, 15.0), (15.0, 15.0), (60.0, 8.0)])
def test_breathing_in_a_quiet_room_is_heard(rate: float, swell_over: float) -> None:
    """An infant's 60/min swells less over the 0.4 s envelope, still well over 6 dB."""
    result = analyze(breathing(rate, 20.0), FS_HZ, "lung")
    assert result.lung is not None and result.lung.breath_swell_db > swell_over
    assert "breath_unheard" not in result.quality.problem_codes


def test_crackling_breath_drowned_in_room_noise_is_sent_back_not_called_clean() -> None:
    x = breathing(15.0, 20.0)
    add_crackles(x, [3.2, 3.4, 7.2, 7.4, 11.2, 15.2])
    assert analyze(x, FS_HZ, "lung").findings.crackles
    drowned = analyze(under(pink(20.0), x, -15.0), FS_HZ, "lung")
    assert drowned.lung is not None and drowned.lung.breath_swell_db < 4.5
    assert "breath_unheard" in drowned.quality.problem_codes  # found or hidden: not judged
    assert drowned.triage.level == "rerecord"
    said = drowned.quality.problems[drowned.quality.problem_codes.index("breath_unheard")]
    assert "deep breaths through the open mouth" in said


def test_heart_recordings_are_not_asked_to_breathe() -> None:
    scores = assess_quality(LOUD_BAND, 0.0, (0.5, 3.0), None)
    assert "breath_unheard" not in scores.subscores


@pytest.mark.parametrize(("swell_db", "score"), [(2.0, 0.0), (3.0, 0.0), (4.5, 0.5), (6.0, 1.0)])
def test_the_swell_is_scored_from_3_to_6_db(swell_db: float, score: float) -> None:
    scores = assess_quality(LOUD_BAND, 0.0, None, 0.3, breath_swell_db=swell_db).subscores
    assert scores["breath_unheard"] == pytest.approx(score)
    assert scores["no_signal"] == 1.0 and scores["noise"] == 1.0


def test_the_doctor_and_the_nurse_read_what_to_do() -> None:
    assert PROBLEM_TEXT["breath_unheard"].startswith("breathing barely heard")


@pytest.mark.parametrize("slope", [1.0, 2.0])
def test_steady_noise_at_the_usual_level_is_not_breathing(slope: float) -> None:
    """Brown noise is as coloured as breath sounds (flatness 0.39): it used to pass as lungs at
    the usual level and have a "breathing rate" read from it; it does not swell."""
    n = round(20 * FS_HZ)
    spectrum = np.fft.rfft(np.random.default_rng(7).standard_normal(n))
    spectrum[1:] /= np.arange(1, spectrum.size) ** (slope / 2.0)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    result = analyze(0.03 * noise / np.std(noise), FS_HZ, "lung")
    assert result.quality.measures.level_dbfs > -72.5  # the level alone would pass it
    assert "breath_unheard" in result.quality.problem_codes
    assert result.triage.level == "rerecord"
