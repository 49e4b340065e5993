"""The lung probes of ``bench`` on synthetic inputs: known phases, a known resonance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench._eval_lung_probe import crackle_phase_probe
from bench.wheeze_probe import _with_novelty
from stetho_signal import wheezes
from stetho_signal._spectra import frame_power

FS = 4000.0


def _recording(folder: Path, name: str, crackles: int, times: list[float]) -> dict[str, object]:
    # Four 3 s cycles; the annotation's crackle column is the same for all of them.
    rows = [f"{3.0 * k:.1f}\t{3.0 * (k + 1):.1f}\t{crackles}\t0" for k in range(4)]
    (folder / f"{name}.txt").write_text("\n".join(rows) + "\n")
    return {"file": f"{name}.wav", "patient": name.split("_")[0], "crackle_times_s": times}


def test_crackle_phases_are_measured_within_annotated_cycles(tmp_path: Path) -> None:
    early = [3.0 * k + 0.3 for k in range(4)]  # phase 0.1 in every cycle
    late = [3.0 * k + 2.4 for k in range(2)]  # phase 0.8 in two cycles
    records = [
        _recording(tmp_path, "1_a", 1, early),
        _recording(tmp_path, "2_a", 0, late),
        _recording(tmp_path, "3_a", 0, []),
    ]
    probe = crackle_phase_probe(tmp_path, records)
    first, second, third = probe["per_recording"]
    assert (first["phase_R"], first["first_half_share"], first["cycle_share"]) == (1.0, 1.0, 1.0)
    assert (second["first_half_share"], second["cycle_share"]) == (0.0, 0.5)
    assert third["detections"] == 0.0 and third["phase_R"] == 0.0
    best = probe["oracle_cut"]["first_half_share"]
    assert (best["sensitivity"], best["specificity"]) == (1.0, 1.0)
    assert probe["leave_one_patient_out"]["first_half_share"].keys() == {
        "sensitivity",
        "specificity",
    }


def test_novelty_drops_a_resonance_present_in_every_frame_and_keeps_an_added_tone() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(int(8 * FS)) / FS
    x = 0.05 * rng.standard_normal(t.size)
    x += 0.05 * np.sin(2 * np.pi * 453.0 * t)  # a resonance, always there
    added = (t > 3.0) & (t < 3.5)
    x[added] += 0.1 * np.sin(2 * np.pi * 781.0 * t[added])  # a tone in one stretch only
    freqs, _, power = frame_power(x, FS, wheezes.WHEEZE_NPERSEG, wheezes.WHEEZE_NPERSEG // 2)
    inside = np.flatnonzero((freqs >= 100.0) & (freqs <= 1600.0))
    band = slice(int(inside[0]), int(inside[-1]) + 1)
    shipped = wheezes._tonal_frames(power, band)
    probed = _with_novelty(6.0)(power, band)
    tone_hz = freqs[band][shipped.best_bin]
    resonance = shipped.tonal & (np.abs(tone_hz - 453.0) < 20.0)
    tone = shipped.tonal & (np.abs(tone_hz - 781.0) < 20.0)
    assert resonance.sum() > 10 and tone.sum() >= 5
    assert not (probed.tonal & resonance).any()
    assert (probed.tonal & tone).sum() == tone.sum()
