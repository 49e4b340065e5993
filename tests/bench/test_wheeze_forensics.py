"""The wheeze forensics probe names what an annotated wheezy cycle holds."""

from __future__ import annotations

import numpy as np

from bench import wheeze_forensics as forensics
from stetho_signal._audio import ANALYSIS_RATE_HZ

FS = ANALYSIS_RATE_HZ


def _breath(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.05 * rng.standard_normal(int(seconds * FS))


def _with_tone(x: np.ndarray, start_s: float, end_s: float, hz: float, amp: float) -> np.ndarray:
    x = x.copy()
    a, b = int(start_s * FS), int(end_s * FS)
    x[a:b] += amp * np.sin(2 * np.pi * hz * np.arange(b - a) / FS) * np.hanning(b - a)
    return x


def test_a_held_loud_tone_is_found() -> None:
    rec = forensics._Recording(_with_tone(_breath(), 1.0, 2.0, 400.0, 0.2), 0.1)
    row = rec.cycle(0.5, 2.5)
    assert row["cause"] == "found"
    assert abs(row["peak_hz"] - 400.0) < 20.0
    assert row["run_ms"]["9"] >= 100


def test_a_brief_tone_is_brief_and_white_noise_holds_no_wheeze() -> None:
    rec = forensics._Recording(_with_tone(_breath(), 1.0, 1.07, 400.0, 0.4), 0.1)
    assert rec.cycle(0.8, 1.3)["cause"] in ("brief", "click")
    plain = forensics._Recording(_breath(seed=1), 0.1)
    assert plain.cycle(0.5, 3.5)["cause"] in ("no_tone", "faint", "brief")
    assert not plain.found


def test_the_longest_run_follows_the_peak_within_two_bins() -> None:
    prominent = np.array([True, True, True, False, True, True, True, True])
    bins = np.array([10, 11, 12, 0, 30, 31, 40, 41])
    assert forensics.longest_run(prominent, bins, 0, 8) == (0, 3)
    assert forensics.longest_run(prominent, bins, 3, 4) == (3, 3)


def _rec(patient: str, wheezes: bool, flagged: bool, shares: list[float]) -> dict[str, object]:
    return {"patient": patient, "wheezes": wheezes, "flagged": flagged, "brief_shares_db": shares}


def test_the_loud_brief_rule_flags_by_share_and_is_scored_leaving_a_patient_out() -> None:
    recordings = [
        _rec("1", True, False, [-2.0]),
        _rec("2", True, True, []),
        _rec("3", False, False, [-8.0]),
        _rec("4", False, False, []),
    ]
    result = forensics.loud_brief(recordings)
    assert result["members"]["shipped"] == (0.5, 1.0)
    assert result["members"]["-3 dB"] == (1.0, 1.0)
    assert result["members"]["-9 dB"] == (1.0, 0.5)
    # patient 1 held out: the others hold no loud brief tone, the shipped search is kept
    assert result["leave_one_patient_out"] == (0.5, 1.0)
