"""What the missed and the false wheezes hold, on ICBHI: ``python -m bench.wheeze_forensics``.

A probe, not part of ``make eval`` (2 s). The shipped wheeze search
(``stetho_signal.wheezes``) is asked about every ICBHI recording as ``analyze_lung`` asks it.
Then, for each annotated wheezy cycle of a recording the search does not flag, what the cycle
holds, per 64 ms frame (three averaged, as the search does): its most prominent bin in
100-1600 Hz, that bin's power over its neighbours' mean (dB, the search's prominence), its
share of the band's power (the audibility test), its frequency; the longest run of frames
whose peak stays within two bins at each prominence from 9 dB (shipped) down to 5 dB; the
second harmonic's prominence; where in the cycle the strongest frame falls (ICBHI cycles open
on inspiration). Each missed cycle is given the first cause, in this order:

- ``steady``, ``voice``, ``click``, ``heart``: a run the frame tests pass (9 dB, audible,
  100 ms) left out as a hum, as voice, as lasting under 100 ms on the waveform (a ringing
  click) or for a heart sound, the shipped tests in their order;
- ``quiet``: a 9 dB run held 100 ms whose peak holds under 1 % of the band's power;
- ``brief``: an audible 9 dB peak held two or three frames (64-96 ms by the hop), not four;
- ``faint``: an audible peak of 6-9 dB held 100 ms;
- ``no_tone``: none of these (one 9 dB frame alone is breath noise: 0.3 % of its frames).

The same is asked of every cycle of the recordings annotated without wheezes: what the
missed cycles hold is set against what clean breathing holds.

One rule is scored: the *loud brief tone*. Many missed cycles hold a peak that passes every
frame test for three frames (96 ms by the hop), one short of the four the search asks, and
lasts 100 ms on the waveform; the rule takes such a run as a wheeze when its peak holds at
least a given share of the band's power (-3 to -12 dB), scored per recording and leave one
patient out over the bounds (the shipped search is the member with no bound).

For each detection on a recording annotated without wheezes: its pitch, duration, prominence,
share, second harmonic, phase and whether it repeats at the same pitch in other detections.

Twenty-first round, the *rhonchus's duration*: every run the shipped search reports (CORSA's
100 ms at every pitch, heart gates as ``analyze_lung`` applies them), with its median pitch and
its length by frames and on the waveform (``_held_s``), and a rule that asks a tone under a
pitch bound to last longer, by frames, on the waveform or both: the ATS terms (under 200 Hz,
250 ms) and their neighbours (150 Hz, 200 ms, one measure), scored per recording, per patient
and leaving one patient out over them all (none is shipped). With
``--rhonchi``, the same members on synthetic low tones (110-190 Hz, 0.15-0.8 s) placed every
quarter second of a breath (simulated breathing at 15/min, two seeds): how many each finds.
With ``--conditions``, the same members on every recording under each of
``bench.lung_conditions``' conditions (a replay: the search as ``analyze`` asks it, mains hum
taken out first), against the CORSA search on the same heard recording.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._spectra import frame_power
from stetho_signal.analysis import without_mains_hum
from stetho_signal.bands import Spectrum
from stetho_signal.lung import heart_sound_times
from stetho_signal.triage import TriageThresholds
from stetho_sim.sounds import FS_HZ, add_wheeze, breathing

CAUSES = ("no_tone", "faint", "brief", "quiet", "click", "voice", "heart", "steady", "found")
PROMINENCES_DB = (9.0, 8.0, 7.0, 6.0, 5.0)
LOUD_SHARES_DB = (-3.0, -6.0, -9.0, -12.0)
_NOISE_DB = 6.0  # under this, no frame's peak stands out of breath noise's own peaks
_SHARE = 0.01  # wheezes._WHEEZE_MIN_SHARE
_BRIEF_FRAMES = 2  # two 9 dB frames in a row (64 ms): one alone is breath noise's 0.3 %
# The rhonchus rule's members: (pitch bound Hz, duration s, measure); the ATS terms first.
RHONCHUS_BOUNDS_HZ = (200.0, 150.0)
RHONCHUS_DURATIONS_S = (0.25, 0.2)
RHONCHUS_MEASURES = ("both", "frames", "held")
Member = tuple[float, float, str]
SWEEP_PITCHES_HZ = (110.0, 130.0, 150.0, 170.0, 190.0)
SWEEP_DURATIONS_S = (0.15, 0.2, 0.3, 0.4, 0.5, 0.8)
SWEEP_STARTS_S = tuple(8.0 + 0.25 * k for k in range(16))  # a 4 s breath, every 0.25 s


def analysed(x: NDArray[np.float64], fs: float) -> NDArray[np.float64]:
    """The samples ``analyze`` searches: at the analysis rate, mains hum taken out."""
    y, _, _ = without_mains_hum(prepare(x if x.ndim == 1 else x[:, 0], fs).samples)
    return y


def _db(ratio: NDArray[Any] | float) -> Any:
    return 10.0 * np.log10(np.maximum(ratio, 1e-30))


def longest_run(
    prominent: NDArray[np.bool_], best_bin: NDArray[np.intp], lo: int, hi: int
) -> tuple[int, int]:
    """The longest run (start, end) of ``prominent`` frames in ``lo:hi`` whose peak moves at
    most two bins from frame to frame (``wheezes._runs``), (lo, lo) when there is none."""
    runs = wheezes._runs(prominent[lo:hi], best_bin[lo:hi])
    if not runs:
        return lo, lo
    a, b = max(runs, key=lambda r: r[1] - r[0])
    return lo + a, lo + b


class _OneFrameShorter(wheezes.WheezeSearch):
    """The shipped search asking runs one frame fewer (the waveform test keeps its 100 ms)."""

    def _voiced_runs(
        self, min_duration_s: float, heart_sounds_s: NDArray[np.float64] | None
    ) -> tuple[list[tuple[int, int]], NDArray[np.float64]]:
        hop_s = float(self._times[1] - self._times[0])
        return super()._voiced_runs(min_duration_s - hop_s, heart_sounds_s)


class _Recording:
    """One recording's spectrogram, tone candidates and the shipped search's answer."""

    def __init__(self, x: NDArray[np.float64], duration_s: float) -> None:
        self.x = x
        n = wheezes.WHEEZE_NPERSEG
        self.spectrogram = frame_power(self.x, ANALYSIS_RATE_HZ, n, n // 2)
        self.freqs, self.times, _ = self.spectrogram
        self.hop_s = float(self.times[1] - self.times[0])
        self.search = wheezes.WheezeSearch(self.x, self.spectrogram)
        self.duration_s = duration_s
        tones = self.search._tones
        assert tones is not None
        self.tones = tones
        band = self.search._band
        frames = np.arange(tones.tonal.size)
        self.row = tones.best_bin + tones.bin_offset
        self.prominence_db = _db(tones.ratio[self.row, frames].astype(np.float64))
        total = np.maximum(tones.smooth[band].sum(axis=0), 1e-30)
        centre = wheezes._mean_of_three(tones.smooth, axis=0)
        self.share = (3.0 * centre[self.row, frames] / total).astype(np.float64)
        second = np.clip(2 * self.row, 0, tones.ratio.shape[0] - 2)
        self.second_db = _db(
            np.maximum.reduce([tones.ratio[second + k, frames] for k in (-1, 0, 1)]).astype(
                np.float64
            )
        )
        self.heart = heart_sound_times(Spectrum(self.x, ANALYSIS_RATE_HZ))
        found = self.search.tones(duration_s)
        self.found = self.search.tones(duration_s, self.heart) if found else ()
        self.corsa = self.corsa_runs(None) and self.corsa_runs(self.heart)

    def corsa_runs(self, heart: NDArray[np.float64] | None) -> list[dict[str, Any]]:
        """The runs the shipped search reports (``tones``: CORSA's 100 ms at every pitch),
        each with its pitch and its length by frames and on the waveform."""
        runs, voiced = self.search._runs(self.duration_s, heart)
        track = self.freqs[self.search._band][self.tones.best_bin]
        rows = []
        for (a, b), share in zip(runs, voiced.tolist(), strict=True):
            held = self.search._held_s(a, b, track[a:b]) if share < 0.5 else 0.0
            if held < self.duration_s - wheezes._HELD_SLACK_S:
                continue
            rows.append(
                {
                    "start_s": round(float(self.times[a]) - self.hop_s / 2, 3),
                    "end_s": round(float(self.times[b - 1]) + self.hop_s / 2, 3),
                    "pitch_hz": round(float(np.median(track[a:b])), 1),
                    "frames": b - a,
                    "frames_ms": round((b - a) * self.hop_s * 1000.0),
                    "held_ms": round(held * 1000.0),
                }
            )
        return rows

    def brief_shares_db(self) -> list[float]:
        """The median share (dB) of each tone only the one-frame-shorter search finds."""
        search = _OneFrameShorter(self.x, self.spectrogram)
        tones = search.tones(self.duration_s)
        tones = search.tones(self.duration_s, self.heart) if tones else ()
        shares = []
        for tone in tones:
            if any(f.start_s < tone.end_s and tone.start_s < f.end_s for f in self.found):
                continue
            lo, hi = self.frames(tone.start_s, tone.end_s)
            shares.append(round(float(_db(np.median(self.share[lo : max(hi, lo + 1)]))), 1))
        return shares

    def frames(self, start_s: float, end_s: float) -> tuple[int, int]:
        lo = int(np.searchsorted(self.times, start_s))
        return lo, max(lo, int(np.searchsorted(self.times, end_s)))

    def cycle(self, start_s: float, end_s: float) -> dict[str, Any]:
        """What an annotated cycle holds and why the shipped search passed it by."""
        lo, hi = self.frames(start_s, end_s)
        need = int(np.ceil(self.duration_s / self.hop_s - 1e-9))
        audible = self.share >= _SHARE
        row: dict[str, Any] = {"start_s": start_s, "end_s": end_s}
        if hi <= lo:
            return row | {"cause": "no_tone"}
        best = lo + int(np.argmax(self.prominence_db[lo:hi]))
        runs = {}
        for p_db in PROMINENCES_DB:
            a, b = longest_run(self.prominence_db >= p_db, self.tones.best_bin, lo, hi)
            a2, b2 = longest_run(
                (self.prominence_db >= p_db) & audible, self.tones.best_bin, lo, hi
            )
            runs[p_db] = (a, b, a2, b2)
        a, b, a2, b2 = runs[9.0]
        row |= {
            "peak_db": round(float(self.prominence_db[best]), 1),
            "peak_hz": round(float(self.freqs[self.row[best]]), 0),
            "peak_share_db": round(float(_db(self.share[best])), 1),
            "second_db": round(float(self.second_db[best]), 1),
            "phase": round((float(self.times[best]) - start_s) / max(end_s - start_s, 1e-9), 2),
            "run_ms": {
                f"{p:g}": round((r[3] - r[2]) * self.hop_s * 1000.0) for p, r in runs.items()
            },
            "median_prominence_db": round(float(np.median(self.prominence_db[lo:hi])), 1),
        }
        if any(t.end_s > start_s and t.start_s < end_s for t in self.found):
            return row | {"cause": "found"}
        faint = runs[_NOISE_DB][3] - runs[_NOISE_DB][2]
        if b2 - a2 >= need:
            return row | {"cause": self._rejected(a2, b2)}
        if b - a >= need:
            return row | {"cause": "quiet"}
        if b2 - a2 >= _BRIEF_FRAMES:
            return row | {"cause": "brief"}
        return row | {"cause": "faint" if faint >= need else "no_tone"}

    def _rejected(self, a: int, b: int) -> str:
        """Why a run the frame tests pass was dropped (the shipped tests, in their order)."""
        tonal = self.tones.tonal
        steady = wheezes._steady_tone(self.tones.best_bin, tonal)
        if steady[a:b].mean() >= 0.5:
            return "steady"
        voiced = wheezes._voiced_frames(self.tones, self.freqs, np.arange(a, b))
        if voiced.mean() >= 0.5:
            return "voice"
        track = self.freqs[self.search._band][self.tones.best_bin[a:b]]
        if self.search._held_s(a, b, track) < self.duration_s - wheezes._HELD_SLACK_S:
            return "click"
        return "heart"

    def detection(self, tone: wheezes.Tone, cycles: NDArray[np.float64]) -> dict[str, Any]:
        lo, hi = self.frames(tone.start_s, tone.end_s)
        hi = max(hi, lo + 1)
        best = lo + int(np.argmax(self.prominence_db[lo:hi]))
        t = float(self.times[best])
        inside = [c for c in cycles if c[0] <= t < c[1]]
        phase = None
        if inside:
            c = inside[0]
            phase = round((t - c[0]) / max(c[1] - c[0], 1e-9), 2)
        return {
            "start_s": tone.start_s,
            "end_s": tone.end_s,
            "pitch_hz": round(tone.pitch_hz, 0),
            "peak_db": round(float(self.prominence_db[best]), 1),
            "peak_share_db": round(float(_db(self.share[best])), 1),
            "second_db": round(float(self.second_db[best]), 1),
            "phase": phase,
            "in_cycle": bool(inside),
        }


def probe(data_dir: Path) -> dict[str, Any]:
    """Missed cycles with their causes, false detections with their measures, and totals."""
    duration = TriageThresholds().wheeze_min_duration_s
    recordings = []
    missed: list[dict[str, Any]] = []
    wheezy: list[dict[str, Any]] = []
    false: list[dict[str, Any]] = []
    clean: list[dict[str, Any]] = []
    for wav, _ in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        truth = bool((cycles[:, 3] > 0).any())
        raw, fs = read_audio(wav)
        rec = _Recording(analysed(raw, fs), duration)
        name = wav.stem
        recordings.append(
            {
                "file": name,
                "patient": name.split("_")[0],
                "wheezes": truth,
                "flagged": bool(rec.found),
                "brief_shares_db": rec.brief_shares_db(),
                "runs": rec.corsa,
            }
        )
        if truth:
            rows = [
                rec.cycle(float(c[0]), float(c[1])) | {"file": name} for c in cycles if c[3] > 0
            ]
            wheezy.extend(rows)
            if not rec.found:
                missed.extend(rows)
        else:
            clean.extend(rec.cycle(float(c[0]), float(c[1])) | {"file": name} for c in cycles)
            false.extend(rec.detection(t, cycles) | {"file": name} for t in rec.found)
    return {
        "recordings": recordings,
        "missed_cycles": missed,
        "missed_causes": dict(Counter(r["cause"] for r in missed)),
        "wheezy_causes": dict(Counter(r["cause"] for r in wheezy)),
        "clean_causes": dict(Counter(r["cause"] for r in clean)),
        "false_detections": false,
        "summary": summary(missed, false) | {"clean": summary(clean, [])["missed"]},
        "loud_brief": loud_brief(recordings),
        "rhonchus": rhonchus(recordings),
    }


def scores(truth: list[bool], flags: list[bool]) -> tuple[float, float]:
    """Sensitivity and specificity per recording."""
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    tn = sum(not f and not t for f, t in zip(flags, truth, strict=True))
    return round(tp / max(sum(truth), 1), 3), round(tn / max(len(truth) - sum(truth), 1), 3)


def loud_brief(recordings: list[dict[str, Any]]) -> dict[str, Any]:
    """The loud-brief-tone rule at each share bound, and leave one patient out over them."""
    truth = [r["wheezes"] for r in recordings]
    members: list[float | None] = [None, *LOUD_SHARES_DB]

    def flags(bound: float | None, rows: list[dict[str, Any]]) -> list[bool]:
        return [
            r["flagged"] or (bound is not None and any(s >= bound for s in r["brief_shares_db"]))
            for r in rows
        ]

    held: list[bool] = []
    for r in recordings:
        train = [o for o in recordings if o["patient"] != r["patient"]]

        def balanced(bound: float | None, train: list[dict[str, Any]] = train) -> float:
            return sum(scores([o["wheezes"] for o in train], flags(bound, train)))

        best = max(members, key=lambda m: (balanced(m), -members.index(m)))
        held.extend(flags(best, [r]))
    return {
        "members": {
            "shipped" if m is None else f"{m:g} dB": scores(truth, flags(m, recordings))
            for m in members
        },
        "leave_one_patient_out": scores(truth, held),
    }


def rhonchus_members() -> list[Member | None]:
    """The shipped search before the rule (None), then the ATS terms and their neighbours."""
    members: list[Member | None] = [None]
    for bound in RHONCHUS_BOUNDS_HZ:
        for least in RHONCHUS_DURATIONS_S:
            members.extend((bound, least, measure) for measure in RHONCHUS_MEASURES)
    return members


def member_name(member: Member | None) -> str:
    if member is None:
        return "CORSA 100 ms"
    bound, least, measure = member
    return f"under {bound:g} Hz {1000 * least:g} ms {measure}"


def kept(run: dict[str, Any], member: Member | None) -> bool:
    """Whether a run of the CORSA search is still a wheeze under the member's rule."""
    if member is None or run["pitch_hz"] >= member[0]:
        return True
    least_ms, measure = 1000.0 * member[1], member[2]
    by_frames = run["frames_ms"] >= least_ms
    on_waveform = run["held_ms"] >= least_ms - 1000.0 * wheezes._HELD_SLACK_S
    if measure == "frames":
        return bool(by_frames)
    if measure == "held":
        return bool(on_waveform)
    return bool(by_frames and on_waveform)


def rhonchus(recordings: list[dict[str, Any]]) -> dict[str, Any]:
    """Each member per recording and per patient (Se, Sp), the recordings it moves, and
    leave one patient out over them all (ties to the earlier member)."""
    members = rhonchus_members()
    truth = [r["wheezes"] for r in recordings]

    def flags(member: Member | None, rows: list[dict[str, Any]]) -> list[bool]:
        return [any(kept(run, member) for run in r["runs"]) for r in rows]

    def per_patient(member: Member | None) -> tuple[float, float]:
        patients = sorted({r["patient"] for r in recordings})
        rows = [[r for r in recordings if r["patient"] == p] for p in patients]
        return scores(
            [any(r["wheezes"] for r in group) for group in rows],
            [any(flags(member, group)) for group in rows],
        )

    before = flags(None, recordings)
    out: dict[str, Any] = {}
    for member in members:
        now = flags(member, recordings)
        out[member_name(member)] = {
            "recording": scores(truth, now),
            "patient": per_patient(member),
            "moved": [r["file"] for r, a, b in zip(recordings, before, now, strict=True) if a != b],
        }
    held: list[bool] = []
    for r in recordings:
        train = [o for o in recordings if o["patient"] != r["patient"]]

        def balanced(m: Member | None, train: list[dict[str, Any]] = train) -> float:
            return sum(scores([o["wheezes"] for o in train], flags(m, train)))

        best = max(members, key=lambda m: (balanced(m), -members.index(m)))
        held.extend(flags(best, [r]))
    return {"members": out, "leave_one_patient_out": scores(truth, held)}


def rhonchus_sweep(seeds: tuple[int, ...] = (0, 1)) -> dict[str, dict[str, int]]:
    """How many of the placed low tones each member finds, per pitch and duration (of
    ``len(SWEEP_STARTS_S) * len(seeds)``): a run overlapping the tone counts."""
    members = rhonchus_members()
    found = {member_name(m): Counter[str]() for m in members}
    assert FS_HZ == ANALYSIS_RATE_HZ  # the simulator's rate: no resampling to blur the tones
    for seed in seeds:
        base = breathing(15.0, 20.0, seed=seed)
        for hz in SWEEP_PITCHES_HZ:
            for d in SWEEP_DURATIONS_S:
                for start in SWEEP_STARTS_S:
                    x = base.copy()
                    add_wheeze(x, start, start + d, freq_hz=hz)
                    runs = [
                        r
                        for r in _Recording(analysed(x, FS_HZ), 0.1).corsa
                        if r["start_s"] < start + d and r["end_s"] > start
                    ]
                    for m in members:
                        if any(kept(r, m) for r in runs):
                            found[member_name(m)][f"{hz:g} Hz {d:g} s"] += 1
    return {name: dict(c) for name, c in found.items()}


def under_conditions(data_dir: Path) -> dict[str, Any]:
    """Each member per recording under each of ``bench.lung_conditions``' conditions: Se, Sp
    and the flags it takes away from the CORSA search there, true and false."""
    from bench import lung_conditions  # its CirCor hearts and ICBHI reads: only asked here

    rows = []
    for item, condition, y, rate in lung_conditions.each_heard(data_dir):
        truth = bool(np.any(item["cycles"][:, 3] > 0))
        runs = _Recording(analysed(y, rate), 0.1).corsa
        rows.append({"condition": condition, "file": item["name"], "wheezes": truth,
                     "runs": runs})  # fmt: skip
    out: dict[str, Any] = {}
    for condition in lung_conditions.CONDITIONS:
        here = [r for r in rows if r["condition"] == condition]
        truth = [r["wheezes"] for r in here]
        before = [any(kept(run, None) for run in r["runs"]) for r in here]
        out[condition] = {}
        for member in rhonchus_members():
            now = [any(kept(run, member) for run in r["runs"]) for r in here]
            lost = [r for r, a, b in zip(here, before, now, strict=True) if a and not b]
            out[condition][member_name(member)] = {
                "recording": scores(truth, now),
                "true_lost": [r["file"] for r in lost if r["wheezes"]],
                "false_removed": sum(not r["wheezes"] for r in lost),
            }
    return out


def summary(missed: list[dict[str, Any]], false: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of what the missed cycles and the false detections hold."""

    def median(rows: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return round(float(np.median(values)), 2) if values else None

    keys = ("peak_db", "peak_share_db", "second_db", "phase")
    out: dict[str, Any] = {
        "missed": {k: median(missed, k) for k in keys},
        "false": {k: median(false, k) for k in (*keys, "pitch_hz")},
    }
    for p in PROMINENCES_DB:
        out["missed"][f"held_100ms_at_{p:g}_db"] = sum(
            r.get("run_ms", {}).get(f"{p:g}", 0) >= 100 for r in missed
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/wheeze_forensics.json"))
    parser.add_argument(
        "--rhonchi", action="store_true", help="also score the rules on synthetic low tones"
    )
    parser.add_argument(
        "--conditions", action="store_true", help="also under bench.lung_conditions' conditions"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    results = probe(args.data)
    for r in results["recordings"]:
        if r["wheezes"] != r["flagged"]:
            print(f"{r['file']:<28} wheezes {r['wheezes']!s:<5} flagged {r['flagged']}")
    print("missed cycles:", results["missed_causes"])
    print("all wheezy cycles:", results["wheezy_causes"])
    print("cycles annotated without wheezes (clean recordings):", results["clean_causes"])
    print("summary:", json.dumps(results["summary"]))
    print("loud brief tone (Se, Sp):", json.dumps(results["loud_brief"]))
    print("runs behind each flag (pitch Hz, ms by frames / on the waveform):")
    for r in results["recordings"]:
        if r["runs"]:
            runs = ", ".join(
                f"{x['pitch_hz']:g} {x['frames_ms']}/{x['held_ms']}" for x in r["runs"]
            )
            print(f"  {r['file']:<28} {'wheezes' if r['wheezes'] else 'none':<8} {runs}")
    print("rhonchus rule, per recording and per patient (Se, Sp):")
    for name, m in results["rhonchus"]["members"].items():
        print(f"  {name:<30} {m['recording']} {m['patient']} moved {m['moved']}")
    print("  leave one patient out:", results["rhonchus"]["leave_one_patient_out"])
    if args.rhonchi:
        results["rhonchus_sweep"] = sweep = rhonchus_sweep()
        durations = " ".join(f"{d:>4g}" for d in SWEEP_DURATIONS_S)
        print(f"synthetic low tones found, of {2 * len(SWEEP_STARTS_S)} (durations {durations} s):")
        for name, counts in sweep.items():
            for hz in SWEEP_PITCHES_HZ:
                cells = (counts.get(f"{hz:g} Hz {d:g} s", 0) for d in SWEEP_DURATIONS_S)
                print(f"  {name:<30} {hz:>4g} Hz", " ".join(f"{c:>4}" for c in cells))
    if args.conditions:
        results["rhonchus_conditions"] = heard = under_conditions(args.data)
        print("rhonchus rule under each condition (Se, Sp; true flags lost; false removed):")
        for condition, members in heard.items():
            for name, m in members.items():
                print(f"  {condition:<16} {name:<30} {m['recording']} lost {m['true_lost']}"
                      f" removed {m['false_removed']}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
