"""Lung and quality-gate parts of ``bench.evaluate``: ICBHI 2017 cycles, spoiled recordings."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import soundfile
from numpy.typing import NDArray

from stetho_signal import AgeBand, Analysis, InvalidAudioError, LungResult, age_band_for, analyze
from stetho_signal._audio import ANALYSIS_RATE_HZ, PreparedAudio, prepare
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band
from stetho_signal.lung import lung_band


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


def annotated_cycles(wav: Path) -> np.ndarray:
    """A recording's annotated cycles (start s, end s, crackles 0/1, wheezes 0/1)."""
    return _cycles(wav.with_suffix(".txt"))


def _cycles(path: Path) -> np.ndarray:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return np.array([[float(v) for v in row[:4]] for row in rows])


def _icbhi_files(data_dir: Path) -> Iterator[tuple[Path, float | None]]:
    """Each ICBHI recording and the patient's age in years when the manifest gives it."""
    for row in manifest(data_dir):
        if row["dataset"] == "icbhi" or "icbhi" in row["relpath"]:
            yield data_dir / row["relpath"], age_years(row)


def age_years(row: dict[str, str]) -> float | None:
    """``age=<years>`` from the manifest's note column, if there."""
    value = note_value(row, "age")
    return None if value is None else float(value)


def note_value(row: dict[str, str], name: str) -> str | None:
    """``<name>=<value>`` from the manifest's note column (``;``-separated), if there."""
    for part in row.get("note", "").split(";"):
        key, _, value = part.partition("=")
        if key.strip() == name and value.strip():
            return value.strip()
    return None


def band_of(age: float | None) -> AgeBand:
    """An unknown age is taken as adult: ICBHI's unlabelled patients here are adults with COPD
    or URTI, and NEWS2 is the stricter reading for most rates."""
    return "adult" if age is None else age_band_for(age)


_KINDS = {"crackle": 2, "wheeze": 3}  # column of the cycle annotation


def evaluate_icbhi(data_dir: Path) -> dict[str, Any]:
    """Crackles and wheezes per breathing cycle and per recording, and the respiratory rate.

    ``per_cycle`` and ``per_recording`` keep their historical definitions: a cycle has
    crackles when the recording is flagged (at least the triage count) and a crackle time
    falls inside it; it has a wheeze when a wheeze interval overlaps it. Added:
    ``per_cycle_detections`` (crackles: any crackle time inside the cycle, whatever the
    recording's count; wheezes as before), ``per_device`` (the same confusions per
    stethoscope, from the file name, so that a device's own artefacts show) and each
    recording's cycle confusions and crackle times in ``recordings_detail``.
    """
    tally = _Tally()
    records = []
    for wav, age in _icbhi_files(data_dir):
        cycles = _cycles(wav.with_suffix(".txt"))
        x, fs = read_audio(wav)
        result = analyze(x, fs, "lung", age_band=band_of(age))
        assert result.lung is not None
        lung = result.lung
        device = wav.stem.split("_")[-1]
        durations = cycles[:, 1] - cycles[:, 0]
        records.append(
            {
                "file": str(wav.relative_to(data_dir)),
                "patient": wav.stem.split("_")[0],
                "age_years": age,
                "age_band": band_of(age),
                "device": device,
                "cycles": len(cycles),
                "crackle_cycles": int((cycles[:, 2] > 0).sum()),
                "wheeze_cycles": int((cycles[:, 3] > 0).sum()),
                "crackles_found": len(lung.crackle_times_s),
                "crackles_flagged": bool(result.findings.crackles),
                "wheeze_flagged": bool(lung.wheeze),
                "crackle_times_s": list(lung.crackle_times_s),
                "wheeze_intervals": len(lung.wheeze_intervals_s),
                **tally.add(lung, bool(result.findings.crackles), cycles, device),
                "rr_reference_bpm": round(60.0 / float(np.median(durations)), 1),
                "rr_estimate_bpm": lung.respiratory_rate_bpm,
                "quality": result.quality.score,
                "level": result.triage.level,
                "flags": [f.code for f in result.triage.flags],
            }
        )
    return {
        "recordings": len(records),
        **tally.summary(),
        "rr_within_3_bpm": _within_rr(records),
        "recordings_detail": records,
    }


class _Tally:
    """Confusion counts (tp, fp, fn, tn) per kind, overall and per device."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, list[int]]] = {
            unit: {k: [0, 0, 0, 0] for k in _KINDS}
            for unit in ("per_cycle", "per_recording", "per_cycle_detections")
        }
        self.devices: dict[str, dict[str, dict[str, list[int]]]] = {}

    def add(
        self, lung: LungResult, crackles: bool, cycles: np.ndarray, device: str
    ) -> dict[str, list[int]]:
        """Count one recording; returns its own per-cycle confusions."""
        spans = cycles[:, :2]
        found = {
            "crackle": [any(a <= t <= b for t in lung.crackle_times_s) for a, b in spans],
            "wheeze": [
                any(min(b, e) - max(a, s) > 0 for s, e in lung.wheeze_intervals_s) for a, b in spans
            ],
        }
        flagged = {"crackle": crackles, "wheeze": lung.wheeze}
        own = self.devices.setdefault(
            device, {unit: {k: [0, 0, 0, 0] for k in _KINDS} for unit in self.counts}
        )
        detail = {}
        for name, col in _KINDS.items():
            truth = cycles[:, col] > 0
            mine = [0, 0, 0, 0]
            for hit, t in zip(found[name], truth, strict=True):
                for table in (self.counts, own):
                    table["per_cycle"][name][_cell(flagged[name] and hit, bool(t))] += 1
                    table["per_cycle_detections"][name][_cell(hit, bool(t))] += 1
                mine[_cell(flagged[name] and hit, bool(t))] += 1
            for table in (self.counts, own):
                table["per_recording"][name][_cell(flagged[name], bool(truth.any()))] += 1
            detail[f"{name}_cycles_tp_fp_fn_tn"] = mine
        return detail

    def summary(self) -> dict[str, Any]:
        def confusions(table: dict[str, dict[str, list[int]]]) -> dict[str, Any]:
            return {u: {k: _confusion(v) for k, v in kinds.items()} for u, kinds in table.items()}

        return {
            **confusions(self.counts),
            "per_device": {name: confusions(t) for name, t in sorted(self.devices.items())},
        }


class CrackleRecording(NamedTuple):
    """One ICBHI recording as the crackle probes read it."""

    record: dict[str, Any]  # its row of evaluate_icbhi's recordings_detail
    prepared: PreparedAudio
    fine: NDArray[np.float32]  # the lung band as the crackle detector reads it
    fine_hz: float


def crackle_recordings(data_dir: Path) -> Iterator[CrackleRecording]:
    """Each ICBHI recording's evaluation (every gate applied) with its crackle band."""
    for record in evaluate_icbhi(data_dir)["recordings_detail"]:
        raw, fs = read_audio(data_dir / record["file"])
        prepared = prepare(raw if raw.ndim == 1 else raw[:, 0], fs)
        band = lung_band(Spectrum(prepared.samples, ANALYSIS_RATE_HZ))
        fine, fine_hz = crackle_band(band, ANALYSIS_RATE_HZ)
        yield CrackleRecording(record, prepared, fine, fine_hz)


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
