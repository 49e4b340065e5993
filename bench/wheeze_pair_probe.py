"""The loud brief tone and the speaker-present rule together: ``python -m bench.wheeze_pair_probe``.

A probe, not part of ``make eval`` (twenty-third round, ``docs/accuracy.md``, pre-registered
there). Two wheeze rules measured alone and not shipped are scored together on the ICBHI
recordings of the shared data:

- *B, the loud brief tone* (eighteenth round): a run of three tonal frames (96 ms by the hop,
  one fewer than the search asks) that passes the shipped voice and waveform tests (held
  100 ms on the waveform) is a wheeze when its peak holds, median over its frames, at least a
  share of the band's power (-3 dB pre-registered: half the band's power);
- *S, the speaker present* (sixteenth round): a kept run in the speaking range (70-260 Hz)
  lasting at most 0.5 s is dropped when the recording holds at least 3 voiced runs (runs of two
  frames or more, voiced in half their frames or more, in the speaking range).

The member that may ship is A: B at -3 dB, then S on every kept run. Also scored: S on the
brief runs only, the pair at -6, -9 and -12 dB, each rule alone. Every member is scored per
recording, per patient and leaving one patient out (over the pair's bounds, ties to the
shipped search). ``--conditions`` replays every member under ``bench.lung_conditions``'
conditions; ``--speech`` on the sixteenth round's simulated chest-filtered speech and wheezes.
A recording is searched as ``analyze_lung`` searches it: without heart sounds, then, when a
run is kept, with them; mains hum taken out first.
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

from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from bench._hearing import pink, under
from bench.wheeze_forensics import analysed, scores
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.lung import heart_sound_times
from stetho_sim.sounds import FS_HZ, add_wheeze, breathing, voice

MIN_DURATION_S = 0.1  # TriageThresholds().wheeze_min_duration_s, CORSA
BRIEF_SHARE_DB = -3.0  # pre-registered: the tone holds half the band's power
PAIR_SHARES_DB = (-3.0, -6.0, -9.0, -12.0)
SPEAKER_MAX_S = 0.5  # a syllable at two a second (sixteenth round)
SPEAKER_MIN_VOICED_RUNS = 3
VOICED_RUN_FRAMES = 2
PRE_REGISTERED = "pair -3 dB"
SPEECH_SLOPES_DB: tuple[float | None, ...] = (None, 3.0, 6.0, 12.0)
SPEECH_LEVELS = (0.1, 0.03, 0.01)
ROOMS_DB: tuple[float | None, ...] = (None, 20.0, 10.0)
WHEEZE_PITCHES_HZ = (150.0, 200.0, 250.0, 400.0)


@dataclass(frozen=True)
class Member:
    """One rule: the brief tone's share bound (None: no brief tone) and where S applies
    ("none", "all" kept runs or the "brief" ones only)."""

    share_db: float | None
    speaker: str


MEMBERS = {
    "shipped": Member(None, "none"),
    "speaker alone": Member(None, "all"),
    **{f"brief {s:g} dB alone": Member(s, "none") for s in PAIR_SHARES_DB},
    **{f"pair {s:g} dB": Member(s, "all") for s in PAIR_SHARES_DB},
    "pair -3 dB, speaker on brief runs only": Member(BRIEF_SHARE_DB, "brief"),
}
LOPO_FAMILY = ("shipped", *(f"pair {s:g} dB" for s in PAIR_SHARES_DB))


@dataclass(frozen=True)
class Run:
    """One run of tonal frames and what the rules read of it."""

    start_s: float
    end_s: float
    frames: int
    pitch_hz: float
    voiced: float  # share of its frames the voice test calls voiced
    held_s: float | None  # on the waveform; None when no rule asks (voiced, or too short)
    share_db: float  # median of its peak's share of the band's power

    def passes(self, least_frames: int) -> bool:
        """The shipped tests at ``least_frames``: not voice, held 100 ms on the waveform."""
        return (
            self.frames >= least_frames
            and self.voiced < 0.5
            and self.held_s is not None
            and self.held_s >= MIN_DURATION_S - wheezes._HELD_SLACK_S
        )

    def speaking(self) -> bool:
        return wheezes.VOICE_F0_HZ[0] <= self.pitch_hz <= wheezes.VOICE_F0_HZ[1]


def run_table(search: wheezes.WheezeSearch, heart: NDArray[np.float64] | None) -> list[Run]:
    """Every run of two tonal frames or more (heart gate as given, steady tones left out)."""
    tones = search._tones
    if tones is None:
        return []
    times = search._times
    hop_s = float(times[1] - times[0])
    runs, voiced = search._voiced_runs(VOICED_RUN_FRAMES * hop_s - 1e-9, heart)
    track = search._freqs[search._band][tones.best_bin]
    frames = np.arange(tones.tonal.size)
    row = tones.best_bin + tones.bin_offset
    centre = wheezes._mean_of_three(tones.smooth, axis=0)[row, frames]
    total = np.maximum(tones.smooth[search._band].sum(axis=0), 1e-30)
    share = 3.0 * centre / total
    table = []
    for (a, b), v in zip(runs, voiced.tolist(), strict=True):
        asked = (b - a) * hop_s >= MIN_DURATION_S - hop_s and v < 0.5
        table.append(
            Run(
                start_s=round(float(times[a]) - hop_s / 2, 3),
                end_s=round(float(times[a]) - hop_s / 2 + (b - a) * hop_s, 3),
                frames=b - a,
                pitch_hz=float(np.median(track[a:b])),
                voiced=float(v),
                held_s=search._held_s(a, b, track[a:b]) if asked else None,
                share_db=round(10.0 * float(np.log10(max(np.median(share[a:b]), 1e-30))), 2),
            )
        )
    return table


def voiced_runs(table: list[Run]) -> int:
    """S's count: runs of two frames or more, voiced in half or more, in the speaking range."""
    return sum(r.frames >= VOICED_RUN_FRAMES and r.voiced >= 0.5 and r.speaking() for r in table)


