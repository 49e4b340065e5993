"""The wheeze forensics probe names what an annotated wheezy cycle holds."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_the_runs_behind_a_flag_carry_their_pitch_and_both_lengths() -> None:
    # A 150 Hz hanning-shaped tone of 1 s: half its peak amplitude for 0.5 s.
    rec = forensics._Recording(_with_tone(_breath(), 1.0, 2.0, 150.0, 0.2), 0.1)
    [run] = rec.corsa
    assert abs(run["pitch_hz"] - 150.0) < 16.0
    assert run["frames_ms"] == round(run["frames"] * rec.hop_s * 1000.0) >= 250
    assert 450 <= run["held_ms"] <= 550
    assert run["start_s"] < 1.5 < run["end_s"]
    assert forensics._Recording(_breath(seed=1), 0.1).corsa == []


def _run(pitch_hz: float, frames_ms: int, held_ms: int) -> dict[str, float]:
    return {"pitch_hz": pitch_hz, "frames_ms": frames_ms, "held_ms": held_ms}


def test_the_rhonchus_rule_asks_only_low_tones_to_last_by_its_measure() -> None:
    ats = (200.0, 0.25, "both")
    assert forensics.kept(_run(203.1, 128, 128), ats)  # above the bound: CORSA's 100 ms
    assert forensics.kept(_run(187.5, 256, 240), ats)  # 8 frames, held within the 10 ms slack
    assert not forensics.kept(_run(187.5, 224, 400), ats)
    assert not forensics.kept(_run(187.5, 256, 239), ats)
    assert forensics.kept(_run(109.4, 128, 311), (200.0, 0.25, "held"))
    assert not forensics.kept(_run(109.4, 128, 311), (200.0, 0.25, "frames"))
    assert forensics.kept(_run(156.2, 224, 100), (200.0, 0.2, "frames"))
    assert forensics.kept(_run(156.2, 128, 128), (150.0, 0.25, "both"))
    assert forensics.kept(_run(109.4, 128, 128), None)
    assert forensics.member_name(ats) == "under 200 Hz 250 ms both"
    members = forensics.rhonchus_members()
    assert members[:2] == [None, ats] and len(members) == 13


def _rec_runs(file: str, patient: str, wheezes: bool, *runs: dict[str, float]) -> dict[str, object]:
    return {"file": file, "patient": patient, "wheezes": wheezes, "runs": list(runs)}


def test_the_rhonchus_rule_is_scored_per_recording_per_patient_and_held_out() -> None:
    recordings = [
        _rec_runs("1a", "1", True, _run(400.0, 128, 128)),
        _rec_runs("2a", "2", True, _run(109.4, 128, 311)),  # a short low tone, annotated
        _rec_runs("2b", "2", False),
        _rec_runs("3a", "3", False, _run(109.4, 128, 311)),  # the same, not annotated
        _rec_runs("4a", "4", False),
    ]
    result = forensics.rhonchus(recordings)
    corsa = result["members"]["CORSA 100 ms"]
    assert corsa == {"recording": (1.0, 0.667), "patient": (1.0, 0.5), "moved": []}
    ats = result["members"]["under 200 Hz 250 ms both"]
    assert ats == {"recording": (0.5, 1.0), "patient": (0.5, 1.0), "moved": ["2a", "3a"]}
    assert result["members"]["under 200 Hz 250 ms held"]["moved"] == []
    # patient 2 held out: the rule wins on the others (3a), and loses 2a; patient 3 held
    # out: CORSA wins on the others (2a) and keeps 3a's false flag
    assert result["leave_one_patient_out"] == (0.5, 0.667)


def test_a_long_low_tone_under_breathing_is_found_by_every_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(forensics, "SWEEP_PITCHES_HZ", (150.0,))
    monkeypatch.setattr(forensics, "SWEEP_DURATIONS_S", (0.8,))
    monkeypatch.setattr(forensics, "SWEEP_STARTS_S", (8.0,))
    found = forensics.rhonchus_sweep(seeds=(0,))
    assert len(found) == 13
    assert all(counts == {"150 Hz 0.8 s": 1} for counts in found.values())
