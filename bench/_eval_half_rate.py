"""What the half-rate sign does to the triage of the unmodified heart recordings (seventh round).

``make eval`` (``issue_17.half_rate_sign``): every CirCor, Yaseen and Springer heart recording
is analysed as shipped and its heart triaged again with the sign switched off
(``half_rate_systole_ratio`` infinite), so the recordings it moves from ``routine`` to
``review`` are counted in the same run, per dataset and for normal against murmur recordings.
Issue 17 complained that half of the normal children's hearts raised ``review``: the sign must
not bring that back. Faster hearts are counted per target by bench.heart_faster.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy import io as scipy_io
from scipy import signal

from bench._eval_lung import manifest, read_audio
from stetho_signal import Analysis, TriageThresholds, analyze
from stetho_signal._rules import triage

CODE = "heart_possible_half_rate"
# The half-rate sign switched off: no finite systole ratio reaches the largest float (the
# thresholds refuse inf, as a config file's must).
_OFF = dataclasses.replace(TriageThresholds(), half_rate_systole_ratio=sys.float_info.max)
# Yaseen's classes and CirCor's murmur labels, as normal or murmur (else: unlabelled).
_LABEL = {
    "N": "normal", "MR": "murmur", "MS": "murmur", "MVP": "murmur",
    "normal": "normal", "Absent": "normal", "murmur": "murmur", "Present": "murmur",
}  # fmt: skip


def _recordings(data_dir: Path) -> list[tuple[str, str, str, np.ndarray, float]]:
    """(dataset, name, label, samples, rate) of every heart recording the evaluation reads."""
    out = []
    for row in manifest(data_dir):
        if row["dataset"] not in ("circor", "yaseen"):
            continue
        label = row["yaseen_class"] if row["dataset"] == "yaseen" else row["murmur"]
        x, fs = read_audio(data_dir / row["relpath"])
        out.append((row["dataset"], Path(row["relpath"]).stem, label, x, fs))
    path = data_dir / "heart/springer_example/example_data.mat"
    if path.exists():
        mat = scipy_io.loadmat(str(path), struct_as_record=False)["example_data"][0, 0]
        for k in range(mat.example_audio_data.shape[1]):
            audio = np.asarray(mat.example_audio_data[0, k], dtype=np.float64).ravel()
            # As bench.evaluate: 1 kHz upsampled to our 2 kHz minimum.
            out.append(("springer", str(k + 1), "", signal.resample_poly(audio, 2, 1), 2000.0))
    return out


def _without_sign(result: Analysis) -> str:
    return triage(result.quality, result.heart, None, _OFF).level


def half_rate_sign(data_dir: Path) -> dict[str, Any]:
    """Per dataset and label: recordings, flagged, moved from routine to review, and which."""
    table: dict[str, dict[str, Counter[str]]] = {}
    moved: list[str] = []
    for dataset, name, label, x, fs in _recordings(data_dir):
        result = analyze(x, fs, "heart")
        group = _LABEL.get(label, "unlabelled")
        counts = table.setdefault(dataset, {}).setdefault(group, Counter())
        counts["recordings"] += 1
        if any(f.code == CODE for f in result.triage.flags):
            counts["flagged"] += 1
            if result.triage.level == "review" and _without_sign(result) == "routine":
                counts["routine_to_review"] += 1
                moved.append(f"{dataset} {name}")
    return {
        "by_dataset": {
            ds: {
                g: {k: c.get(k, 0) for k in ("recordings", "flagged", "routine_to_review")}
                for g, c in sorted(groups.items())
            }
            for ds, groups in table.items()
        },
        "moved": moved,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for ds, groups in results["by_dataset"].items():
        parts = [
            f"{g} {c['routine_to_review']} of {c['recordings']} (flagged {c['flagged']})"
            for g, c in groups.items()
        ]
        lines.append(f"half-rate sign, routine -> review, {ds:8}: {'; '.join(parts)}")
    lines.append(f"half-rate sign, moved: {', '.join(results['moved']) or 'none'}")
    return lines