def kept(table: list[Run], member: Member, hop_s: float) -> list[Run]:
    """The runs ``member`` calls wheezes."""
    least = int(np.ceil(MIN_DURATION_S / hop_s - 1e-9))
    out = [r for r in table if r.passes(least)]
    if member.share_db is not None:
        bound = member.share_db
        out += [r for r in table if r.frames == least - 1 and r.passes(least - 1)
                and r.share_db >= bound]  # fmt: skip
    if member.speaker == "none" or voiced_runs(table) < SPEAKER_MIN_VOICED_RUNS:
        return sorted(out, key=lambda r: r.start_s)
    scope = (lambda r: True) if member.speaker == "all" else (lambda r: r.frames < least)
    return sorted(
        (r for r in out if not (scope(r) and r.speaking() and r.frames * hop_s <= SPEAKER_MAX_S)),
        key=lambda r: r.start_s,
    )


class Searched:
    """One recording's run tables, without and with heart sounds."""

    def __init__(self, x: NDArray[np.float64]) -> None:
        n = wheezes.WHEEZE_NPERSEG
        spectrogram = frame_power(x, ANALYSIS_RATE_HZ, n, n // 2)
        self.hop_s = float(spectrogram[1][1] - spectrogram[1][0])
        search = wheezes.WheezeSearch(x, spectrogram)
        self.ungated = run_table(search, None)
        self._search, self._x = search, x
        self._gated: list[Run] | None = None

    @property
    def gated(self) -> list[Run]:
        if self._gated is None:
            heart = heart_sound_times(Spectrum(self._x, ANALYSIS_RATE_HZ))
            self._gated = run_table(self._search, heart)
        return self._gated

    def found(self, member: Member) -> list[Run]:
        """What the member reports, asked as ``analyze_lung`` asks the search."""
        if not kept(self.ungated, member, self.hop_s):
            return []
        return kept(self.gated, member, self.hop_s)


def _run_row(r: Run) -> dict[str, Any]:
    return {"start_s": r.start_s, "pitch_hz": round(r.pitch_hz, 1), "frames": r.frames,
            "share_db": r.share_db}  # fmt: skip


def icbhi(data_dir: Path) -> list[dict[str, Any]]:
    """Each ICBHI recording: annotation, each member's flag and the runs behind the pair's."""
    rows = []
    for wav, _ in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        raw, fs = read_audio(wav)
        rec = Searched(analysed(raw, fs))
        rows.append(flags_of(wav.stem, cycles, rec))
    return rows


def flags_of(name: str, cycles: NDArray[np.float64], rec: Searched) -> dict[str, Any]:
    """A recording's flag by each member, and the annotated cycles its runs overlap: wheezy
    ones and the others (``cycles``: start s, end s, crackles 0/1, wheezes 0/1)."""
    found = {m: rec.found(member) for m, member in MEMBERS.items()}
    shipped = {r.start_s for r in found["shipped"]}
    brief = kept(rec.gated, MEMBERS["brief -12 dB alone"], rec.hop_s)
    return {
        "file": name,
        "patient": name.split("_")[0],
        "wheezes": bool((cycles[:, 3] > 0).any()),
        "flags": {m: bool(runs) for m, runs in found.items()},
        "cycles_hit": {m: _cycles_hit(runs, cycles) for m, runs in found.items()},
        "voiced_runs": voiced_runs(rec.gated),
        "pair_runs": [_run_row(r) for r in found[PRE_REGISTERED]],
        "brief_runs": [_run_row(r) for r in brief if r.start_s not in shipped],
    }


def _cycles_hit(runs: list[Run], cycles: NDArray[np.float64]) -> tuple[int, int]:
    """How many wheezy and how many other annotated cycles the runs overlap."""
    hit = [any(r.start_s < c[1] and r.end_s > c[0] for r in runs) for c in cycles]
    wheezy = cycles[:, 3] > 0
    return int(np.sum(np.array(hit) & wheezy)), int(np.sum(np.array(hit) & ~wheezy))


def scored(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each member per recording and per patient, what it moves against the shipped search,
    and leave one patient out over the pair's bounds."""
    truth = [r["wheezes"] for r in rows]
    patients = sorted({r["patient"] for r in rows})
    groups = [[r for r in rows if r["patient"] == p] for p in patients]
    out: dict[str, Any] = {}
    for name in MEMBERS:
        flags = [r["flags"][name] for r in rows]
        out[name] = {
            "recording": scores(truth, flags),
            "patient": scores(
                [any(r["wheezes"] for r in g) for g in groups],
                [any(r["flags"][name] for r in g) for g in groups],
            ),
            "added": [r["file"] for r in rows if r["flags"][name] and not r["flags"]["shipped"]],
            "removed": [r["file"] for r in rows if r["flags"]["shipped"] and not r["flags"][name]],
            "cycles_hit": [sum(r["cycles_hit"][name][k] for r in rows) for k in (0, 1)],
        }
    held = []
    chosen = []
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
    """Each member under each of ``bench.lung_conditions``' conditions: Se, Sp, flags on
    recordings annotated without wheezes, and annotated flags the shipped search keeps that
    the member loses (strict, and leaving out those it drops on the unchanged recording)."""
    from bench import lung_conditions  # its CirCor hearts and ICBHI reads: only asked here

    rows: dict[str, list[dict[str, Any]]] = {c: [] for c in lung_conditions.CONDITIONS}
    for item, condition, y, rate in lung_conditions.each_heard(data_dir):
        rec = Searched(analysed(y, rate))
        rows[condition].append(flags_of(item["name"], item["cycles"], rec))
    unchanged = {r["file"]: r["flags"] for r in rows["original"]}
    out: dict[str, Any] = {}
    for condition, here in rows.items():
        truth = [r["wheezes"] for r in here]
        out[condition] = {}
        for name in MEMBERS:
            lost = [r["file"] for r in here
                    if r["wheezes"] and r["flags"]["shipped"] and not r["flags"][name]]  # fmt: skip
            out[condition][name] = {
                "recording": scores(truth, [r["flags"][name] for r in here]),
                "false_flags": sum(r["flags"][name] and not r["wheezes"] for r in here),
                "flagged": [r["file"] for r in here if r["flags"][name]],
                "true_lost_strict": lost,
                "true_lost": [f for f in lost if unchanged[f][name]],
            }
    return out


def speech_and_wheezes(seeds: int = 10, wheeze_seeds: int = 5) -> dict[str, Any]:
    """The sixteenth round's simulated speech under breathing (harmonics falling as the
    simulator has them, 3, 6, 12 dB an octave; three levels; a quiet room and pink noise 20
    and 10 dB under): how many seeds each member calls a wheeze. Then 0.8 s tones at 150-400
    Hz under breathing (alone, under noise 10 dB under, with speech at 0.01): how many kept."""
    assert FS_HZ == ANALYSIS_RATE_HZ  # the simulator's rate: no resampling
    speech: dict[str, dict[str, int]] = {m: {} for m in MEMBERS}
    for slope in SPEECH_SLOPES_DB:
        for level in SPEECH_LEVELS:
            for room in ROOMS_DB:
                key = f"slope {slope}, level {level:g}, room {room}"
                for seed in range(seeds):
                    x = breathing(15.0, 20.0, seed=seed) + voice(20.0, level, seed, slope)
                    if room is not None:
                        x = x + under(pink(x.size, np.random.default_rng(100 + seed)), x, room)
                    rec = Searched(analysed(x, FS_HZ))
                    for m, member in MEMBERS.items():
                        speech[m][key] = speech[m].get(key, 0) + bool(rec.found(member))
    tones: dict[str, dict[str, int]] = {m: {} for m in MEMBERS}
    for hz in WHEEZE_PITCHES_HZ:
        for kind in ("alone", "noise 10 dB under", "speech 0.01"):
            key = f"{hz:g} Hz {kind}"
            for seed in range(wheeze_seeds):
                x = breathing(15.0, 20.0, seed=seed)
                if kind == "speech 0.01":
                    x = x + voice(20.0, 0.01, seed)
                add_wheeze(x, 6.0, 6.8, freq_hz=hz)
                if kind == "noise 10 dB under":
                    x = x + under(pink(x.size, np.random.default_rng(100 + seed)), x, 10.0)
                rec = Searched(analysed(x, FS_HZ))
                for m, member in MEMBERS.items():
                    hit = any(r.start_s < 6.8 and r.end_s > 6.0 for r in rec.found(member))
                    tones[m][key] = tones[m].get(key, 0) + hit
    return {"speech_called_wheeze": speech, "wheezes_kept": tones,
            "seeds": seeds, "wheeze_seeds": wheeze_seeds}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/wheeze_pair_probe.json"))
    parser.add_argument(
        "--conditions", action="store_true", help="also under bench.lung_conditions' conditions"
    )
    parser.add_argument(
        "--speech", action="store_true", help="also simulated speech and wheezes (16th round)"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    rows = icbhi(args.data)
    results: dict[str, Any] = {"recordings": rows, "scores": scored(rows)}
    for name, s in results["scores"].items():
        print(f"{name:<42} {json.dumps(s)}")
    for r in rows:
        if r["brief_runs"] or r["flags"]["shipped"] != r["flags"][PRE_REGISTERED]:
            print(f"  {r['file']:<24} wheezes {r['wheezes']!s:<5} voiced runs {r['voiced_runs']:>2}"
                  f" brief {r['brief_runs']} pair {r['pair_runs']}")  # fmt: skip
    if args.conditions:
        results["conditions"] = heard = under_conditions(args.data)
        for condition, members in heard.items():
            for name, m in members.items():
                print(f"  {condition:<16} {name:<42} {json.dumps(m)}")
    if args.speech:
        results["speech"] = sim = speech_and_wheezes()
        for part in ("speech_called_wheeze", "wheezes_kept"):
            for name, counts in sim[part].items():
                print(f"  {part} {name:<42} {json.dumps(counts)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
