"""Is a wheeze a periodic waveform where breath noise is not?

The thirty-first round's probe (``python -m bench.wheeze_periodicity_probe --data DIR``, under
a minute, not in ``make eval``). Every wheeze rule so far looked for a narrow spectral peak per
frame; a wheeze is a periodic waveform (often with harmonics, one pitch or several), breath
noise is aperiodic. A time-domain pitch-strength measure pools the energy of all harmonics,
which a single-bin peak does not.

The measure, per recording, on the samples ``analyze`` searches (analysis rate, mains hum
taken out), band-passed to ``BAND_HZ`` (CORSA: a wheeze's dominant frequency is over 100 Hz),
in the wheeze search's frames (64 ms, 32 ms hop, the frames ``frame_power`` cuts):

- YIN's difference function (de Cheveigne and Kawahara, J Acoust Soc Am 2002;111:1917) at lags
  of 1/1000 s to 1/100 s over the frame's first 216 samples, summed over three neighbouring
  frames as the shipped search averages three spectra (a random dip of breath noise shrinks, a
  held period stays); its cumulative-mean-normalised minimum is the frame's *aperiodicity*
  (0 for a periodic waveform, about 1 for white noise), its lag the period (parabolic
  interpolation; the shortest lag within 0.1 of the minimum, so a period's multiples do not
  halve the pitch);
- frames near heart sounds (60 ms, as shipped) and frames of a recorder's silence (under 1 %
  of the median frame's band power) are not searched;
- runs of frames at an aperiodicity of ``bound`` or less whose pitch moves at most two 15.6 Hz
  bins a frame, of 100 ms by the hop (CORSA's duration, docs DOMAIN), voiced in under half
  their frames and held 100 ms on the waveform: the shipped search's run tests
  (``wheeze_whitened_probe.kept_runs``) on the pitch track.

Per annotated cycle, before any rule: the lowest bound at which four consecutive searched
frames stand (the cycle's *held aperiodicity*), the longest run at each bound and whether a
kept run overlaps it, for the wheezy cycles (those of recordings the shipped search flags and
those of the six it misses apart), the wheeze-free cycles of the same recordings and the cycles
of recordings without wheezes. ``--cycles`` prints these only: the per-recording flags are read
once the rule is registered (docs/accuracy.md, thirty-first round). Added after the registered
run, as readings: the rule with the speaking range's runs left out once speech is heard
(``speaker_kept``), and ``--conditions``, the rule under ``bench.lung_conditions``' conditions.

    python -m bench.wheeze_periodicity_probe --data DIR [--cycles | --conditions] [--json FILE]
    python -m bench.wheeze_periodicity_probe --simulate   # simulated breath, clean and wheezy
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from bench._eval_intervals import add_held_out_intervals, print_family
from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from bench._eval_lung_round5 import _scores, family_scores
from bench.wheeze_forensics import analysed
from bench.wheeze_ltas_probe import per_patient
from bench.wheeze_whitened_probe import (
    Run,
    Searched,
    Whitened,
    kept_runs,
    rate_of,
    recurs,
    simulated_breaths,
    tone,
)
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal.triage import TriageThresholds
from stetho_sim.sounds import FS_HZ

BAND_HZ = (100.0, 1000.0)
MIN_LAG, MAX_LAG = 4, 40  # samples at 4 kHz: 1000 Hz to 100 Hz
WINDOW = wheezes.WHEEZE_NPERSEG - MAX_LAG  # 216 samples integrated at every lag
SILENT_SHARE = 0.01  # of the median frame's band power: a recorder's silence
OCTAVE_SLACK = 0.1  # the shortest lag within this of the minimum is the period
BIN_HZ = ANALYSIS_RATE_HZ / wheezes.WHEEZE_NPERSEG  # the shipped search's 15.6 Hz bins
REACH = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6)
RULE_BOUND = 0.3  # pre-registered (docs/accuracy.md, thirty-first round)
MISSED = {"106_2b1_Pr", "147_1b2", "147_1b4", "151_2p2", "159_1b1_Al", "115_1b1_Ar"}


def periodicity(x: NDArray[np.float64], heart_s: NDArray[np.float64] | None) -> Whitened:
    """Per frame of ``x`` (4 kHz): the pitch track and searched frames, and in the
    ``prominence_db`` field the aperiodicity (module docstring), the same per-frame track the
    whitened probe keeps runs of."""
    n, hop = wheezes.WHEEZE_NPERSEG, wheezes.WHEEZE_NPERSEG // 2
    sos = signal.butter(4, BAND_HZ, btype="bandpass", fs=ANALYSIS_RATE_HZ, output="sos")
    y = signal.sosfiltfilt(sos, x)
    count = 1 + (y.size - n) // hop
    frames = np.lib.stride_tricks.sliding_window_view(y, n)[::hop][:count]
    times = (np.arange(count) * hop + n / 2) / ANALYSIS_RATE_HZ
    head = frames[:, :WINDOW]
    lags = np.arange(1, MAX_LAG + 1)
    diff = np.stack([np.sum((head - frames[:, k : k + WINDOW]) ** 2, axis=1) for k in lags], axis=1)
    diff = wheezes._mean_of_three(diff, axis=0)  # three frames, as the shipped spectra
    cmnd = diff * lags / np.maximum(np.cumsum(diff, axis=1), 1e-30)
    inside = cmnd[:, MIN_LAG - 1 :]
    lowest = inside.min(axis=1)
    first = np.argmax(inside <= lowest[:, None] + OCTAVE_SLACK, axis=1)
    # The dip may sit a lag further than the first within the slack: walk down to it.
    rows = np.arange(count)
    while True:
        nxt = np.minimum(first + 1, inside.shape[1] - 1)
        down = inside[rows, nxt] < inside[rows, first]
        if not down.any():
            break
        first = np.where(down, nxt, first)
    lo = inside[rows, np.maximum(first - 1, 0)]
    mid = inside[rows, first]
    hi = inside[rows, np.minimum(first + 1, inside.shape[1] - 1)]
    curve = lo - 2.0 * mid + hi
    shift = np.where(
        curve > 0, np.clip(0.5 * (lo - hi) / np.where(curve > 0, curve, 1.0), -0.5, 0.5), 0.0
    )
    lag = first + MIN_LAG + shift
    pitch = ANALYSIS_RATE_HZ / lag
    energy = np.sum(frames**2, axis=1)
    searched = energy > SILENT_SHARE * np.median(energy)
    if heart_s is not None and heart_s.size:
        hop_s = hop / ANALYSIS_RATE_HZ
        near = np.abs(times[:, None] - heart_s[None, :]) <= wheezes.HEART_GATE_S + hop_s / 2
        searched &= ~near.any(axis=1)
    band_start = int(np.ceil(BAND_HZ[0] / BIN_HZ))
    best = np.maximum(np.rint(pitch / BIN_HZ).astype(np.intp) - band_start, 0)
    return Whitened(times, best, lowest, searched, pitch, band_start)


class Periodic(Searched):
    """One recording, the shipped search's tones and its aperiodicity per frame."""

    def __init__(self, x: NDArray[np.float64], duration_s: float) -> None:
        super().__init__(x, duration_s)
        self.track = periodicity(x, self.heart)

    def periodic_runs(self, bound: float) -> list[Run]:
        """The runs kept at aperiodicity ``bound`` or less (module docstring)."""
        t = self.track
        return kept_runs(self, t, t.searched & (t.prominence_db <= bound) & ~self.steady(bound))

    def steady(self, bound: float) -> NDArray[np.bool_]:
        """Frames whose period sounds in most of the recording (a device's whine)."""
        t = self.track
        return wheezes._steady_tone(t.best_bin, t.searched & (t.prominence_db <= bound))

    def held_aperiodicity(self, start_s: float, end_s: float) -> float:
        """The lowest bound at which four consecutive searched frames stand in a cycle."""
        t = self.track
        lo, hi = np.searchsorted(t.times, [start_s, end_s])
        a = np.where(t.searched[lo:hi], t.prominence_db[lo:hi], np.inf)
        if a.size < 4:
            return float("inf")
        return float(np.lib.stride_tricks.sliding_window_view(a, 4).max(axis=1).min())


