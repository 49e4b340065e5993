"""Seventh round's lung probe: crackle and wheeze decisions learned per breath cycle.

Six rounds of rules and cuts per recording (36 samples) did not reach issue 17's lung
targets. Here a small logistic model is fitted per annotated breath cycle (333 cycles, 19
patients) on what the analysis already measures, and a recording is flagged when k of its
cycles reach probability t (:mod:`bench._eval_cycle_model`: standardised with the training
patients' statistics only, L2, lambda, t and k chosen by leave-one-patient-out inside each
training fold). The annotated cycles give the labels; the decision is applied both to the
annotated cycles (``annotated``: the segmentation a device does not have) and to breath-long
windows from the start at the measured respiratory rate (``windows``: what a device could
do; 15/min when no rate was measured; a last window shorter than half a breath left out).

Per-unit crackle features (the shipped detector's detections, heart sounds gated as
shipped, in the unit):

- ``log_detections``: log1p(detections);
- ``log_not_a_spike``: log1p(those whose energy within +-0.3 ms of the largest deflection is
  under 0.6 of +-4 ms: sixth round's best single test);
- ``log_ringing``: log1p(those whose best damped sinusoid explains R2 >= 0.6, sixth round);
- ``log_off_heart``: log1p(those further than 0.1 s from a prominent 25-200 Hz sound);
- ``log_elsewhere``: log1p(detections in the rest of the recording): the recording's context;
- ``low_band_periodicity``: the recording's 25-150 Hz periodicity at a heart period (fourth
  round's best single measure).

Per-unit wheeze features (tones of the shipped wheeze search, every shipped test kept, held
100 ms, at 6 dB and at the shipped 9 dB prominence):

- ``tone_6db_s``, ``tone_9db_s``: seconds of tones overlapping the unit;
- ``tone_share``: the largest share of the band's power a 6 dB tone in the unit holds (the
  median over its frames; fourth round: 0.40 in wheezy cycles, 0.09-0.12 in others);
- ``tone_flow_rank``: the highest breath-envelope quantile at a 6 dB tone's middle (fifth
  round's closest miss: wheezes need airflow);
- ``log_tones_elsewhere``: log1p(6 dB tones outside the unit).

Timing within the breath is left out: without an annotation a device does not know where a
breath starts, and the third and fifth rounds found no phase that separates the classes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_crackle_features import low_band_periodicity
from bench._eval_cycle_model import (
    Recording,
    nested_lopo,
    patient_level,
    per_patient,
    plain_fit,
    scores,
)
from bench._eval_intervals import held_out_folds
from bench._eval_lung import annotated_cycles
from bench._eval_lung_round5 import flow_ranks
from bench._eval_lung_round6 import damped_fits, lung_inputs, spike_shares
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal.triage import TriageThresholds

CRACKLE_FEATURES = (
    "log_detections",
    "log_not_a_spike",
    "log_ringing",
    "log_off_heart",
    "log_elsewhere",
    "low_band_periodicity",
)
WHEEZE_FEATURES = (
    "tone_6db_s",
    "tone_9db_s",
    "tone_share",
    "tone_flow_rank",
    "log_tones_elsewhere",
)
UNITS = ("annotated", "windows")
# "gated": the model is trained on, and may flag, only units holding a detection (a 6 dB
# tone): a flag then rests on a sound the analysis heard in that breath, and the question
# learned is whether it is a crackle (a wheeze). "any": every unit (the recording's context
# features can then flag a breath in which nothing was heard).
GATES = ("gated", "any")
SPIKE_SHARE = 0.6
RINGING_R2 = 0.6
HEART_REACH_S = 0.1
TONE_PROMINENCES_DB = (6.0, 9.0)
_DEFAULT_BREATH_S = 4.0  # 15/min


def seventh_round_probe(data_dir: Path, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-cycle model figures for crackles and wheezes against the shipped rule."""
    records = list(records)
    rows = [_measure(data_dir, record) for record in records]
    out: dict[str, Any] = {"features": {"crackles": CRACKLE_FEATURES, "wheezes": WHEEZE_FEATURES}}
    for kind, column, flagged_key, cycle_key in (
        ("crackles", 2, "crackles_flagged", "crackle_cycles_tp_fp_fn_tn"),
        ("wheezes", 3, "wheeze_flagged", "wheeze_cycles_tp_fp_fn_tn"),
    ):
        shipped = [bool(r[flagged_key]) for r in records]
        cycles = [r[cycle_key] for r in records]
        out[kind] = {
            "shipped": _shipped(rows, kind, column, shipped, cycles),
            "cycle_feature_means": cycle_feature_means(
                [_recording(row, kind, column, "any") for row in rows],
                CRACKLE_FEATURES if kind == "crackles" else WHEEZE_FEATURES,
            ),
        } | {
            gate: _kind_figures([_recording(row, kind, column, gate) for row in rows], rows)
            for gate in GATES
        }
    out["per_recording"] = [_public(row) for row in rows]
    return out


