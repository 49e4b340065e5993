"""Does a tone stand out once the chest piece's own response is taken out by the recording?

The thirtieth round's probe (``python -m bench.wheeze_whitened_probe --data DIR``, under a
minute, not in ``make eval``). The twenty-ninth round found a peak in a recording's long-term
spectrum as often the chest piece's resonance (the Littmann 3200's and the AKG C417L's
531-625 Hz, clean or wheezy) as a wheeze. A resonance is excited by every frame of breath
noise, so it sits in the recording's median frame spectrum; a wheeze comes and goes with the
breath. Each frame's spectrum is therefore divided, bin by bin, by the recording's median
spectrum before a narrow peak is looked for: the device's response is taken out by the
recording itself, with no per-device reference to fit.

The measure, per recording, on the samples ``analyze`` searches (analysis rate, mains hum
taken out) and the wheeze search's frames (64 ms Hann, 32 ms hop, 15.6 Hz bins, power
averaged over three frames as the search does):

- each frame's spectrum over its own 100-1000 Hz power (so a loud frame does not weigh in the
  median; frames under 1 % of the median frame's band power, a recorder's silence, left out
  of the median and of the search);
- the recording's reference: each bin's lower quartile over the frames (a resonance sounds in
  every frame, a wheeze in a part of each breath: the median would take in a wheeze held over
  whole expirations); the *whitened* spectrum is each frame's over it;
- per frame, among the audible 100-1000 Hz bins (their +-1 bins hold 1 % of the band's power,
  the shipped test on the unwhitened power), the whitened spectrum's most prominent over the
  mean of its neighbours 2-6 bins away (the shipped search's neighbours, its own +-1 bins left
  out: a narrow peak); frames near heart sounds (60 ms, as shipped) are not searched;
- runs of such frames at ``prominence_db`` or more whose peak moves at most two bins a frame
  (``wheezes._runs``), of 100 ms by the hop (4 frames), voiced in under half their frames
  (``wheezes._voiced_frames``) and held 100 ms on the waveform (``wheezes._held_s``): the
  shipped search's tests on the whitened peak;
- the recording is *whitened-wheezy* when two such runs lie within a quarter octave of each
  other (median pitch) and start at least half a breath apart (the respiratory rate
  ``analyze`` reads; no rate, no flag): a wheeze that comes back with the breath.

The pre-registered rule (docs/accuracy.md, thirtieth round): a recording is wheezy when the
shipped search flags it or it is whitened-wheezy at ``RULE_DB``. The other prominences are
printed as the measure's reach, with leave one patient out over them, not rules. Per
annotated cycle, before any rule: the longest whitened run of audible frames (at
``RULE_DB``), and whether a kept run overlaps it, for the wheezy cycles, the wheeze-free
cycles of the same recordings and the cycles of recordings without wheezes. Added after the
registered run, as a reading: the same rule on the frames' own spectra (no whitening), per
recording and per cycle, to show what the whitening itself moves.

    python -m bench.wheeze_whitened_probe --data DIR [--json FILE]
    python -m bench.wheeze_whitened_probe --simulate   # the calibration on simulated breath
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from bench import _probe
from bench._eval_lung import _icbhi_files, annotated_cycles, band_of, read_audio
from bench._eval_lung_round5 import family_scores
from bench.wheeze_forensics import analysed
from stetho_signal import analyze, wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.lung import heart_sound_times
from stetho_signal.triage import TriageThresholds
from stetho_sim.sounds import FS_HZ, breathing

BAND_HZ = (100.0, 1000.0)
SILENT_SHARE = 0.01  # of the median frame's band power: a recorder's silence
NEIGHBOURS = 13  # wheezes._WHEEZE_NEIGHBOURS: bins 2-6 away either side
REFERENCE_PERCENTILE = 25.0  # of each bin over the frames: a tone in up to 3/4 of them stays out
MIN_SHARE = 0.01  # wheezes._WHEEZE_MIN_SHARE: audible
PITCH_OCTAVES = 0.25  # the same pitch: within a quarter octave (fifth round's pitch group)
RULE_DB = 7.0  # pre-registered (docs/accuracy.md, thirtieth round)
REACH_DB = (5.0, 6.0, 7.0, 8.0, 9.0)


class Whitened(NamedTuple):
    """Per frame: the whitened spectrum's most prominent bin (from the band's first) and its
    prominence (dB), whether the frame is audible and searched, and the shipped tones."""

    times: NDArray[np.float64]
    best_bin: NDArray[np.intp]
    prominence_db: NDArray[np.float64]
    searched: NDArray[np.bool_]
    track_hz: NDArray[np.float64]
    band_start: int  # the band's first bin in the whole spectrum


class Run(NamedTuple):
    start_s: float
    end_s: float
    pitch_hz: float


def whitened(
    x: NDArray[np.float64], heart_s: NDArray[np.float64] | None, whiten: bool = True
) -> Whitened:
    """The whitened spectrum's peak per frame (module docstring) of ``x`` at 4 kHz; with
    ``whiten`` false, the same search on the frames' own spectra (the ablation)."""
    n = wheezes.WHEEZE_NPERSEG
    freqs, times, power = frame_power(x, ANALYSIS_RATE_HZ, n, n // 2)
    smooth = wheezes._mean_of_three(power, axis=1).astype(np.float64)
    rows = np.flatnonzero((freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1]))
    band = slice(int(rows[0]), int(rows[-1]) + 1)
    total = np.maximum(smooth[band].sum(axis=0), 1e-30)
    kept = total > SILENT_SHARE * np.median(total)
    norm = smooth / total
    # A low percentile, not the median: a wheeze's own frames (a whole expiration can be
    # half of them) would lift the median at its pitch; a resonance is in every frame.
    reference = (
        np.percentile(norm[:, kept], REFERENCE_PERCENTILE, axis=1)
        if kept.any() and whiten
        else np.ones(freqs.size)
    )
    white = norm / np.maximum(reference, 1e-30)[:, None]
    wide = ndimage.uniform_filter1d(white, size=NEIGHBOURS, axis=0, mode="nearest")
    centre = ndimage.uniform_filter1d(white, size=3, axis=0, mode="nearest")
    neighbours = np.maximum((NEIGHBOURS * wide - 3.0 * centre) / (NEIGHBOURS - 3.0), 1e-30)
    ratio = white[band] / neighbours[band]
    # Whitening lifts an empty stretch of spectrum (over a chest piece's roll-off) to the
    # breath's level, noise and all: the peak is sought among audible bins only.
    loud = ndimage.uniform_filter1d(smooth[band], size=3, axis=0, mode="nearest")
    audible = 3.0 * loud >= MIN_SHARE * total
    best = np.argmax(np.where(audible, ratio, 0.0), axis=0)
    frames = np.arange(times.size)
    searched = kept & audible[best, frames]
    if heart_s is not None and heart_s.size:
        hop_s = float(times[1] - times[0])
        near = np.abs(times[:, None] - heart_s[None, :]) <= wheezes.HEART_GATE_S + hop_s / 2
        searched &= ~near.any(axis=1)
    prominence = 10.0 * np.log10(np.maximum(ratio[best, frames], 1e-30))
    return Whitened(times, best, prominence, searched, freqs[band][best], band.start)


