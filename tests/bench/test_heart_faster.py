"""Faster hearts from real recordings: the cut keeps the sounds, shortens diastole most."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import _faster_lopo, _retime, heart_faster
from bench.evaluate import _reference_rate
from stetho_signal import _half_rate

DATA = Path("../shared/data")


def _beats(period: float, systole: float, beats: int) -> np.ndarray:
    """An annotation of ``beats`` cycles: S1 0.1 s, systole, S2 0.08 s, diastole, then S1."""
    rows, t = [], 0.0
    for _ in range(beats):
        gap = systole - 0.09
        rows += [(t, t + 0.1, 1), (t + 0.1, t + 0.1 + gap, 2)]
        rows += [(t + 0.1 + gap, t + 0.18 + gap, 3), (t + 0.18 + gap, t + period, 4)]
        t += period
    rows.append((t, t + 0.1, 1))
    return np.array(rows, dtype=np.float64)


def test_faster_keeps_every_sound_and_shortens_diastole_most() -> None:
    fs = 4000.0
    seg = _beats(0.75, 0.3, 8)  # 80/min
    x = np.random.default_rng(1).standard_normal(round(seg[-1, 1] * fs))
    y, new = heart_faster.quicken(x, fs, seg, 80.0 / 160.0)
    assert _reference_rate(new) == pytest.approx(160.0, abs=1.0)
    assert y.size == pytest.approx(round(new[-1, 1] * fs), abs=1)
    # S1 and S2 keep their samples and their annotated length.
    for old_row, new_row in zip(seg, new, strict=True):
        if old_row[2] in (1, 3):
            a, b = round(old_row[0] * fs), round(old_row[1] * fs)
            c = round(new_row[0] * fs)
            assert np.array_equal(y[c : c + b - a], x[a:b])
    systole, diastole = phases(new)
    # Half the cycle, the systole by sqrt(1/2) only: diastole takes the rest.
    assert systole == pytest.approx(0.3 * 0.5**0.5, abs=0.002)
    assert diastole == pytest.approx(0.375 - systole, abs=0.002)


def phases(seg: np.ndarray) -> tuple[float, float]:
    """Median S1-S2 and S2-S1 intervals of an annotation (sound centres), seconds."""
    centre = (seg[:, 0] + seg[:, 1]) / 2
    s1, s2 = centre[seg[:, 2] == 1], centre[seg[:, 2] == 3]
    return float(np.median(s2 - s1[:-1])), float(np.median(s1[1:] - s2))


def test_the_crossfade_keeps_the_level_of_noise() -> None:
    x = np.random.default_rng(2).standard_normal(4000)
    y = _retime._cut_middle(x, 1500, 4000.0)
    assert y.size == 2500
    join = y[1230:1270]  # the 10 ms equal-power join
    assert float(np.std(join)) == pytest.approx(1.0, abs=0.35)


def test_a_phase_keeps_its_minimum_when_the_target_is_out_of_reach() -> None:
    fs = 4000.0
    seg = _beats(0.6, 0.28, 6)
    x = np.zeros(round(seg[-1, 1] * fs))
    _, new = heart_faster.quicken(x, fs, seg, 0.1)  # 1,000/min asked
    gaps = new[np.isin(new[:, 2], (2, 4))]
    assert float(np.min(gaps[:, 1] - gaps[:, 0])) >= _retime.MIN_PHASE_S - 1e-9


@pytest.mark.parametrize(
    ("estimate", "kind"),
    [(128.0, "within"), (65.0, "half"), (260.0, "double"), (100.0, "other"), (None, "none")],
)
def test_reads_are_sorted_by_kind(estimate: float | None, kind: str) -> None:
    assert heart_faster.read_kind(estimate, 130.0) == kind


def test_without_a_data_folder_the_check_skips_with_a_reason(tmp_path: Path) -> None:
    assert "STETHO_DATA" in heart_faster.run(tmp_path)["skipped"]


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data folder")
def test_a_real_tricuspid_recording_made_faster_keeps_its_rate() -> None:
    """14998_TV (a child at 111/min): read at half rate at 170/min before the guard's
    sounds-between test (bench.heart_faster, sixth round)."""
    row = next(r for r in heart_faster.manifest(DATA) if r["relpath"].endswith("/14998_TV.wav"))
    seg = heart_faster.annotated_beats(np.loadtxt(DATA / row["annotation_file"], ndmin=2))
    assert seg is not None
    x, fs = heart_faster.read_audio(DATA / row["relpath"])
    item = {"name": "14998_TV", "murmur": row["murmur"], "x": x, "fs": fs, "seg": seg}
    reads = {r["target"]: r for r in heart_faster.run_one(item)}
    assert set(reads) == {"original", 130.0, 150.0, 170.0, 190.0}
    for target, record in reads.items():
        assert record["read"] == "within", (target, record)
    assert reads[170.0]["hr_reference_bpm"] == pytest.approx(170.0, abs=3.0)


def test_the_share_is_scored_leave_one_patient_out() -> None:
    # Two patients; the guard's test reads patient 1's record right only when it fires (its
    # share is 0.35), patient 2's never measures one: held out, patient 1 gets the kept point.
    records = [
        {"name": "1_TV", "target": 170.0, "middle_share": 0.35, "read": "half"},
        {"name": "2_AV", "target": 170.0, "middle_share": None, "read": "within"},
    ]

    def score(x: np.ndarray, fs: float, seg: np.ndarray) -> dict[str, object]:
        return {"read": "within" if _half_rate._MIDDLE_SHARE == 0.0 else "half"}

    def versions(item: dict[str, object]) -> tuple[float, list[tuple[object, object, object]]]:
        return 100.0, [(170.0, np.zeros(4), np.zeros((1, 3)))]

    items = [{"name": "1_TV", "fs": 4000.0}, {"name": "2_AV", "fs": 4000.0}]
    result = _faster_lopo.middle_share_lopo(items, records, versions, score)
    assert result["reads_by_value"]["0.3"] == {"within": 2}
    assert result["reads_by_value"]["0.5"] == {"half": 1, "within": 1}
    assert result["leave_one_patient_out"] == {"half": 1, "within": 1}
    assert _half_rate._MIDDLE_SHARE == 0.5