def _shipped(
    rows: Sequence[dict[str, Any]],
    kind: str,
    column: int,
    flagged: list[bool],
    cycles: Sequence[Sequence[int]],
) -> dict[str, Any]:
    """The shipped rule's figures; per cycle as ``evaluate_icbhi`` counts them."""
    truth = [bool((row["cycles"][:, column] > 0).any()) for row in rows]
    patients = [row["patient"] for row in rows]
    tp, fp, fn, tn = (sum(c[j] for c in cycles) for j in range(4))
    return {
        "per_recording": scores(truth, flagged),
        "per_patient": per_patient(patients, truth, flagged),
        "per_cycle": scores(
            [True] * (tp + fn) + [False] * (fp + tn),
            [True] * tp + [False] * fn + [True] * fp + [False] * tn,
        ),
    }


def _kind_figures(
    recordings: Sequence[Recording], rows: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    truth = [r.truth for r in recordings]
    patients = [r.patient for r in recordings]
    figures: dict[str, Any] = {}
    for unit in UNITS:
        plain = plain_fit(recordings, unit)
        held = nested_lopo(recordings, unit)
        figures[unit] = {
            "plain": {
                "rule": plain["rule"],
                "per_recording": scores(truth, plain["flags"]),
                "per_patient": per_patient(patients, truth, plain["flags"]),
                "per_cycle": plain["per_cycle"],
                "model": plain["model"],
            },
            "leave_one_patient_out": {
                "per_recording": scores(truth, held["flags"]),
                "per_patient": per_patient(patients, truth, held["flags"]),
                "per_cycle": held["per_cycle"],
                "chosen_per_patient": held["chosen_per_patient"],
                "flagged": [row["file"] for row, f in zip(rows, held["flags"], strict=True) if f],
            },
            "held_out_by_patient": {
                "per_recording": held_out_folds(patients, truth, held["flags"]),
                "per_patient": held_out_folds(*patient_level(patients, truth, held["flags"])),
                "per_cycle": held["per_cycle_by_patient"],
            },
        }
    return figures


def _measure(data_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Everything the features are made of, for one recording."""
    path = data_dir / record["file"]
    x, spectrum, fine64, heart, spectrogram = lung_inputs(path)
    times = np.asarray(record["crackle_times_s"], dtype=np.float64)
    near = (
        (np.abs(times[:, None] - heart[None, :]) <= HEART_REACH_S).any(axis=1)
        if heart.size
        else np.zeros(times.size, dtype=bool)
    )
    duration = x.size / ANALYSIS_RATE_HZ
    rate = record["rr_estimate_bpm"]
    return {
        "file": record["file"],
        "patient": record["patient"],
        "cycles": annotated_cycles(path),
        "windows": breath_windows(duration, 60.0 / rate if rate else _DEFAULT_BREATH_S),
        "detections": np.column_stack(
            [times, spike_shares(fine64, times), damped_fits(fine64, times)[:, 0], near]
        ).reshape(-1, 4),
        "periodicity": low_band_periodicity(spectrum),
        "tones": {p: tone_table(x, spectrogram, heart, p) for p in TONE_PROMINENCES_DB},
    }


def breath_windows(duration_s: float, breath_s: float) -> NDArray[np.float64]:
    """(start, end) of breath-long windows from 0; a last one under half a breath left out."""
    starts = np.arange(0.0, duration_s, breath_s)
    ends = np.minimum(starts + breath_s, duration_s)
    keep = ends - starts >= 0.5 * breath_s
    return np.column_stack([starts[keep], ends[keep]])


def tone_table(
    x: NDArray[np.float64],
    spectrogram: Any,
    heart_s: NDArray[np.float64],
    prominence_db: float,
) -> NDArray[np.float64]:
    """Tones of the wheeze search at ``prominence_db``: (start, end, band share, flow rank)."""
    kept = wheezes._WHEEZE_PROMINENCE_DB
    try:
        wheezes._WHEEZE_PROMINENCE_DB = prominence_db
        search = wheezes.WheezeSearch(x, spectrogram)
        found = search.tones(TriageThresholds().wheeze_min_duration_s, heart_s)
    finally:
        wheezes._WHEEZE_PROMINENCE_DB = kept
    if not found or search._tones is None:
        return np.zeros((0, 4))
    tones, band = search._tones, search._band
    centre = wheezes._mean_of_three(tones.smooth, axis=0)
    frames = np.arange(tones.best_bin.size)
    share = (
        3.0
        * centre[tones.best_bin + band.start, frames]
        / np.maximum(tones.smooth[band].sum(axis=0), 1e-30)
    )
    centres = spectrogram[1]
    within = [(centres >= t.start_s) & (centres <= t.end_s) for t in found]
    shares = [float(np.median(share[w])) if w.any() else 0.0 for w in within]
    middles = np.array([0.5 * (t.start_s + t.end_s) for t in found])
    ranks = flow_ranks(spectrogram, middles)
    return np.column_stack([[t.start_s for t in found], [t.end_s for t in found], shares, ranks])


def crackle_rows(
    detections: NDArray[np.float64], periodicity: float, spans: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:data:`CRACKLE_FEATURES` per span; ``detections`` rows are (time, spike share,
    damped-fit R2, near a heart sound)."""
    times, spike, r2, near = detections.T if detections.size else (np.zeros(0),) * 4
    out = []
    for a, b in spans:
        inside = (times >= a) & (times <= b)
        out.append(
            [
                np.log1p(np.count_nonzero(inside)),
                np.log1p(np.count_nonzero(inside & (spike < SPIKE_SHARE))),
                np.log1p(np.count_nonzero(inside & (r2 >= RINGING_R2))),
                np.log1p(np.count_nonzero(inside & (near < 0.5))),
                np.log1p(np.count_nonzero(~inside)),
                periodicity,
            ]
        )
    return np.asarray(out, dtype=np.float64).reshape(-1, len(CRACKLE_FEATURES))


def wheeze_rows(
    tones: dict[float, NDArray[np.float64]], spans: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:data:`WHEEZE_FEATURES` per span from :func:`tone_table` at 6 and 9 dB."""
    low, high = tones[6.0], tones[9.0]
    out = []
    for a, b in spans:
        overlap_low = np.minimum(low[:, 1], b) - np.maximum(low[:, 0], a)
        overlap_high = np.minimum(high[:, 1], b) - np.maximum(high[:, 0], a)
        inside = overlap_low > 0
        out.append(
            [
                float(overlap_low[inside].sum()),
                float(overlap_high[overlap_high > 0].sum()),
                float(low[inside, 2].max(initial=0.0)),
                float(low[inside, 3].max(initial=0.0)),
                np.log1p(np.count_nonzero(~inside)),
            ]
        )
    return np.asarray(out, dtype=np.float64).reshape(-1, len(WHEEZE_FEATURES))


def cycle_feature_means(
    recordings: Sequence[Recording], names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each feature's mean (and share of cycles where it is over 0) over the annotated cycles
    with the sound, those without it in recordings with it, and those of recordings without."""
    groups = {
        "positive_cycles": [r.cycles[r.labels] for r in recordings],
        "other_cycles_of_positive_recordings": [r.cycles[~r.labels] for r in recordings if r.truth],
        "cycles_of_negative_recordings": [r.cycles for r in recordings if not r.truth],
    }
    out = {}
    for group, parts in groups.items():
        rows = np.concatenate(parts)
        out[group] = {"cycles": int(rows.shape[0])} | {
            name: [round(float(rows[:, j].mean()), 3), round(float((rows[:, j] > 0).mean()), 3)]
            for j, name in enumerate(names)
        }
    return out


def _recording(row: dict[str, Any], kind: str, column: int, gate: str) -> Recording:
    def features(spans: NDArray[np.float64]) -> NDArray[np.float64]:
        if kind == "crackles":
            return crackle_rows(row["detections"], row["periodicity"], spans)
        return wheeze_rows(row["tones"], spans)

    def heard(rows: NDArray[np.float64]) -> NDArray[np.bool_]:
        # Column 0 is the unit's detections (log1p) or its seconds of 6 dB tone.
        return rows[:, 0] > 0 if gate == "gated" else np.ones(rows.shape[0], dtype=bool)

    labels = row["cycles"][:, column] > 0
    cycles = features(row["cycles"][:, :2])
    windows = features(row["windows"])
    return Recording(
        patient=row["patient"],
        truth=bool(labels.any()),
        cycles=cycles,
        labels=labels,
        units={"annotated": cycles, "windows": windows},
        cycle_gate=heard(cycles),
        unit_gates={"annotated": heard(cycles), "windows": heard(windows)},
    )


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": row["file"],
        "cycles": int(row["cycles"].shape[0]),
        "windows": int(row["windows"].shape[0]),
        "detections": int(row["detections"].shape[0]),
        "tones_6_db": int(row["tones"][6.0].shape[0]),
        "tones_9_db": int(row["tones"][9.0].shape[0]),
        "low_band_periodicity": round(float(row["periodicity"]), 3),
    }


def summary_lines(probe: dict[str, Any]) -> list[str]:
    """Two lines per kind, as ``make eval`` prints them."""

    def pair(s: dict[str, Any]) -> str:
        return f"{s['sensitivity']} / {s['specificity']}"

    lines = []
    for kind, gate, unit in itertools.product(("crackles", "wheezes"), GATES, UNITS):
        shipped = probe[kind]["shipped"]
        figures = probe[kind][gate][unit]
        plain, held = figures["plain"], figures["leave_one_patient_out"]
        lines.append(
            f"{kind}, seventh round, per-cycle model, {gate}, {unit:<9} shipped "
            f"{pair(shipped['per_recording'])}; plain {pair(plain['per_recording'])} "
            f"({plain['rule']}); leave-one-patient-out {pair(held['per_recording'])} "
            f"(patients {pair(held['per_patient'])}, cycles {pair(held['per_cycle'])})"
        )
    return lines
