"""Slower and irregular hearts from real recordings: the retiming keeps the sounds, fills a
longer phase with its own quiet background, and moves the annotation with the samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from bench import _retime, heart_conditions, heart_faster, heart_rhythms
from bench.evaluate import _reference_rate
from stetho_signal import analyze
from tests.bench.test_heart_faster import _beats, phases

DATA = Path("../shared/data")


def _sounds_kept(x: np.ndarray, y: np.ndarray, seg: np.ndarray, new: np.ndarray) -> None:
    """Every S1 and S2 of ``seg`` stands, sample for sample, where ``new`` puts it."""
    fs = 4000.0
    for old_row, new_row in zip(seg, new, strict=True):
        if old_row[2] in (1, 3):
            a, b = round(old_row[0] * fs), round(old_row[1] * fs)
            c = round(new_row[0] * fs)
            assert np.array_equal(y[c : c + b - a], x[a:b])
            assert new_row[1] - new_row[0] == pytest.approx(old_row[1] - old_row[0], abs=1e-3)


def test_slower_keeps_every_sound_and_lengthens_diastole_most() -> None:
    fs = 4000.0
    seg = _beats(0.75, 0.3, 8)  # 80/min
    x = np.random.default_rng(1).standard_normal(round(seg[-1, 1] * fs))
    y, new = heart_rhythms.slower(x, fs, seg, 2.0, _retime.seeded("test"))  # to 40/min
    assert _reference_rate(new) == pytest.approx(40.0, abs=0.5)
    assert y.size == round(new[-1, 1] * fs)
    _sounds_kept(x, y, seg, new)
    systole, diastole = phases(new)
    # Twice the cycle, the systole by sqrt(2) only: diastole takes the rest.
    assert systole == pytest.approx(0.3 * 2.0**0.5, abs=0.002)
    assert diastole == pytest.approx(1.5 - systole, abs=0.002)


def test_a_longer_diastole_is_filled_with_its_quiet_background_not_its_sounds() -> None:
    fs = 4000.0
    seg = _beats(0.8, 0.3, 6)
    rng = np.random.default_rng(3)
    x = 0.01 * rng.standard_normal(round(seg[-1, 1] * fs))
    # An S3-like knock in the middle of each diastole: once per beat, never copied.
    for start, end, state in seg.tolist():
        if state == 4:
            mid = round((start + end) / 2 * fs)
            x[mid : mid + 40] += 1.0
    y, new = heart_rhythms.slower(x, fs, seg, 2.5, _retime.seeded("knock"))
    knocks = np.flatnonzero(np.abs(y) > 0.5)
    runs = 1 + int(np.count_nonzero(np.diff(knocks) > 1))
    assert runs == 6
    # The fill keeps the background's level: no click at a join, no silence.
    dia = new[new[:, 2] == 4][0]
    a, b = round(dia[0] * fs), round(dia[1] * fs)
    frames = y[a : a + (b - a) // 40 * 40].reshape(-1, 40)
    levels = np.sqrt(np.mean(frames**2, axis=1))
    assert np.count_nonzero(levels > 0.016) <= 2  # the one knock, across two frames at most
    assert float(np.min(levels)) > 0.006


def test_a_low_knock_under_louder_hiss_is_not_copied_into_the_fill() -> None:
    # An S3-like 40 Hz knock in each diastole, under a hiss that keeps it under four times the
    # median frame power over the whole band: in the heart-sound band it stands 20 times over.
    fs = 4000.0
    seg = _beats(0.8, 0.3, 6)
    rng = np.random.default_rng(5)
    x = 0.05 * rng.standard_normal(round(seg[-1, 1] * fs))
    knock = 0.1 * np.sin(2 * np.pi * 40.0 * np.arange(200) / fs)
    for start, end, state in seg.tolist():
        if state == 4:
            mid = round((start + end) / 2 * fs)
            x[mid : mid + 200] += knock
    y, _ = heart_rhythms.slower(x, fs, seg, 2.5, _retime.seeded("low knock"))
    sos = signal.butter(4, (25.0, 200.0), "bandpass", fs=fs, output="sos")
    band = signal.sosfiltfilt(sos, y)
    frames = band[: band.size // 40 * 40].reshape(-1, 40)
    loud = np.flatnonzero(np.mean(frames**2, axis=1) > 8.0 * np.median(np.mean(frames**2, axis=1)))
    runs = 1 + int(np.count_nonzero(np.diff(loud) > 2))
    assert runs == 6  # the six knocks where they were, no copy in the lengthened diastoles


def test_the_insert_is_exact_and_its_joins_keep_the_level_of_noise() -> None:
    x = np.random.default_rng(2).standard_normal(4000)
    y = _retime._insert_middle(x, 2500, 4000.0, _retime.seeded("join"), [x[1000:3000]])
    assert y.size == 6500
    assert np.array_equal(y[:1960], x[:1960])  # up to the first 10 ms join, the original
    assert np.array_equal(y[-1960:], x[-1960:])
    assert float(np.std(y[1960:-1960])) == pytest.approx(1.0, abs=0.1)


def test_af_cycles_are_irregular_bounded_and_keep_their_mean() -> None:
    cycles = heart_rhythms.af_cycles(400, 0.6, 0.2, np.random.default_rng(5))
    assert float(np.mean(cycles)) == pytest.approx(0.6, abs=1e-9)
    assert float(np.std(cycles) / np.mean(cycles)) == pytest.approx(0.2, abs=0.03)
    assert float(np.min(cycles)) >= 0.6 * 0.55 and float(np.max(cycles)) <= 0.6 * 1.45
    # No pattern: successive cycles are uncorrelated.
    assert abs(float(np.corrcoef(cycles[:-1], cycles[1:])[0, 1])) < 0.15


def test_an_irregular_rhythm_moves_the_annotation_with_the_samples() -> None:
    fs = 4000.0
    seg = _beats(0.75, 0.3, 10)
    x = np.random.default_rng(4).standard_normal(round(seg[-1, 1] * fs))
    y, new = heart_rhythms.irregular(x, fs, seg, 80.0, 0.2, _retime.seeded("af"))
    assert y.size == round(new[-1, 1] * fs)
    _sounds_kept(x, y, seg, new)
    assert heart_rhythms.reference_nrmssd(new) > 0.1
    assert heart_rhythms.reference_nrmssd(seg) == 0.0


def test_the_count_reference_is_the_beats_over_their_span_not_the_median() -> None:
    # Cycles of 0.5, 0.5, 0.5 and 1.5 s: the median reads 120/min, the count 4 beats in 3 s.
    late = _beats(1.5, 0.3, 1) + np.array([1.5, 1.5, 0.0])
    seg = np.concatenate([_beats(0.5, 0.25, 3)[:-1], late])
    assert _reference_rate(seg) == pytest.approx(120.0)
    assert heart_rhythms.count_reference(seg) == pytest.approx(80.0)
    # An unannotated stretch splits the beats: the 1.5 s gap it spans is not counted.
    gap = seg.copy()
    gap[(gap[:, 0] >= 1.5) & (gap[:, 0] < 3.0), 2] = 0
    assert heart_rhythms.count_reference(gap) == pytest.approx(120.0)
    assert heart_rhythms.count_reference(seg[:1]) is None


def test_without_a_data_folder_the_check_skips_with_a_reason(tmp_path: Path) -> None:
    assert "STETHO_DATA" in heart_rhythms.run(tmp_path)["skipped"]


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data folder")
def test_a_real_slowed_heart_under_breath_is_read_at_its_rate() -> None:
    """85345_AV (a child at 114/min, sounds about 12 dB over its hiss) made to beat at 45/min
    under breathing at half its RMS, as bench.fast_read_probe hears it: read at 136/min and
    urgent, the chain paid by noise peaks in the diastoles (docs/accuracy.md, fourteenth
    round)."""
    found = [i for i in heart_faster.recordings(DATA) if "x" in i]
    k = next(k for k, i in enumerate(found) if i["name"] == "85345_AV")
    lungs = heart_conditions.lung_recordings(DATA)
    item, lung = found[k], lungs[k % len(lungs)]  # the breath the probe gives it
    x, seg = next((x, s) for t, x, s in heart_rhythms.versions(item)[1] if t == "45")
    y, fs = heart_conditions.heard(
        "breathing_half",
        x,
        item["fs"],
        item["name"],
        heart_conditions.breath(lung, x.size, item["fs"]),
    )
    result = analyze(y, fs, "heart")
    assert result.heart is not None and result.heart.rate_bpm is not None
    assert result.heart.rate_bpm == pytest.approx(_reference_rate(seg), abs=5.0)
    assert result.triage.level != "urgent"