class Searched:
    """One recording (4 kHz, hum taken out) and the shipped search's tones over it."""

    def __init__(self, x: NDArray[np.float64], duration_s: float) -> None:
        self.x = x
        self.duration_s = duration_s
        n = wheezes.WHEEZE_NPERSEG
        self.search = wheezes.WheezeSearch(x, frame_power(x, ANALYSIS_RATE_HZ, n, n // 2))
        self.heart = heart_sound_times(Spectrum(x, ANALYSIS_RATE_HZ))
        found = self.search.tones(duration_s)
        self.shipped = bool(found and self.search.tones(duration_s, self.heart))
        self.white = whitened(x, self.heart)
        self.plain = whitened(x, self.heart, whiten=False)

    def runs(self, prominence_db: float, whiten: bool = True) -> list[Run]:
        """The runs the whitened search keeps at ``prominence_db`` (module docstring); with
        ``whiten`` false, those of the same search unwhitened."""
        w = self.white if whiten else self.plain
        return kept_runs(self, w, w.searched & (w.prominence_db >= prominence_db))

    def longest_ms(self, prominence_db: float, start_s: float, end_s: float) -> float:
        """The longest run of searched frames at ``prominence_db`` inside a cycle, ms."""
        w = self.white
        lo, hi = np.searchsorted(w.times, [start_s, end_s])
        tonal = w.searched[lo:hi] & (w.prominence_db[lo:hi] >= prominence_db)
        spans = wheezes._runs(tonal, w.best_bin[lo:hi])
        hop_s = float(w.times[1] - w.times[0]) if w.times.size > 1 else 0.0
        return round(max((b - a for a, b in spans), default=0) * hop_s * 1000.0)


def kept_runs(rec: Searched, w: Whitened, tonal: NDArray[np.bool_]) -> list[Run]:
    """The runs of ``tonal`` frames of track ``w`` that pass the shipped search's run tests:
    the peak moving at most two bins a frame, ``rec.duration_s`` by the hop, voiced in under
    half their frames (read from the shipped tones' spectra at the track's bin) and held
    ``rec.duration_s`` on the waveform."""
    shipped = rec.search._tones
    if w.times.size < 2 or shipped is None:
        return []
    hop_s = float(w.times[1] - w.times[0])
    tones = shipped._replace(best_bin=w.best_bin + (w.band_start - shipped.bin_offset))
    found = []
    for a, b in wheezes._runs(tonal, w.best_bin):
        if (b - a) * hop_s < rec.duration_s:
            continue
        voiced = wheezes._voiced_frames(tones, rec.search._freqs, np.arange(a, b))
        if voiced.mean() >= 0.5:
            continue
        span = (float(w.times[a]) - hop_s, float(w.times[b - 1]) + hop_s)
        held = wheezes._held_s(rec.x, ANALYSIS_RATE_HZ, span, w.track_hz[a:b])
        if held < rec.duration_s - wheezes._HELD_SLACK_S:
            continue
        t0 = max(float(w.times[a]) - hop_s / 2, 0.0)
        pitch = float(np.median(w.track_hz[a:b]))
        found.append(Run(round(t0, 3), round(t0 + (b - a) * hop_s, 3), pitch))
    return found


def recurs(found: list[Run], rate_bpm: float | None) -> bool:
    """Two runs within a quarter octave, starting at least half a breath apart."""
    if rate_bpm is None:
        return False
    half_breath_s = 30.0 / rate_bpm
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            same = abs(np.log2(a.pitch_hz / b.pitch_hz)) <= PITCH_OCTAVES
            if same and abs(b.start_s - a.start_s) >= half_breath_s:
                return True
    return False


def rate_of(x: NDArray[np.float64], fs: float, age: float | None) -> float | None:
    """The respiratory rate ``analyze`` reads (the patient's age band)."""
    lung = analyze(x, fs, "lung", age_band=band_of(age)).lung
    assert lung is not None
    return lung.respiratory_rate_bpm


def tone(
    n: int, pitch_hz: float, level: float, spans_s: list[tuple[float, float]]
) -> NDArray[np.float64]:
    """A sine of amplitude ``level`` sounding over ``spans_s``, 20 ms ramps at each end."""
    t = np.arange(n) / FS_HZ
    gate = np.zeros(n)
    for a, b in spans_s:
        gate += np.clip(np.minimum(t - a, b - t) / 0.02, 0.0, 1.0)
    return level * gate * np.sin(2.0 * np.pi * pitch_hz * t)


def resonant(x: NDArray[np.float64], centre_hz: float, gain_db: float) -> NDArray[np.float64]:
    """``x`` through a chest piece's narrow resonance: a peaking boost (Q 8) at ``centre_hz``."""
    from scipy import signal

    b, a = signal.iirpeak(centre_hz, 8.0, fs=FS_HZ)
    boost = 10.0 ** (gain_db / 20.0) - 1.0
    return x + boost * signal.lfilter(b, a, x)


def simulated_breaths() -> Iterator[
    tuple[float, int, NDArray[np.float64], float, list[tuple[float, float]]]
]:
    """The calibration's breaths: 60 s at 12, 15 and 20/min, six seeds each, as (rate, seed,
    breath, its RMS, the spans a tone is added over: 0.4 s from a fifth into each breath)."""
    for rate in (12.0, 15.0, 20.0):
        breath_s = 60.0 / rate
        for seed in range(6):
            clean = breathing(rate, 60.0, seed=seed)
            rms = float(np.sqrt(np.mean(clean**2)))
            spans = [
                (k * breath_s + 0.2 * breath_s, k * breath_s + 0.2 * breath_s + 0.4)
                for k in range(int(60 / breath_s))
            ]
            yield rate, seed, clean, rms, spans


def simulate() -> dict[str, Any]:
    """The calibration: whitened-wheezy flags on simulated breath, clean, through a resonance
    and with a recurring tone, at every prominence of ``REACH_DB``."""
    duration = TriageThresholds().wheeze_min_duration_s
    rows = []
    for rate, seed, clean, rms, spans in simulated_breaths():
        cases = {
            "clean": clean,
            "resonance 550 Hz +12 dB": resonant(clean, 550.0, 12.0),
        }
        for level_db in (3.0, 0.0, -3.0, -6.0):
            cases[f"tone 0.4 s each breath {level_db:g} dB"] = clean + tone(
                clean.size, 400.0, rms * 10 ** (level_db / 20.0), spans
            )
        for name, x in cases.items():
            y = analysed(x, FS_HZ)
            rec = Searched(y, duration)
            bpm = rate_of(x, FS_HZ, None)
            rows.append(
                {
                    "case": name,
                    "rate": rate,
                    "seed": seed,
                    "shipped": rec.shipped,
                    **{f"{p:g}": recurs(rec.runs(p), bpm) for p in REACH_DB},
                    **{f"runs {p:g}": len(rec.runs(p)) for p in REACH_DB},
                }
            )
    return {"rows": rows}


def probe(data_dir: Path) -> dict[str, Any]:
    """Each recording's whitened runs and flags, and per annotated cycle the longest run."""
    duration = TriageThresholds().wheeze_min_duration_s
    recordings, cycles_out = [], []
    for wav, age in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        raw, fs = read_audio(wav)
        rec = Searched(analysed(raw, fs), duration)
        bpm = rate_of(raw if raw.ndim == 1 else raw[:, 0], fs, age)
        wheezy = bool((cycles[:, 3] > 0).any())
        found = {p: rec.runs(p) for p in REACH_DB}
        plain = rec.runs(RULE_DB, whiten=False)
        recordings.append(
            {
                "file": wav.stem,
                "patient": wav.stem.split("_")[0],
                "wheezes": wheezy,
                "flagged": rec.shipped,
                "rate_bpm": bpm,
                "runs": {f"{p:g}": [r._asdict() for r in found[p]] for p in REACH_DB},
                "whitened": {f"{p:g}": recurs(found[p], bpm) for p in REACH_DB},
                "unwhitened": recurs(plain, bpm),
            }
        )
        for start, end, _, w in cycles.tolist():
            kept = [r for r in found[RULE_DB] if r.start_s < end and start < r.end_s]
            kept_plain = [r for r in plain if r.start_s < end and start < r.end_s]
            cycles_out.append(
                {
                    "file": wav.stem,
                    "kind": "wheezy"
                    if w
                    else ("clean, wheezy recording" if wheezy else "clean recording"),
                    "longest_ms": rec.longest_ms(RULE_DB, start, end),
                    "kept_run": bool(kept),
                    "kept_unwhitened": bool(kept_plain),
                }
            )
    truth = [r["wheezes"] for r in recordings]
    patients = [r["patient"] for r in recordings]
    shipped = [r["flagged"] for r in recordings]

    def flags(p: float) -> list[bool]:
        return [r["flagged"] or r["whitened"][f"{p:g}"] for r in recordings]

    ablation = [r["flagged"] or r["unwhitened"] for r in recordings]
    return {
        "ablation": family_scores(truth, patients, {"shipped": shipped, "unwhitened": ablation}),
        "recordings": recordings,
        "cycles": cycles_out,
        "per_patient": {
            "shipped": _probe.per_patient(truth, patients, shipped),
            member(RULE_DB): _probe.per_patient(truth, patients, flags(RULE_DB)),
        },
        **_probe.rule_and_reach(truth, patients, shipped, flags, member, RULE_DB, REACH_DB),
    }


def member(prominence_db: float) -> str:
    return f"shipped or whitened {prominence_db:g} dB"


def _print_simulated(results: dict[str, Any]) -> None:
    rows = results["rows"]
    print("simulated breath (3 rates x 6 seeds, 60 s): recordings flagged, runs kept")
    for case in dict.fromkeys(r["case"] for r in rows):
        mine = [r for r in rows if r["case"] == case]
        flagged = "  ".join(f"{p:g} dB {sum(r[f'{p:g}'] for r in mine):2d}" for p in REACH_DB)
        kept = "  ".join(f"{sum(r[f'runs {p:g}'] for r in mine):3d}" for p in REACH_DB)
        shipped = sum(r["shipped"] for r in mine)
        print(f"  {case:<32} shipped {shipped:2d} | whitened {flagged} | runs {kept}")


def _print_probe(results: dict[str, Any]) -> None:
    rows = sorted(results["recordings"], key=lambda r: (r["patient"], r["file"]))
    print("per recording: annotated, shipped flag, rate, whitened runs at the rule (pitch Hz)")
    for r in rows:
        pitches = ", ".join(
            f"{x['pitch_hz']:.0f}@{x['start_s']:.1f}s" for x in r["runs"][f"{RULE_DB:g}"]
        )
        marks = "".join("W" if r["whitened"][f"{p:g}"] else "." for p in REACH_DB)
        print(
            f"{r['patient']:>4} {r['file'][:26]:<26} {'wheezes' if r['wheezes'] else 'none':<8} "
            f"{'flag' if r['flagged'] else '-':<5} {r['rate_bpm'] or 0:5.1f}/min {marks}  {pitches}"
        )
    print(f"per annotated cycle, at {RULE_DB:g} dB: longest run of whitened frames, a kept run")
    for kind in ("wheezy", "clean, wheezy recording", "clean recording"):
        mine = [c for c in results["cycles"] if c["kind"] == kind]
        ms = np.array([c["longest_ms"] for c in mine])
        print(
            f"  {kind:<24} {len(mine):3d} cycles: run >= 128 ms {np.mean(ms >= 128):.2f}, "
            f">= 96 ms {np.mean(ms >= 96):.2f}, median {np.median(ms):.0f} ms; "
            f"kept run {np.mean([c['kept_run'] for c in mine]):.2f} "
            f"(unwhitened {np.mean([c['kept_unwhitened'] for c in mine]):.2f})"
        )
    s = results["ablation"]["members"]["unwhitened"]
    print(
        f"the same rule unwhitened (ablation): Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}"
    )
    _probe.print_rule_and_reach(results, "prominence", width=32)
    _probe.print_per_patient(results["per_patient"], width=32)


def main(argv: list[str] | None = None) -> int:
    parser = _probe.arguments(__doc__, "wheeze_whitened_probe", data_required=False)
    parser.add_argument("--simulate", action="store_true", help="the calibration only")
    args = parser.parse_args(argv)
    if args.simulate:
        results = simulate()
        _print_simulated(results)
    elif not _probe.has_manifest(args.data):
        return 2
    else:
        results = probe(args.data)
        _print_probe(results)
    _probe.save(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
