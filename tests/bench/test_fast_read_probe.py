"""bench.fast_read_probe scored on hand-made reads; `python -m bench.fast_read_probe` runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench import fast_read_probe as probe
from stetho_signal import TriageThresholds
from tests.bench.test_heart_faster import _beats


def _read(rate: float | None, ref: float | None, **measured: Any) -> dict[str, Any]:
    values = {"repeat": 0.5, "prominence": 5.0, "share": 0.1, "span": 0.95} | measured
    return {"set": "breath", "rate": rate, "ref": ref, "intervals": 10, **values}


def test_a_read_is_true_near_its_reference_false_well_over_it_or_with_no_heart() -> None:
    assert probe.label(_read(None, 100.0)) is None
    assert probe.label(_read(137.0, 130.0)) == "true"  # within 8 %
    assert probe.label(_read(150.0, 130.0)) == "other"
    assert probe.label(_read(200.0, 130.0)) == "false"
    assert probe.label(_read(210.0, None)) == "false"


def test_each_arm_takes_what_the_rule_takes() -> None:
    t = TriageThresholds()
    no = (False, False, False, False)
    assert probe.arms(_read(200.0, 130.0, repeat=-0.09, prominence=2.6), t) == (True, *no[1:])
    assert probe.arms(_read(200.0, 130.0, repeat=-0.09, prominence=4.0), t) == no
    assert probe.arms(_read(210.0, None, share=0.77, span=0.62), t) == (False, True, False, False)
    assert probe.arms(_read(210.0, None, share=0.77, span=None), t) == no
    assert probe.arms(_read(200.0, 130.0, step=0.796), t) == (False, False, True, False)
    faint = _read(200.0, 130.0, repeat=0.19, beat_prominence=3.9)
    assert probe.arms(faint, t) == (*no[:3], True)
    assert probe.arms(faint | {"beat_prominence": 4.0}, t) == no
    assert probe.arms(faint | {"repeat": 0.2}, t) == no
    assert probe.arms(faint | {"beat_prominence": None}, t) == no
    assert probe.arms(_read(200.0, 130.0, step=0.795), t) == no  # at the bound: kept
    assert probe.arms(_read(200.0, 130.0, step=None), t) == no


def test_the_summary_counts_fast_reads_on_enough_intervals_only() -> None:
    reads = [
        _read(200.0, 130.0, repeat=-0.09, prominence=2.6),
        _read(180.0, 180.0),
        _read(120.0, 120.0),  # under 131/min
        _read(180.0, 180.0) | {"intervals": 3},
    ]
    table = probe.summarise(reads, TriageThresholds())
    assert table["all"]["reads"] == {"false": 1, "true": 1}
    assert table["all"]["either"] == {"false": 1} and table["breath"]["quiet_and_faint"]
    assert table["nearest_true"]["span_lowest"][0]["span"] == 0.95


def test_without_a_data_folder_the_probe_skips_with_a_reason(tmp_path: Path) -> None:
    assert "STETHO_DATA" in probe.run(tmp_path)["skipped"]


def test_the_breath_and_rhythm_sets_hear_each_recording_under_breath(monkeypatch: Any) -> None:
    fs = 4000.0
    seg = _beats(0.75, 0.3, 8)  # 80/min: slowed to 60, 50, 45, 40 and 35/min, and AF-like
    rng = np.random.default_rng(7)
    x = 0.01 * rng.standard_normal(round(seg[-1, 1] * fs))
    lung = (rng.standard_normal(round(3.0 * fs)), fs)
    item = {"name": "synthetic", "murmur": "normal", "x": x, "fs": fs, "seg": seg}
    monkeypatch.setattr(probe, "_ITEMS", [item])
    monkeypatch.setattr(probe, "_LUNGS", [lung])
    reads = probe._real(("rhythms", 0))
    conditions = {r["condition"] for r in reads}
    assert conditions == set(probe.RHYTHM_CONDITIONS)
    assert {r["version"] for r in reads} >= {"60", "35", "AF cv 0.25"}
    breath = probe._real(("breath", 0))
    assert {r["ratio"] for r in breath} == set(probe.BREATH_RATIOS)


def test_the_irregular_simulated_set_holds_fast_af_like_hearts_under_breath() -> None:
    jobs = [arg for kind, arg in probe._jobs() if kind == "simulated_irregular"]
    assert len(jobs) == 4 * 3 * 2 * 3 * 2 * 2
    assert {j["rr_variation"] for j in jobs} == {0.15, 0.25}
    clear = {"heart_gain": 1.0, "breath_gain": 0.1, "crackles": False, "seed": 0,
             "heart_rate_bpm": 140.0, "rr_variation": 0.25}  # fmt: skip
    (read,) = probe._run_job(("simulated_irregular", {**jobs[0], **clear}))
    assert read["set"] == "simulated_irregular" and read["ref"] > 131.0
    assert probe.label(read) == "true"


def test_a_lung_recordings_own_heart_repeats_at_a_heart_period_and_noise_does_not() -> None:
    fs = 4000.0
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(round(20 * fs))
    heart = noise * 0.05
    n = round(0.08 * fs)
    for t in np.arange(0.3, 19.5, 0.8):  # 75/min, 50 Hz thuds
        at = round(t * fs)
        heart[at : at + n] += np.hanning(n) * np.sin(2 * np.pi * 50 * np.arange(n) / fs)
    assert probe.own_heart_repeat(heart, fs) > 0.5
    assert probe.own_heart_repeat(noise, fs) < probe.FAINT_HEART_REPEAT


def test_the_low_band_breath_set_breathes_only_lungs_with_a_faint_heart(monkeypatch: Any) -> None:
    fs = 4000.0
    seg = _beats(0.75, 0.3, 8)
    rng = np.random.default_rng(8)
    x = 0.01 * rng.standard_normal(round(seg[-1, 1] * fs))
    lungs = [(rng.standard_normal(round(3.0 * fs)) + 5.0, fs) for _ in range(3)]
    item = {"name": "synthetic", "murmur": "normal", "x": x, "fs": fs, "seg": seg}
    monkeypatch.setattr(probe, "_ITEMS", [item])
    monkeypatch.setattr(probe, "_LUNGS", lungs)
    monkeypatch.setattr(probe, "_LOWBAND", [2])
    reads = probe._real(("breath_lowband", 0))
    assert {r["lung"] for r in reads} == {2}
    assert {r["ratio"] for r in reads} == set(probe.BREATH_RATIOS)
    assert abs(float(np.mean(probe.low_band_breath(lungs[0], 12000, fs)))) < 1e-9
    assert [k for kind, k in probe._jobs() if kind == "lungs_lowband"] == [2]
