"""A stethoscope at low gain: a faint but clear sound is analysed, not sent back as no contact."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal._spectra import frame_power
from stetho_signal.lung import breath_envelopes, breath_swell_db
from stetho_signal.quality import FAINT_BELOW_DBFS, assess_quality
from stetho_sim.sounds import FS_HZ, breathing, pcg

FULL_SCALE_16BIT = 32767.0


def at_band_level(x: NDArray[np.float64], kind: str, dbfs: float) -> NDArray[np.float64]:
    """``x`` scaled so that the analysis reads its band at ``dbfs``, rounded to 16 bits."""
    measured = analyze(x, FS_HZ, kind).quality.measures.level_dbfs  # type: ignore[arg-type]
    y = x * 10.0 ** ((dbfs - measured) / 20.0)
    rounded: NDArray[np.float64] = np.round(y * FULL_SCALE_16BIT) / FULL_SCALE_16BIT
    return rounded


def steady_noise(seconds: float, slope: float, seed: int = 3) -> NDArray[np.float64]:
    """Noise whose power falls ``slope`` decades a decade (0 white, 1 pink, 2 brown)."""
    n = round(seconds * FS_HZ)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[1:] /= np.arange(1, spectrum.size) ** (slope / 2.0)
    spectrum[0] = 0.0
    x: NDArray[np.float64] = np.fft.irfft(spectrum, n)
    return 0.1 * x / float(np.sqrt(np.mean(np.square(x))))  # well inside full scale


def swell(x: NDArray[np.float64]) -> float:
    return breath_swell_db(breath_envelopes(frame_power(x, FS_HZ, 256, 128)))


@pytest.mark.parametrize("dbfs", [-72.0, -80.0, -88.0])
def test_faint_breathing_is_analysed_and_called_faint(dbfs: float) -> None:
    x = at_band_level(breathing(15.0, 20.0), "lung", dbfs)
    result = analyze(x, FS_HZ, "lung")
    assert result.quality.measures.level_dbfs == pytest.approx(dbfs, abs=0.5)
    assert result.quality.acceptable, result.quality.problems
    assert result.quality.faint
    assert result.lung is not None and result.lung.respiratory_rate_bpm == pytest.approx(15, abs=2)
    assert result.triage.level != "rerecord"


def test_a_faint_heartbeat_is_analysed_and_called_faint() -> None:
    x, _, _ = pcg(72.0, 10.0)
    result = analyze(at_band_level(x, "heart", -84.0), FS_HZ, "heart")
    assert result.quality.acceptable, result.quality.problems
    assert result.quality.faint
    assert result.heart is not None and result.heart.rate_bpm == pytest.approx(72.0, abs=2.0)


def test_a_recording_at_the_usual_level_is_not_faint() -> None:
    result = analyze(at_band_level(breathing(15.0, 20.0), "lung", -50.0), FS_HZ, "lung")
    assert result.quality.acceptable and not result.quality.faint


@pytest.mark.parametrize("slope", [0.0, 1.0, 2.0])
def test_faint_steady_noise_is_no_signal(slope: float) -> None:
    """Out of contact, a stethoscope hears steady noise: coloured, perhaps, but no breathing."""
    x = at_band_level(steady_noise(20.0, slope), "lung", -85.0)
    result = analyze(x, FS_HZ, "lung")
    assert result.quality.measures.level_dbfs == pytest.approx(-85.0, abs=0.5)
    assert result.quality.problem_codes == ("no_signal",)
    assert not result.quality.faint  # no_signal says it: "faint" is for a sound analysed


def test_breathing_at_the_rounding_floor_is_no_signal() -> None:
    x = at_band_level(breathing(15.0, 20.0), "lung", -60.0) * 10.0 ** (-45.0 / 20.0)
    result = analyze(x, FS_HZ, "lung")  # -105 dBFS: under what 16-bit rounding leaves
    assert result.quality.problem_codes == ("no_signal",)


def test_a_faint_heart_recording_with_no_heartbeat_is_no_signal() -> None:
    result = analyze(at_band_level(steady_noise(10.0, 1.0), "heart", -84.0), FS_HZ, "heart")
    assert "no_signal" in result.quality.problem_codes


def test_breath_swells_and_steady_noise_does_not() -> None:
    assert swell(breathing(15.0, 20.0)) > 6.0
    for slope in (0.0, 1.0, 2.0):
        assert swell(steady_noise(20.0, slope)) < 2.0
    assert breath_swell_db(np.zeros((4, 0))) == 0.0


def test_the_swell_is_the_liveliest_octave_between_its_10th_and_90th_percentiles() -> None:
    steady = np.zeros(101)
    ramp = np.linspace(0.0, 100.0, 101)  # percentiles 10 and 90: 10 and 90
    assert breath_swell_db(np.vstack([steady, ramp, ramp / 2.0, steady])) == pytest.approx(80.0)


BAND = np.full(4000, 1.0)


def quality(level_dbfs: float, **kw: object) -> dict[str, float]:
    band = BAND * 10.0 ** (level_dbfs / 20.0)
    return assess_quality(band, 0.0, **kw).subscores  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("level", "flatness", "swell_db", "no_signal"),
    [
        (-65.0, 0.95, 0.0, 1.0),  # the usual level: sound, whatever it holds
        (-72.5, 0.95, 0.0, 0.5),  # under it, unclear: the level alone, as ever
        (-85.0, 0.6, 6.0, 1.0),  # faint and clear
        (-85.0, 0.75, 6.0, 0.5),  # faint, half white
        (-85.0, 0.6, 4.5, 0.5),  # faint, half swelling
        (-85.0, 0.6, 3.0, 0.0),  # faint and steady
        (-95.0, 0.6, 6.0, 0.5),  # halfway down to the rounding floor
        (-90.0, 0.6, 6.0, 1.0),
        (-100.0, 0.6, 6.0, 0.0),
    ],
)
def test_no_signal_is_the_level_or_a_clear_sound_over_the_floor(
    level: float, flatness: float, swell_db: float, no_signal: float
) -> None:
    scores = quality(level, heartbeat=None, flatness=flatness, breath_swell_db=swell_db)
    assert scores["no_signal"] == pytest.approx(no_signal, abs=1e-6)


@pytest.mark.parametrize(
    ("periodicity", "prominence", "no_signal"),
    [(0.3, 1.0, 1.0), (0.2, 1.0, 0.5), (0.0, 2.5, 1.0), (0.0, 2.0, 0.5), (0.1, 1.5, 0.0)],
)
def test_a_faint_heart_band_is_sound_when_it_beats(
    periodicity: float, prominence: float, no_signal: float
) -> None:
    scores = quality(-85.0, heartbeat=(periodicity, prominence), flatness=None)
    assert scores["no_signal"] == pytest.approx(no_signal, abs=1e-6)
    assert "noise" not in scores


def test_a_heart_band_needs_no_breathing() -> None:
    scores = quality(-85.0, heartbeat=(0.3, 3.0), flatness=None, breath_swell_db=None)
    assert scores["no_signal"] == 1.0


def test_without_sound_nothing_else_is_judged() -> None:
    scores = quality(-105.0, heartbeat=(0.3, 3.0), flatness=None, handling=2.0)
    assert scores == {"clipping": 1.0, "no_signal": 0.0}
    scores = quality(-85.0, heartbeat=None, flatness=0.95, breath_swell_db=10.0, handling=2.0)
    assert scores == {"clipping": 1.0, "no_signal": 0.0}


def test_the_faint_bound_is_the_usual_levels_good_end() -> None:
    assert FAINT_BELOW_DBFS == -65.0
    assert quality(FAINT_BELOW_DBFS, heartbeat=None, flatness=0.95)["no_signal"] == 1.0
