"""The quality check against plain restatements: level, measures, verdict and handling bursts.

Each reference says what the docstrings say, loop by loop, so that a change in a window, a bound
or a rounding shows as a difference, not as a verdict that happens to stay the same.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal.quality import (
    QualityMeasures,
    QualityScores,
    assess_quality,
    grade_quality,
    handling_burst_s,
)

MEASURES = QualityMeasures(0.0, -20.0, None, None, None)


def handling_reference(sub: NDArray[np.float64], fs_hz: float) -> float:
    """Longest time the centred 10-frame mean of 10 ms frame powers stays, as an RMS, over four
    times its median (never under 1e-12); frames of round(10 ms) samples, at least one."""
    frame = max(round(0.01 * fs_hz), 1)
    n = sub.size // frame
    if n < 10:
        return 0.0
    power = [sum(float(v) ** 2 for v in sub[i * frame : (i + 1) * frame]) / frame for i in range(n)]
    rms = []
    for i in range(n):  # numpy's "same": the window's centre at i + 5 - 1 - 4 ... as convolve
        total = sum(power[j] for j in range(i - 5, i + 5) if 0 <= j < n)
        rms.append(math.sqrt(total / 10.0))
    bound = 4.0 * max(float(np.median(rms)), 1e-12)
    longest = run = 0
    for value in rms:
        run = run + 1 if value > bound else 0
        longest = max(longest, run)
    return longest * frame / fs_hz


@pytest.mark.parametrize("fs_hz", [100.0, 149.0, 200.0, 4000.0])
@pytest.mark.parametrize("seed", range(4))
def test_handling_bursts_as_restated(fs_hz: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = round(rng.uniform(3.0, 6.0) * fs_hz)
    sub = rng.standard_normal(n)
    at = [0, n // 2, n - round(0.7 * fs_hz)][seed % 3]  # at the start, inside, at the end
    sub[at : at + round(0.7 * fs_hz)] *= 8.0
    assert handling_burst_s(sub, fs_hz) == pytest.approx(handling_reference(sub, fs_hz))
    assert handling_burst_s(sub, fs_hz) > 0.3  # at an edge the centred mean sees less of it


def test_under_ten_frames_there_is_no_burst_to_find() -> None:
    sub = np.ones(40)  # 20 frames of 2 samples at 200 Hz
    sub[:4] = 30.0
    found = handling_burst_s(sub, 200.0)
    assert found == pytest.approx(handling_reference(sub, 200.0)) and found > 0.0
    assert handling_burst_s(sub[:18], 200.0) == 0.0  # nine frames: under the 100 ms window


def test_a_near_silent_band_is_judged_against_the_floor_not_its_own_median() -> None:
    sub = np.full(400, 2e-13)  # 2 s at 200 Hz, far under any real device's floor
    sub[100:200] = 3e-12
    assert handling_burst_s(sub, 200.0) == handling_reference(sub, 200.0) == 0.0
    sub[100:200] = 5e-12
    found = handling_burst_s(sub, 200.0)
    assert found == pytest.approx(handling_reference(sub, 200.0)) and found > 0.0


def test_the_level_of_an_empty_band_is_the_floor() -> None:
    scores = assess_quality(np.zeros(0), 0.0, None, None)
    assert scores.measures.level_dbfs == -240.0
    assert scores.subscores == {"clipping": 1.0, "no_signal": 0.0}


def test_the_level_is_summed_in_double_precision() -> None:
    band = np.array([1.0, 1e-4] * 3, dtype=np.float32)
    exact = 10.0 * math.log10(sum(float(v) ** 2 for v in band) / band.size)
    assert assess_quality(band, 0.0, None, None).measures.level_dbfs == pytest.approx(
        exact, rel=1e-12
    )


def test_the_measures_are_what_was_measured() -> None:
    band = np.full(100, 0.1)
    scores = assess_quality(band, 0.002, (0.25, 1.75), None, 0.3, (50.0,), None)
    assert scores.measures == QualityMeasures(
        0.002, pytest.approx(-20.0), None, 0.25, 1.75, 0.3, (50.0,)
    )
    lung = assess_quality(band, 0.0, None, 0.4, None, (), 12.0)
    assert (lung.measures.spectral_flatness, lung.measures.periodicity) == (0.4, None)
    assert lung.measures.sound_prominence is None


def test_a_faint_band_with_nothing_to_judge_it_by_is_no_signal() -> None:
    band = np.full(100, 10.0 ** (-85.0 / 20.0))
    assert assess_quality(band, 0.0, None, None).subscores == {"clipping": 1.0, "no_signal": 0.0}
    swelling = assess_quality(band, 0.0, None, None, breath_swell_db=4.5).subscores
    assert swelling == {"clipping": 1.0, "no_signal": 0.5, "breath_unheard": 0.5}


def test_the_score_is_rounded_to_three_places_and_the_bound_passes() -> None:
    graded = grade_quality(QualityScores({"a": 0.123456, "b": 0.9}, MEASURES), 0.1)
    assert graded.score == 0.123 and graded.acceptable and graded.problem_codes == ()
    at_bound = grade_quality(QualityScores({"clipping": 0.5, "noise": 0.7}, MEASURES), 0.5)
    assert at_bound.acceptable and at_bound.problem_codes == () and at_bound.problems == ()
    under = grade_quality(QualityScores({"clipping": 0.4999, "noise": 0.7}, MEASURES), 0.5)
    assert not under.acceptable and under.problem_codes == ("clipping",)


def test_any_hum_above_0_hz_is_a_frequency() -> None:
    assert QualityMeasures(0.0, -20.0, None, None, None, mains_hum_hz=(0.5,)).mains_hum_hz
    for bad in ((0.0,), (-50.0,), (math.inf,), (math.nan,)):
        with pytest.raises(ValueError, match="mains hum frequencies"):
            QualityMeasures(0.0, -20.0, None, None, None, mains_hum_hz=bad)


def test_a_burst_exactly_four_times_the_median_is_not_loud() -> None:
    sub = np.ones(200)  # 1 s at 200 Hz: 100 frames of 2 samples
    sub[50:70] = 4.0  # ten frames whose centred mean peaks at exactly 4x the median
    assert handling_burst_s(sub, 200.0) == handling_reference(sub, 200.0) == 0.0