def speaker_kept(found: list[Run], voice_sounds: int) -> list[Run]:
    """Read after the registered run, not a rule: the runs left when, speech having been
    heard (the shipped voice count, twenty-third round), runs in the speaking range are
    taken for it."""
    if voice_sounds < wheezes.VOICE_HEARD_MIN_SOUNDS:
        return found
    low, high = wheezes.VOICE_F0_HZ
    return [r for r in found if not low <= r.pitch_hz <= high]


def simulate() -> dict[str, Any]:
    """Periodic runs and recurring flags on simulated breath, clean and with a tone (400 Hz
    and 200 Hz with harmonics) 0.4 s in each breath, at every bound of ``REACH``."""
    duration = TriageThresholds().wheeze_min_duration_s
    rows = []
    for rate, seed, clean, rms, spans in simulated_breaths():
        cases = {"clean": clean}
        for level_db in (3.0, 0.0, -3.0, -6.0):
            level = rms * 10 ** (level_db / 20.0)
            cases[f"400 Hz {level_db:g} dB"] = clean + tone(clean.size, 400.0, level, spans)
            cases[f"200 Hz + 2 harmonics {level_db:g} dB"] = clean + sum(
                tone(clean.size, 200.0 * k, level / np.sqrt(3.0), spans) for k in (1, 2, 3)
            )
        for name, x in cases.items():
            rec = Periodic(analysed(x, FS_HZ), duration)
            bpm = rate_of(x, FS_HZ, None)
            found = {b: rec.periodic_runs(b) for b in REACH}
            rows.append(
                {
                    "case": name,
                    "rate": rate,
                    "seed": seed,
                    "shipped": rec.shipped,
                    **{f"{b:g}": recurs(found[b], bpm) for b in REACH},
                    **{f"any {b:g}": bool(found[b]) for b in REACH},
                    **{f"runs {b:g}": len(found[b]) for b in REACH},
                }
            )
    return {"rows": rows}


