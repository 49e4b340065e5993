"""Real hearts heard as a care home would hear them: ``python -m bench.heart_conditions``.

Issue 17 measures the analysis on recordings we do not have, from other patients and, in a
care home, other rooms and devices. This check takes every annotated CirCor recording (the
crops and plausibility check of bench.heart_faster), changes how it was heard, not the heart,
and scores the shipped analysis against the same annotation. Each condition is chosen, not
measured; what it stands for:

- ``quiet_16bit``: the whole recording 30 dB quieter, then rounded to 16 bits (a stethoscope
  at low gain).
- ``room_noise_20db`` / ``_10db``: pink noise (power falling 3 dB an octave, as most room
  noise does) at 20 and 10 dB under the recording's power.
- ``mains_hum``: 50 Hz and its odd harmonics to 250 Hz at 10 dB under the recording's power
  (a USB sound card beside mains wiring; 50 Hz is inside the heart-sound band).
- ``breathing_half`` / ``breathing_equal``: a real ICBHI lung recording (breath sounds of
  other patients), high-passed at 200 Hz to take out its own heart sounds (S1 and S2 sit at
  20-150 Hz, DOMAIN.md), at an RMS half of and equal to the heart recording's: deep breathing
  through the open mouth during auscultation is heard at the heart sites too. Lung
  recordings are assigned in turn, the same every run.
- ``diaphragm`` / ``bell``: a causal second-order high-pass at 120 Hz and low-pass at 250 Hz
  (a chest piece that favours the high or the low sounds; the recordings' own device is
  unknown, so these are departures from it, not models of one stethoscope). A file with
  flat tops is clipped again at their level afterwards: the converter comes after the chest
  piece.
- ``at_44k1``: resampled to 44.1 kHz (the USB path's rate; the analysis resamples to 4 kHz).

Reported per condition, as bench.heart_faster: the rate read (within 5 bpm, half, double,
other, none), S1/S2 F1 (+-60 ms), the triage with no age band (NEWS2, as ``make eval``) and
with the 5-12 year band, the murmur hint on the murmur and on the normal recordings, and
every triage that turns ``urgent`` where the unchanged crop was not (the alarms a room or a
device would add). JSON to ``bench/results/heart_conditions.json``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from bench import heart_faster
from bench._data import located
from bench._eval_lung import manifest, read_audio
from bench._hearing import NOISE_DBS, SHARED, heard_through, pink, resampled, scaled
from bench._retime import Samples

DEFAULT_JSON = Path("bench/results/heart_conditions.json")
BREATH_RATIOS = {"breathing_half": 0.5, "breathing_equal": 1.0}
BREATH_HIGH_PASS_HZ = 200.0
CONDITIONS = (
    "original",
    "quiet_16bit",
    *NOISE_DBS,
    "mains_hum",
    *BREATH_RATIOS,
    "diaphragm",
    "bell",
    "at_44k1",
)
Lung = tuple[Samples, float]

__all__ = ["CONDITIONS", "breath", "heard", "pink", "run", "summary_lines"]


def breath(lung: Lung, n: int, fs: float) -> Samples:
    """``n`` samples at ``fs`` of a lung recording, high-passed above its own heart sounds,
    looped when shorter."""
    y, rate = lung
    if rate != fs:
        y = resampled(y, rate, fs)
    sos = signal.butter(4, BREATH_HIGH_PASS_HZ, "highpass", fs=fs, output="sos")
    return np.resize(signal.sosfiltfilt(sos, y), n)


def heard(
    condition: str, x: Samples, fs: float, name: str, breathing: Samples
) -> tuple[Samples, float]:
    """``x`` (at ``fs``) as heard under ``condition``: the samples and their rate.

    ``breathing`` is what :func:`breath` made of a lung recording for ``x``: made once per
    heart recording, as the breathing conditions differ only in its level. The conditions
    but breathing are bench._hearing's, shared with bench.lung_conditions.
    """
    if condition == "original":
        return x, fs
    if condition in BREATH_RATIOS:
        return x + scaled(breathing, x, BREATH_RATIOS[condition]), fs
    if condition in SHARED:
        out = heard_through(condition, x, fs, name)
        assert out is not None
        return out
    raise ValueError(f"unknown condition {condition!r}: expected one of {CONDITIONS}")


def lung_recordings(data_dir: Path) -> list[Lung]:
    """Every ICBHI recording of the shared data, in manifest order."""
    rows = manifest(data_dir)
    return [read_audio(data_dir / r["relpath"]) for r in rows if r["dataset"] == "icbhi"]


def run_one(item: dict[str, Any], lung: Lung) -> list[dict[str, Any]]:
    """One recording's crop under every condition, scored as bench.heart_faster scores."""
    x, seg, original = heart_faster.cropped(item)
    breathing = breath(lung, x.size, item["fs"])
    out = []
    for condition in CONDITIONS:
        y, fs = heard(condition, x, item["fs"], item["name"], breathing)
        record = {"condition": condition, **heart_faster.score(y, fs, seg)}
        record.update(name=item["name"], murmur=item["murmur"], original_bpm=round(original, 1))
        out.append(record)
    return out


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per condition: reads, S1/S2, triage, murmur hints, and the triages that turned urgent."""
    before = {r["name"]: r["triage"] for r in records if r["condition"] == "original"}
    table: dict[str, Any] = {}
    for condition in CONDITIONS:
        rows = [r for r in records if r["condition"] == condition]
        table[condition] = {
            **heart_faster.reads_summary(rows),
            "triage": dict(Counter(r["triage"] for r in rows)),
            "triage_child": dict(Counter(r["triage_child"] for r in rows)),
            "murmur_hinted": {label: _hinted(rows, label) for label in ("murmur", "normal")},
            "turned_urgent": [
                f"{r['name']} {before[r['name']]} -> urgent "
                f"({r['hr_reference_bpm']} read {r['hr_estimate_bpm']})"
                for r in rows
                if r["triage"] == "urgent" and before[r["name"]] != "urgent"
            ],
            "misreads": heart_faster.misreads(rows, "triage"),
        }
    return table


def _hinted(rows: list[dict[str, Any]], label: str) -> dict[str, int]:
    of = [r for r in rows if r["murmur"] == label]
    return {"suspected": sum(r["murmur_suspected"] is True for r in of), "of": len(of)}


def run(data_dir: Path | None = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "heart_conditions")
    if skipped is not None:
        return {"skipped": skipped}
    lungs = lung_recordings(where)
    if not lungs:
        return {"skipped": f"no ICBHI recording under {where} to breathe under the hearts"}
    found = heart_faster.recordings(where)
    items = [i for i in found if "x" in i]
    records = [r for k, item in enumerate(items) for r in run_one(item, lungs[k % len(lungs)])]
    return {
        "data": str(where),
        "conditions": list(CONDITIONS),
        "left_out": {i["name"]: i["left_out"] for i in found if "left_out" in i},
        "by_condition": summarise(records),
        "per_recording": records,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per condition (``make eval``, this module)."""
    return [
        f"heart heard {condition}: {m['reads']['within']} of {m['recordings']} within 5 bpm, "
        f"half {m['reads']['half']}, double {m['reads']['double']}, S1/S2 F1 "
        f"{m['S1_S2']['f1']}, triage {m['triage']}, murmur {m['murmur_hinted']}, "
        f"turned urgent {len(m['turned_urgent'])}"
        for condition, m in results.get("by_condition", {}).items()
    ]


def main(argv: list[str] | None = None) -> int:
    return heart_faster.cli(argv, __doc__, run, summary_lines, DEFAULT_JSON, "by_condition")


if __name__ == "__main__":
    raise SystemExit(main())
