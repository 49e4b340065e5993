"""A wheeze that recurs with the breath: ``python -m bench.wheeze_recur_probe --data DIR``.

A probe, not part of ``make eval`` (twenty-fifth round, ``docs/accuracy.md``, pre-registered
there). A wheeze from a narrowed airway recurs with the breath; a passing voice, a click or a
room's tone does not. Rule R: a wheeze the shipped search keeps counts only when a run at its
pitch (within a quarter octave) of at least two frames, not voiced, sounds at least half a
breath away, the breath being 60 / the rate ``analyze`` reads (no rate read: the shipped
search stands). Also scored: the echo at three or four frames (four and held 100 ms: a second
kept wheeze), the echo in another annotated ICBHI cycle, and leave one patient out over the
echo's length. ``--conditions`` replays every member under ``bench.lung_conditions``'
conditions. A recording is searched as ``analyze_lung`` searches it (without heart sounds,
then with them when a run is kept), the rule applied to both passes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_lung import _icbhi_files, annotated_cycles, band_of, read_audio
from bench.wheeze_forensics import analysed, scores
from bench.wheeze_pair_probe import MEMBERS as PAIR_MEMBERS
from bench.wheeze_pair_probe import Run, Searched, kept
from stetho_signal import AgeBand, analyze

ECHO_FRAMES = 2  # pre-registered: the shortest run the frame tests make
PITCH_OCTAVES = 0.25  # the fifth round's pitch group
SPACING_BREATHS = 0.5  # the fifth round's spacing
PRE_REGISTERED = "R (echo 2 frames)"
SHIPPED = PAIR_MEMBERS["shipped"]


@dataclass(frozen=True)
class Member:
    """An echo's least frames (None: the shipped search), whether it must be a kept wheeze
    itself, and whether breaths are the annotated cycles instead of the read rate."""

    echo_frames: int | None
    kept_echo: bool = False
    annotated: bool = False


MEMBERS = {
    "shipped": Member(None),
    PRE_REGISTERED: Member(ECHO_FRAMES),
    "R (echo 3 frames)": Member(3),
    "R (echo 4 frames)": Member(4),
    "R4 (echo a kept wheeze)": Member(4, kept_echo=True),
    "R, annotated cycles": Member(ECHO_FRAMES, annotated=True),
}
LOPO_FAMILY = ("shipped", PRE_REGISTERED, "R (echo 3 frames)", "R (echo 4 frames)")


def _cycle_of(run: Run, cycles: NDArray[np.float64]) -> int | None:
    """The annotated cycle holding the run's middle (None: outside every cycle)."""
    middle = (run.start_s + run.end_s) / 2
    inside = np.flatnonzero((cycles[:, 0] <= middle) & (middle < cycles[:, 1]))
    return int(inside[0]) if inside.size else None


def recurs(
    wheeze: Run,
    table: list[Run],
    member: Member,
    breath_s: float,
    hop_s: float,
    cycles: NDArray[np.float64] | None = None,
) -> bool:
    """Whether some other run of ``table`` echoes ``wheeze``: long enough for ``member``, not
    voiced, within a quarter octave, and half a breath away (or in another annotated cycle)."""
    assert member.echo_frames is not None
    echoes = (
        kept(table, SHIPPED, hop_s)
        if member.kept_echo
        else [r for r in table if r.frames >= member.echo_frames and r.voiced < 0.5]
    )
    home = None if cycles is None else _cycle_of(wheeze, cycles)
    for r in echoes:
        if r == wheeze or abs(np.log2(r.pitch_hz / wheeze.pitch_hz)) > PITCH_OCTAVES:
            continue
        if cycles is None:
            if abs(r.start_s - wheeze.start_s) >= SPACING_BREATHS * breath_s:
                return True
        elif home is not None and _cycle_of(r, cycles) not in (None, home):
            return True
    return False


def found(
    rec: Searched, member: Member, rate_bpm: float | None, cycles: NDArray[np.float64]
) -> list[Run]:
    """The wheezes ``member`` reports, asked as ``analyze_lung`` asks the search."""

    def passing(table: list[Run]) -> list[Run]:
        wheezes = kept(table, SHIPPED, rec.hop_s)
        if member.echo_frames is None or (rate_bpm is None and not member.annotated):
            return wheezes
        breath_s = 60.0 / rate_bpm if rate_bpm else 0.0
        among = cycles if member.annotated else None
        return [w for w in wheezes if recurs(w, table, member, breath_s, rec.hop_s, among)]

    if not passing(rec.ungated):
        return []
    return passing(rec.gated)


def _cycles_hit(runs: list[Run], cycles: NDArray[np.float64]) -> tuple[int, int]:
    """How many wheezy and how many other annotated cycles the runs overlap."""
    hit = np.array([any(r.start_s < c[1] and r.end_s > c[0] for r in runs) for c in cycles])
    wheezy = cycles[:, 3] > 0
    return int(np.sum(hit & wheezy)), int(np.sum(hit & ~wheezy))


def _row(r: Run) -> dict[str, Any]:
    return {"start_s": r.start_s, "pitch_hz": round(r.pitch_hz, 1), "frames": r.frames}