def under_conditions(data_dir: Path) -> dict[str, Any]:
    """The rule (and the speaker reading) per recording under each of
    ``bench.lung_conditions``' conditions: Se, Sp and the flags added to the shipped search's
    on recordings without wheezes."""
    from bench import lung_conditions  # its CirCor hearts and ICBHI reads: only asked here

    duration = TriageThresholds().wheeze_min_duration_s
    out: dict[str, Any] = {}
    rows = []
    for item, condition, y, rate in lung_conditions.each_heard(data_dir):
        truth = bool(np.any(item["cycles"][:, 3] > 0))
        rec = Periodic(analysed(y, rate), duration)
        bpm = rate_of(y if y.ndim == 1 else y[:, 0], rate, None)
        found = rec.periodic_runs(RULE_BOUND)
        voice = rec.search.voice_sounds(duration)
        rows.append({"condition": condition, "file": item["name"], "wheezes": truth,
                     "shipped": rec.shipped, "rule": recurs(found, bpm),
                     "speaker": recurs(speaker_kept(found, voice), bpm)})  # fmt: skip
    for condition in lung_conditions.CONDITIONS:
        here = [r for r in rows if r["condition"] == condition]
        truth = [r["wheezes"] for r in here]
        out[condition] = {"shipped": _scores(truth, [r["shipped"] for r in here])}
        for name in ("rule", "speaker"):
            flags = [r["shipped"] or r[name] for r in here]
            added = [r["file"] for r, f in zip(here, flags, strict=True) if f and not r["shipped"]]
            out[condition][name] = _scores(truth, flags) | {"added": added}
    return out


