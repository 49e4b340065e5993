"""The seventh round's per-cycle lung model on synthetic inputs: features, gates, nested LOPO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import _eval_cycle_model as model
from bench._eval_lung_round7 import (
    CRACKLE_FEATURES,
    WHEEZE_FEATURES,
    _measure,
    breath_windows,
    crackle_rows,
    wheeze_rows,
)

DATA = Path("../shared/data")


def test_breath_windows_tile_the_recording_and_drop_a_short_last_one() -> None:
    windows = breath_windows(10.0, 4.0)  # 0-4, 4-8, and 8-10 (half a breath: kept)
    assert windows.tolist() == [[0.0, 4.0], [4.0, 8.0], [8.0, 10.0]]
    assert breath_windows(9.5, 4.0).shape == (2, 2)  # 8-9.5 is under half a breath
    assert breath_windows(0.5, 4.0).shape == (0, 2)


def test_crackle_rows_count_each_kind_of_detection_in_the_span() -> None:
    # (time, spike share, damped-fit R2, near a heart sound)
    detections = np.array(
        [[1.0, 0.5, 0.7, 0.0], [1.5, 0.8, 0.4, 1.0], [3.0, 0.3, 0.9, 0.0], [9.0, 0.5, 0.7, 0.0]]
    )
    rows = crackle_rows(detections, 0.2, np.array([[0.0, 2.0], [2.5, 5.0], [5.0, 8.0]]))
    assert rows.shape == (3, len(CRACKLE_FEATURES))
    expected_first = [*np.log1p([2, 1, 1, 1, 2]).tolist(), 0.2]
    assert rows[0].tolist() == pytest.approx(expected_first)
    assert rows[2, :4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert rows[2, 4] == pytest.approx(np.log1p(4))
    assert crackle_rows(np.zeros((0, 4)), 0.5, np.array([[0.0, 1.0]]))[0, 0] == 0.0


def test_wheeze_rows_measure_tone_overlap_share_and_flow() -> None:
    # (start, end, band share, flow rank)
    low = np.array([[1.0, 1.4, 0.3, 0.9], [6.0, 6.2, 0.05, 0.2]])
    high = np.array([[1.1, 1.3, 0.3, 0.9]])
    rows = wheeze_rows({6.0: low, 9.0: high}, np.array([[0.0, 2.0], [3.0, 5.0]]))
    assert rows.shape == (2, len(WHEEZE_FEATURES))
    assert rows[0].tolist() == pytest.approx([0.4, 0.2, 0.3, 0.9, np.log1p(1)])
    assert rows[1].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0, np.log1p(2)])


def _recordings(gated: bool = False) -> list[model.Recording]:
    """Six patients, two recordings each; cycles with the sound carry feature 0 near 2 (the
    gate, if any, shuts each recording's last cycle)."""
    rng = np.random.default_rng(3)
    out = []
    for p in range(6):
        for r in range(2):
            truth = (p + r) % 2 == 0
            labels = np.array([truth and c < 2 for c in range(5)])
            x = np.column_stack([np.where(labels, 2.0, 0.0), np.zeros(5)])
            x += 0.3 * rng.standard_normal(x.shape)
            gate = np.arange(5) != 4 if gated else np.ones(5, dtype=bool)
            out.append(
                model.Recording(
                    patient=f"p{p}",
                    truth=truth,
                    cycles=x,
                    labels=labels,
                    units={"annotated": x},
                    cycle_gate=gate,
                    unit_gates={"annotated": gate},
                )
            )
    return out


def test_nested_lopo_finds_separable_cycles_with_each_patient_held_out() -> None:
    recordings = _recordings()
    truth = [r.truth for r in recordings]
    held = model.nested_lopo(recordings, "annotated")
    assert held["flags"] == truth
    assert held["per_cycle"]["sensitivity"] == 1.0
    assert held["per_cycle"]["specificity"] == 1.0
    assert len(held["chosen_per_patient"]) == 6
    plain = model.plain_fit(recordings, "annotated")
    assert plain["flags"] == truth
    assert len(plain["model"]["weights"]) == 3  # intercept and two features


def test_a_shut_gate_never_counts_towards_a_flag() -> None:
    recordings = _recordings(gated=True)
    # Every gated-out unit reads probability 0, whatever the model says.
    fitted = model.plain_fit(recordings, "annotated")
    assert fitted["flags"] == [r.truth for r in recordings]
    silent = model.Recording(
        patient="q",
        truth=True,
        cycles=np.full((3, 2), 5.0),
        labels=np.ones(3, dtype=bool),
        units={"annotated": np.full((3, 2), 5.0)},
        cycle_gate=np.zeros(3, dtype=bool),
        unit_gates={"annotated": np.zeros(3, dtype=bool)},
    )
    probabilities = model._inner_probabilities(
        [*recordings, silent], range(len(recordings) + 1), 3.0, "annotated"
    )
    assert probabilities[len(recordings)].tolist() == [0.0, 0.0, 0.0]


def test_flags_scores_and_patients() -> None:
    probabilities = [np.array([0.9, 0.2]), np.array([0.6, 0.7, 0.8]), np.zeros(0)]
    assert model.flags(probabilities, 0.5, 1) == [True, True, False]
    assert model.flags(probabilities, 0.5, 2) == [False, True, False]
    s = model.scores([True, False, False], [True, True, False])
    assert (s["sensitivity"], s["specificity"]) == (1.0, 0.5)
    assert model.scores([False], [False])["sensitivity"] is None
    patients = model.per_patient(["a", "a", "b"], [True, False, False], [False, True, False])
    assert (patients["sensitivity"], patients["specificity"]) == (1.0, 1.0)


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data folder")
def test_one_icbhi_recording_gives_cycles_windows_and_tones() -> None:
    name = "lung/icbhi/audio_and_txt_files/104_1b1_Ar_sc_Litt3200.wav"
    record = {"file": name, "patient": "104", "crackle_times_s": [1.0], "rr_estimate_bpm": 15.0}
    row = _measure(DATA, record)
    assert row["cycles"].shape[1] == 4
    assert row["windows"].shape == (6, 2)  # 25.6 s at 4 s a breath
    assert row["detections"].shape == (1, 4)
    assert set(row["tones"]) == {6.0, 9.0}
    assert row["tones"][6.0].shape[0] >= row["tones"][9.0].shape[0]
