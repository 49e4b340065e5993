"""An infant's fast breathing is sought up to twice its band's urgent rate, not read at half.

With the search stopping at 60/min, a 7-month-old breathing at 72/min (ICBHI 115_1b1_Ar) was
read at 35.4, normal under 1 year, where fast breathing is urgent from 50/min (WHO IMCI;
accuracy.md, twenty-third round, s40-signal).
"""

from __future__ import annotations

import math

import pytest

from stetho_signal import analysis, analyze
from stetho_signal._spectra import frame_power
from stetho_signal.lung import respiratory_rate, shortest_breath_s
from stetho_signal.wheezes import WHEEZE_NPERSEG
from stetho_sim.sounds import FS_HZ
from tests.stetho_signal.test_breath_rate import _wide_breathing

_FAST = "respiratory_rate_very_high_during_auscultation"


@pytest.mark.parametrize(
    ("urgent_bpm", "shortest_s"),
    [(25.0, 1.0), (30.0, 1.0), (40.0, 0.75), (50.0, 0.6), (60.0, 0.6), (1000.0, 0.6), (1e300, 0.6)],
)
def test_the_shortest_breath_is_half_an_urgent_one_from_0_6_to_1_s(
    urgent_bpm: float, shortest_s: float
) -> None:
    assert shortest_breath_s(urgent_bpm) == pytest.approx(shortest_s, abs=1e-12)


@pytest.mark.parametrize("urgent_bpm", [0.0, -25.0, math.nan])
def test_an_urgent_rate_that_is_no_rate_is_refused(urgent_bpm: float) -> None:
    with pytest.raises(ValueError, match="urgent breathing rate"):
        shortest_breath_s(urgent_bpm)


@pytest.mark.parametrize("shortest_s", [0.0, -0.5, 1.01, math.nan])
def test_the_search_refuses_a_shortest_breath_out_of_0_to_1_s(shortest_s: float) -> None:
    x = _wide_breathing(20.0, 20.0, 0)
    spectrogram = frame_power(x, FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    with pytest.raises(ValueError, match="shortest breath"):
        respiratory_rate(spectrogram, [], None, None, shortest_s)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_infant_breathing_at_72_is_read_at_72_and_flagged(seed: int) -> None:
    x = _wide_breathing(72.0, 20.0, seed)
    spectrogram = frame_power(x, FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    assert respiratory_rate(spectrogram, []) == pytest.approx(36.0, abs=1.0)  # 60/min search
    result = analyze(x, FS_HZ, "lung", age_band="under_1")
    assert result.lung is not None
    assert result.lung.respiratory_rate_bpm == pytest.approx(72.0, abs=1.0)
    assert _FAST in [f.code for f in result.triage.flags]


def test_read_at_half_the_infant_would_be_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the under-1 band's analysis with the adult search reads 36, no flag."""
    monkeypatch.setattr(analysis, "shortest_breath_s", lambda urgent_bpm: 1.0)
    result = analyze(_wide_breathing(72.0, 20.0, 0), FS_HZ, "lung", age_band="under_1")
    assert result.lung is not None
    assert result.lung.respiratory_rate_bpm == pytest.approx(36.0, abs=1.0)
    assert _FAST not in [f.code for f in result.triage.flags]


@pytest.mark.parametrize("band", ["adult", "5_to_12", "12_to_16"])
def test_bands_whose_urgent_rate_is_under_30_keep_the_60_per_minute_search(band: str) -> None:
    result = analyze(_wide_breathing(72.0, 20.0, 0), FS_HZ, "lung", age_band=band)
    assert result.lung is not None
    assert result.lung.respiratory_rate_bpm == pytest.approx(36.0, abs=1.0)


def test_an_adult_breathing_at_18_reads_the_same_either_search() -> None:
    x = _wide_breathing(18.0, 20.0, 3)
    spectrogram = frame_power(x, FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    adult = respiratory_rate(spectrogram, [])
    assert adult is not None
    assert adult == pytest.approx(18.0, abs=1.0)
    assert respiratory_rate(spectrogram, [], None, None, 0.6) == adult