def flags_of(
    name: str, cycles: NDArray[np.float64], rec: Searched, rate_bpm: float | None
) -> dict[str, Any]:
    """A recording's flag by each member, the cycles its wheezes overlap and the runs."""
    runs = {m: found(rec, member, rate_bpm, cycles) for m, member in MEMBERS.items()}
    return {
        "file": name,
        "patient": name.split("_")[0],
        "wheezes": bool((cycles[:, 3] > 0).any()),
        "rate_bpm": rate_bpm,
        "flags": {m: bool(r) for m, r in runs.items()},
        "cycles_hit": {m: _cycles_hit(r, cycles) for m, r in runs.items()},
        "shipped_runs": [_row(r) for r in runs["shipped"]],
        "echo_runs": [_row(r) for r in rec.gated if r.frames >= ECHO_FRAMES and r.voiced < 0.5],
    }


def read(x: NDArray[np.float64], fs: float, band: AgeBand) -> tuple[Searched, float | None]:
    """The search's runs and the respiratory rate ``analyze`` reads (the patient's age band)."""
    lung = analyze(x, fs, "lung", age_band=band).lung
    assert lung is not None
    return Searched(analysed(x, fs)), lung.respiratory_rate_bpm


def icbhi(data_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for wav, age in _icbhi_files(data_dir):
        x, fs = read_audio(wav)
        rec, rate = read(x, fs, band_of(age))
        rows.append(flags_of(wav.stem, annotated_cycles(wav), rec, rate))
    return rows


def scored(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each member per recording and per patient, what it moves against the shipped search,
    and leave one patient out over the echo's length."""
    truth = [r["wheezes"] for r in rows]
    patients = sorted({r["patient"] for r in rows})
    groups = [[r for r in rows if r["patient"] == p] for p in patients]
    out: dict[str, Any] = {}
    for name in MEMBERS:
        out[name] = {
            "recording": scores(truth, [r["flags"][name] for r in rows]),
            "patient": scores(
                [any(r["wheezes"] for r in g) for g in groups],
                [any(r["flags"][name] for r in g) for g in groups],
            ),
            "added": [r["file"] for r in rows if r["flags"][name] and not r["flags"]["shipped"]],
            "removed": [r["file"] for r in rows if r["flags"]["shipped"] and not r["flags"][name]],
            "cycles_hit": [sum(r["cycles_hit"][name][k] for r in rows) for k in (0, 1)],
        }
    held, chosen = [], []
    for r in rows:
        train = [o for o in rows if o["patient"] != r["patient"]]
        t = [o["wheezes"] for o in train]
        best = max(
            LOPO_FAMILY,
            key=lambda m: (sum(scores(t, [o["flags"][m] for o in train])), -LOPO_FAMILY.index(m)),
        )
        held.append(r["flags"][best])
        chosen.append(best)
    out["leave_one_patient_out"] = {
        "recording": scores(truth, held),
        "chosen": {m: chosen.count(m) for m in LOPO_FAMILY if m in chosen},
    }
    return out


def under_conditions(data_dir: Path) -> dict[str, Any]:
    """Each member under each of ``bench.lung_conditions``' conditions: Se, Sp, false flags,
    and annotated flags the shipped search keeps that the member loses."""
    from bench import lung_conditions  # its CirCor hearts and ICBHI reads: only asked here

    rows: dict[str, list[dict[str, Any]]] = {c: [] for c in lung_conditions.CONDITIONS}
    for item, condition, y, rate in lung_conditions.each_heard(data_dir):
        rec, bpm = read(y, rate, item["age_band"])
        rows[condition].append(flags_of(item["name"], item["cycles"], rec, bpm))
    out: dict[str, Any] = {}
    for condition, here in rows.items():
        truth = [r["wheezes"] for r in here]
        out[condition] = {}
        for name in MEMBERS:
            flags = [r["flags"][name] for r in here]
            shipped = [r["flags"]["shipped"] for r in here]
            out[condition][name] = {
                "recording": scores(truth, flags),
                "false_flags": sum(f and not t for f, t in zip(flags, truth, strict=True)),
                "added": [
                    r["file"] for r, f, s in zip(here, flags, shipped, strict=True) if f and not s
                ],
                "true_lost": [
                    r["file"]
                    for r, f, s in zip(here, flags, shipped, strict=True)
                    if r["wheezes"] and s and not f
                ],
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/wheeze_recur_probe.json"))
    parser.add_argument(
        "--conditions", action="store_true", help="also under bench.lung_conditions' conditions"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    rows = icbhi(args.data)
    results: dict[str, Any] = {"recordings": rows, "scores": scored(rows)}
    for name, s in results["scores"].items():
        print(f"{name:<26} {json.dumps(s)}")
    for r in rows:
        if r["flags"]["shipped"]:
            print(f"  {r['file']:<20} wheezes {r['wheezes']!s:<5} rate {r['rate_bpm']}"
                  f" kept {r['shipped_runs']} flags {r['flags']}")  # fmt: skip
    if args.conditions:
        results["conditions"] = heard = under_conditions(args.data)
        for condition, members in heard.items():
            for name, m in members.items():
                print(f"  {condition:<16} {name:<26} {json.dumps(m)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
