"""Lung and quality-gate parts of ``bench.evaluate``: ICBHI 2017 cycles, spoiled recordings."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from stetho_signal import Analysis, InvalidAudioError, analyze


def read_audio(path: Path) -> tuple[np.ndarray, float]:
    """Samples as float64 (full scale 1.0) and the rate, whatever the file's bit depth."""
    data, rate = soundfile.read(str(path), dtype="float64", always_2d=False)
    return np.asarray(data), float(rate)


def manifest(data_dir: Path) -> list[dict[str, str]]:
    """The audio rows of ``MANIFEST.csv``."""
    with (data_dir / "MANIFEST.csv").open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["kind"] == "audio"]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# ----------------------------------------------------------------------- lungs (ICBHI)


def _cycles(path: Path) -> np.ndarray:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return np.array([[float(v) for v in row[:4]] for row in rows])


def _icbhi_files(data_dir: Path) -> Iterator[Path]:
    for row in manifest(data_dir):
        if row["dataset"] == "icbhi" or "icbhi" in row["relpath"]:
            yield data_dir / row["relpath"]


def evaluate_icbhi(data_dir: Path) -> dict[str, Any]:
    cycle_counts = {"crackle": [0, 0, 0, 0], "wheeze": [0, 0, 0, 0]}  # tp, fp, fn, tn
    rec_counts = {"crackle": [0, 0, 0, 0], "wheeze": [0, 0, 0, 0]}
    records = []
    for wav in _icbhi_files(data_dir):
        cycles = _cycles(wav.with_suffix(".txt"))
        x, fs = read_audio(wav)
        result = analyze(x, fs, "lung")
        assert result.lung is not None
        lung = result.lung
        crackle_pred = [
            lung.crackles and any(a <= t <= b for t in lung.crackle_times_s)
            for a, b in cycles[:, :2]
        ]
        wheeze_pred = [
            any(min(b, e) - max(a, s) > 0 for s, e in lung.wheeze_intervals_s)
            for a, b in cycles[:, :2]
        ]
        for name, preds, col in (("crackle", crackle_pred, 2), ("wheeze", wheeze_pred, 3)):
            truth = cycles[:, col] > 0
            for p, t in zip(preds, truth, strict=True):
                cycle_counts[name][_cell(p, bool(t))] += 1
            any_pred = lung.crackles if name == "crackle" else lung.wheeze
            rec_counts[name][_cell(any_pred, bool(truth.any()))] += 1
        durations = cycles[:, 1] - cycles[:, 0]
        reference_rate = 60.0 / float(np.median(durations))
        records.append(
            {
                "file": str(wav.relative_to(data_dir)),
                "cycles": len(cycles),
                "crackle_cycles": int((cycles[:, 2] > 0).sum()),
                "wheeze_cycles": int((cycles[:, 3] > 0).sum()),
                "crackles_found": len(lung.crackle_times_s),
                "wheeze_intervals": len(lung.wheeze_intervals_s),
                "rr_reference_bpm": round(reference_rate, 1),
                "rr_estimate_bpm": lung.respiratory_rate_bpm,
                "quality": result.quality.score,
                "level": result.triage.level,
            }
        )
    return {
        "recordings": len(records),
        "per_cycle": {k: _confusion(v) for k, v in cycle_counts.items()},
        "per_recording": {k: _confusion(v) for k, v in rec_counts.items()},
        "rr_within_3_bpm": _within_rr(records),
        "recordings_detail": records,
    }


def _cell(predicted: bool, truth: bool) -> int:
    return {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[
        (bool(predicted), truth)
    ]


def _confusion(c: list[int]) -> dict[str, Any]:
    tp, fp, fn, tn = c
    sens = tp / (tp + fn) if tp + fn else None
    spec = tn / (tn + fp) if tn + fp else None
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "sensitivity": rounded(sens),
        "specificity": rounded(spec),
    }


def _within_rr(records: list[dict[str, Any]]) -> float | None:
    errors = [
        abs(r["rr_estimate_bpm"] - r["rr_reference_bpm"]) if r["rr_estimate_bpm"] else np.inf
        for r in records
    ]
    return round(sum(e <= 3.0 for e in errors) / len(errors), 3) if errors else None


# ------------------------------------------------------------------------ quality gate


def evaluate_quality_gate(data_dir: Path) -> dict[str, Any]:
    """Real recordings should pass; the same recordings spoiled on purpose should not."""
    spoilers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "original": lambda x: x,
        "clipped_x20": lambda x: np.clip(x * 20.0, -np.max(np.abs(x)), np.max(np.abs(x))),
        "silence": lambda x: np.zeros_like(x),
        "white_noise": lambda x: np.random.default_rng(0).standard_normal(x.size) * np.std(x),
    }
    outcome = {name: {"rerecord": 0, "of": 0} for name in spoilers}
    for row in manifest(data_dir):
        if row["dataset"] not in ("circor", "icbhi"):
            continue
        x, fs = read_audio(data_dir / row["relpath"])
        kind = "heart" if row["dataset"] == "circor" else "lung"
        for name, spoil in spoilers.items():
            result = _safe_analyze(spoil(x), fs, kind)
            outcome[name]["of"] += 1
            outcome[name]["rerecord"] += result is None or result.triage.level == "rerecord"
    return outcome


def _safe_analyze(x: np.ndarray, fs: float, kind: str) -> Analysis | None:
    try:
        return analyze(x, fs, "heart" if kind == "heart" else "lung")
    except InvalidAudioError:
        return None