def cycle_kind(wheezy_cycle: bool, wheezy_recording: bool, file: str) -> str:
    if wheezy_cycle:
        missed = any(file.startswith(f"{name}_") for name in MISSED)
        return "wheezy, missed recording" if missed else "wheezy, flagged recording"
    return "clean, wheezy recording" if wheezy_recording else "clean recording"


def probe(data_dir: Path, flags: bool = True) -> dict[str, Any]:
    """Per annotated cycle the held aperiodicity and kept runs; with ``flags``, each
    recording's periodic runs and flags at every bound of ``REACH``."""
    duration = TriageThresholds().wheeze_min_duration_s
    recordings, cycles_out = [], []
    for wav, age in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        raw, fs = read_audio(wav)
        rec = Periodic(analysed(raw, fs), duration)
        wheezy = bool((cycles[:, 3] > 0).any())
        found = {b: rec.periodic_runs(b) for b in REACH}
        for start, end, _, w in cycles.tolist():
            cycles_out.append(
                {
                    "file": wav.stem,
                    "kind": cycle_kind(bool(w), wheezy, wav.stem),
                    "held": rec.held_aperiodicity(start, end),
                    **{
                        f"kept {b:g}": any(r.start_s < end and start < r.end_s for r in found[b])
                        for b in REACH
                    },
                }
            )
        if not flags:
            continue
        bpm = rate_of(raw if raw.ndim == 1 else raw[:, 0], fs, age)
        voice = rec.search.voice_sounds(duration)
        recordings.append(
            {
                "file": wav.stem,
                "patient": wav.stem.split("_")[0],
                "wheezes": wheezy,
                "flagged": rec.shipped,
                "rate_bpm": bpm,
                "runs": {f"{b:g}": [r._asdict() for r in found[b]] for b in REACH},
                "periodic": {f"{b:g}": recurs(found[b], bpm) for b in REACH},
                "voice_sounds": voice,
                "speaker": recurs(speaker_kept(found[RULE_BOUND], voice), bpm),
            }
        )
    results: dict[str, Any] = {"cycles": cycles_out}
    if not flags:
        return results
    truth = [r["wheezes"] for r in recordings]
    patients = [r["patient"] for r in recordings]
    shipped = [r["flagged"] for r in recordings]

    def flagged(b: float) -> list[bool]:
        return [r["flagged"] or r["periodic"][f"{b:g}"] for r in recordings]

    reach = {"shipped": shipped} | {member(b): flagged(b) for b in REACH}
    speaker = [r["flagged"] or r["speaker"] for r in recordings]
    return results | {
        "speaker": family_scores(truth, patients, {"shipped": shipped, "speaker": speaker})
        | {"per_patient": per_patient(truth, patients, speaker)},
        "recordings": recordings,
        "per_patient": {
            "shipped": per_patient(truth, patients, shipped),
            member(RULE_BOUND): per_patient(truth, patients, flagged(RULE_BOUND)),
        },
        "rule": family_scores(
            truth, patients, {"shipped": shipped, member(RULE_BOUND): flagged(RULE_BOUND)}
        ),
        "reach": family_scores(truth, patients, reach),
    }


def member(bound: float) -> str:
    return f"shipped or periodic <= {bound:g}"


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance a wheezy cycle's held aperiodicity is under a clean one's (ties half)."""
    p, q = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(np.mean((p < q) + 0.5 * (p == q)))


def _print_cycles(results: dict[str, Any]) -> None:
    cycles = results["cycles"]
    kinds = (
        "wheezy, flagged recording",
        "wheezy, missed recording",
        "clean, wheezy recording",
        "clean recording",
    )
    print("per annotated cycle: held aperiodicity (quartiles), kept run at each bound")
    for kind in kinds:
        mine = [c for c in cycles if c["kind"] == kind]
        held = np.array([c["held"] for c in mine])
        q = np.percentile(held, [10, 25, 50, 75])
        kept = "  ".join(f"{b:g} {np.mean([c[f'kept {b:g}'] for c in mine]):.2f}" for b in REACH)
        print(
            f"  {kind:<26} {len(mine):3d}: p10 {q[0]:.2f} q1 {q[1]:.2f} median {q[2]:.2f} "
            f"q3 {q[3]:.2f} | kept {kept}"
        )
    clean = [c["held"] for c in cycles if c["kind"] == "clean recording"]
    for kind in kinds[:3]:
        mine = [c["held"] for c in cycles if c["kind"] == kind]
        print(f"  AUC {kind} against clean recordings' cycles: {auc(mine, clean):.2f}")
    for file in sorted(MISSED):
        mine = [
            c for c in cycles if c["file"].startswith(f"{file}_") and c["kind"].startswith("wheezy")
        ]
        print(f"  {file:<12} wheezy cycles' held: " + " ".join(f"{c['held']:.2f}" for c in mine))


def _print_simulated(results: dict[str, Any]) -> None:
    rows = results["rows"]
    print("simulated breath (3 rates x 6 seeds, 60 s): recurring flags (any run) per bound")
    for case in dict.fromkeys(r["case"] for r in rows):
        mine = [r for r in rows if r["case"] == case]
        cells = "  ".join(
            f"{b:g} {sum(r[f'{b:g}'] for r in mine):2d} ({sum(r[f'any {b:g}'] for r in mine):2d})"
            for b in REACH
        )
        print(f"  {case:<28} shipped {sum(r['shipped'] for r in mine):2d} | {cells}")


def _print_probe(results: dict[str, Any]) -> None:
    rows = sorted(results["recordings"], key=lambda r: (r["patient"], r["file"]))
    print("per recording: annotated, shipped flag, rate, periodic runs at the rule (pitch Hz)")
    for r in rows:
        pitches = ", ".join(
            f"{x['pitch_hz']:.0f}@{x['start_s']:.1f}s" for x in r["runs"][f"{RULE_BOUND:g}"]
        )
        marks = "".join("P" if r["periodic"][f"{b:g}"] else "." for b in REACH)
        print(
            f"{r['patient']:>4} {r['file'][:26]:<26} {'wheezes' if r['wheezes'] else 'none':<8} "
            f"{'flag' if r['flagged'] else '-':<5} {r['rate_bpm'] or 0:5.1f}/min {marks}  {pitches}"
        )
    add_held_out_intervals(results["rule"])
    add_held_out_intervals(results["reach"])
    print("reach (every bound, fitted on all; not rules):")
    print_family(results["reach"], "reach family, held out", width=32)
    print("pre-registered rule:")
    print_family(results["rule"], "{shipped, rule}, held out", width=32)
    for name, s in results["per_patient"].items():
        print(f"per patient, {name:<32} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    s = results["speaker"]["members"]["speaker"]
    pp = results["speaker"]["per_patient"]
    print(
        f"read after the run, speaking-range runs left out once speech is heard: "
        f"Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f} "
        f"(per patient {pp['sensitivity']:.3f} / {pp['specificity']:.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="the shared data folder")
    parser.add_argument("--simulate", action="store_true", help="simulated breath only")
    parser.add_argument("--cycles", action="store_true", help="per annotated cycle only")
    parser.add_argument(
        "--conditions", action="store_true", help="the rule under bench.lung_conditions"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results/wheeze_periodicity_probe.json")
    )
    args = parser.parse_args(argv)
    if args.simulate:
        results = simulate()
        _print_simulated(results)
    elif args.data is None or not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    elif args.conditions:
        results = under_conditions(args.data)
        for condition, row in results.items():
            cells = "  ".join(
                f"{name} {v['sensitivity']:.3f} / {v['specificity']:.3f}" for name, v in row.items()
            )
            added = {name: row[name]["added"] for name in ("rule", "speaker")}
            print(f"{condition:<16} {cells}  added {added}")
    else:
        results = probe(args.data, flags=not args.cycles)
        _print_cycles(results)
        if not args.cycles:
            _print_probe(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
