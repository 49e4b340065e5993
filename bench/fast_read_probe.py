"""Fast reads borne out or not: ``python -m bench.fast_read_probe [--data DIR]`` (~5 min, 2 cores).

The thirteenth round's measurements (docs/accuracy.md): every read at or over 131/min (NEWS2's
urgent band) on at least four beat intervals, of hearts whose rate is known or that have none,
with what the triage reads of it (``HeartResult.envelope_repeat``, ``sound_prominence``,
``sound_high_band_share``, ``beat_span_share``, ``beat_step``, ``beat_prominence``). A read
is true within max(5 bpm, 8 %) of the reference, false at 1.2 times it or more or with no
heart, other otherwise. The sets:

- ``breath``: each annotated CirCor crop (bench.heart_faster's) under a real ICBHI breath sound
  (high-passed at 200 Hz, as bench.heart_conditions does), three lung recordings each, at
  0.5, 1, 2, 3, 5 and 10 times the heart's RMS (a faint heart under loud breathing);
- ``faster``: bench.heart_faster's versions (the crop, then 110-190/min) heard as
  bench.heart_conditions hears them: unchanged, breathing at half and equal RMS, room noise
  10 dB under, diaphragm-like, mains hum;
- ``rhythms``: bench.heart_rhythms' versions (slower, AF-like), unchanged and under breathing
  at half and equal RMS;
- ``sweeps``: bench.heart_sweeps' irregular, pcg, af and faint_s2 cases at 110/min or more;
- ``simulated``: the simulator's normal scenario, heart gain 0-1 (0: no heart), breath sounds
  0.1-0.4 at 12-30/min with and without crackles, hearts at 72, 140 and 180/min, three seeds;
- ``simulated_irregular``: the same scenario with AF-like beat-to-beat variation (CV 0.15 and
  0.25) at 140 and 180/min, heart gain 0.03-1 under breath sounds 0.1-0.4 at 20/min, with and
  without crackles, three seeds: a fast irregular heart under breathing, which the sets above
  hold only from real recordings at half and equal RMS (seventeenth round);
- ``lungs``: every ICBHI recording high-passed at 200 Hz (breath sounds, no heart) analysed as
  a heart recording;
- ``breath_lowband``: as ``breath``, under ICBHI recordings whose own heart is faint (their
  25-150 Hz envelope repeats under :data:`FAINT_HEART_REPEAT` at any heart period) with their
  low band left in, at the same RMS ratios: a breath sound as a stethoscope records it, for
  measures that compare the sounds' spectra with the breath's (nineteenth round);
- ``lungs_lowband``: those recordings, not high-passed, analysed as a heart recording.

Every read also carries its triage level and the chain's nRMSSD, each fast read
bench._beat_spectra's measures of whether its chain's sounds are heart sounds and
bench._breath_rhythm's of whether its beats follow the breath (twentieth round), and
bench._breath_dominance's of whether the recording as heard is dominated by breath
(``heard_share``, twenty-eighth round).

Printed: per set, the true, false and other reads, how many of each every arm of
``stetho_signal._rules._fast_unconfirmed`` takes with the shipped thresholds (any of them:
``either``; the beat step where no other arm does: ``beat_step_alone``; the thirty-fourth
round's little repeat with faint beats: ``faint_beats``, and where no other arm does:
``faint_beats_alone``), and the true reads nearest each bound. JSON to
``bench/results/fast_read_probe.json`` (every read).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from bench import heart_conditions as hc
from bench import heart_faster, heart_rhythms, heart_sweeps
from bench._beat_spectra import beat_spectra
from bench._breath_dominance import heard_share
from bench._breath_rhythm import measured as breath_measured
from bench._data import located
from bench._hearing import resampled, scaled
from bench.evaluate import _reference_rate
from stetho_signal import TriageThresholds, analyze
from stetho_sim.sounds import median_rate_bpm

DEFAULT_JSON = Path("bench/results/fast_read_probe.json")
BREATH_RATIOS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
LUNG_TURNS = (0, 7, 13)
FASTER_CONDITIONS = ("original", "breathing_half", "breathing_equal", "room_noise_10db",
                     "diaphragm", "mains_hum")  # fmt: skip
RHYTHM_CONDITIONS = ("original", "breathing_half", "breathing_equal")
SIMULATED = {
    "heart_gain": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
    "breath_gain": (0.1, 0.25, 0.4),
    "breaths_per_min": (12.0, 20.0, 30.0),
    "crackles": (False, True),
    "seed": (0, 1, 2),
    "heart_rate_bpm": (72.0, 140.0, 180.0),
}
SIMULATED_IRREGULAR = {
    "heart_gain": (0.03, 0.1, 0.3, 1.0),
    "breath_gain": (0.1, 0.25, 0.4),
    "breaths_per_min": (20.0,),
    "crackles": (False, True),
    "seed": (0, 1, 2),
    "heart_rate_bpm": (140.0, 180.0),
    "rr_variation": (0.15, 0.25),
}
FAINT_HEART_REPEAT = 0.12
"""A lung recording's own heart counts as faint when its 25-150 Hz envelope (over its 0.5 s
running mean) repeats under this at every lag of 0.33-1.5 s (40-180/min): the ICBHI recordings
with a heart the analysis reads clearly repeat at 0.2-0.7, most others at 0.05-0.11."""
_OWN_HEART_FS_HZ = 4000.0
_URGENT_BPM = 131.0
_MIN_INTERVALS = 4
_ITEMS: list[dict[str, Any]] = []
_LUNGS: list[hc.Lung] = []
_LOWBAND: list[int] = []  # indices into _LUNGS of those with a faint heart of their own


def _read(x: np.ndarray, fs: float, ref: float | None, **about: Any) -> dict[str, Any]:
    result = analyze(x, fs, "heart")
    heart = result.heart
    assert heart is not None
    fast = heart.rate_bpm is not None and round(heart.rate_bpm) >= _URGENT_BPM
    return {
        **about, "ref": None if ref is None else round(ref, 1), "rate": heart.rate_bpm,
        "intervals": heart.beat_intervals, "repeat": heart.envelope_repeat,
        "prominence": heart.sound_prominence, "share": heart.sound_high_band_share,
        "span": heart.beat_span_share, "step": heart.beat_step, "nrmssd": heart.rr_nrmssd,
        "beat_prominence": heart.beat_prominence,
        "triage": result.triage.level,
        **(beat_spectra(x, fs, heart.s1_s, heart.s2_s) if fast else {}),
        **(breath_measured(x, fs, heart.s1_s, heart.s2_s) if fast else {}),
        **({"heard_share": heard_share(np.asarray(x, dtype=np.float64), fs)} if fast else {}),
    }  # fmt: skip


def own_heart_repeat(y: np.ndarray, fs: float) -> float:
    """How much a lung recording's 25-150 Hz envelope repeats at a heart period (0.33-1.5 s):
    its highest autocorrelation there, the envelope (10 ms steps) over its 0.5 s running mean."""
    if fs != _OWN_HEART_FS_HZ:  # the envelope needs no more; 44.1 kHz costs 10 times as much
        y, fs = resampled(y, fs, _OWN_HEART_FS_HZ), _OWN_HEART_FS_HZ
    sos = signal.butter(4, (25.0, 150.0), "bandpass", fs=fs, output="sos")
    env = np.abs(signal.hilbert(signal.sosfiltfilt(sos, y - np.mean(y))))
    step = round(fs / 100.0)
    env = env[: env.size // step * step].reshape(-1, step).mean(axis=1)
    mean = np.convolve(env, np.ones(50) / 50.0, "same")
    relative = env / np.maximum(mean, 1e-12) - 1.0
    relative -= np.mean(relative)
    ac = np.correlate(relative, relative, "full")[relative.size - 1 :]
    return round(float(np.max(ac[33:151]) / ac[0]), 3)


def low_band_breath(lung: hc.Lung, n: int, fs: float) -> np.ndarray:
    """As :func:`bench.heart_conditions.breath`, with the low band left in (mean removed)."""
    y, rate = lung
    if rate != fs:
        y = resampled(y, rate, fs)
    return np.resize(y - np.mean(y), n)


def _with_breath(x: np.ndarray, fs: float, lung: hc.Lung, ratio: float) -> np.ndarray:
    out: np.ndarray = x + scaled(hc.breath(lung, x.size, fs), x, ratio)
    return out


def _real(job: tuple[str, int]) -> list[dict[str, Any]]:
    """One CirCor recording's reads in one set (``breath``, ``faster``, ``rhythms``)."""
    kind, k = job
    item, fs = _ITEMS[k], _ITEMS[k]["fs"]
    name = item["name"]
    if kind == "breath":
        x, seg, _ = heart_faster.cropped(item)
        ref = _reference_rate(seg)
        return [
            _read(_with_breath(x, fs, _LUNGS[(k + t) % len(_LUNGS)], r), fs, ref, name=name,
                  lung=(k + t) % len(_LUNGS), ratio=r)
            for t in LUNG_TURNS for r in BREATH_RATIOS
        ]  # fmt: skip
    if kind == "breath_lowband":
        x, seg, _ = heart_faster.cropped(item)
        ref = _reference_rate(seg)
        lungs = [_LOWBAND[(k + t) % len(_LOWBAND)] for t in LUNG_TURNS]
        return [
            _read(x + scaled(low_band_breath(_LUNGS[j], x.size, fs), x, r), fs, ref, name=name,
                  lung=j, ratio=r)
            for j in lungs for r in BREATH_RATIOS
        ]  # fmt: skip
    versions, conditions = (
        (heart_faster.versions, FASTER_CONDITIONS)
        if kind == "faster"
        else (heart_rhythms.versions, RHYTHM_CONDITIONS)
    )
    lung = _LUNGS[k % len(_LUNGS)]
    out = []
    for target, x, seg in versions(item)[1]:
        breathing = hc.breath(lung, x.size, fs)  # as bench.heart_conditions: once per version
        for condition in conditions:
            y, rate = hc.heard(condition, x, fs, name, breathing)
            out.append(_read(y, rate, _reference_rate(seg), name=name, version=str(target),
                             condition=condition))  # fmt: skip
    return out


def _swept(job: tuple[str, dict[str, float]]) -> list[dict[str, Any]]:
    name, params = job
    sweep = heart_sweeps.SWEEPS[name]
    rec = sweep.make(sweep.duration_s, **params)
    return [_read(rec.x, heart_sweeps.FS_HZ, median_rate_bpm(rec.s1), sweep=name, **params)]


def _simulated(params: dict[str, Any]) -> list[dict[str, Any]]:
    synth = heart_sweeps._synth("normal", params["seed"], **{
        k: v for k, v in params.items() if k != "seed"
    })  # fmt: skip
    x = synth.read(round(20.0 * heart_sweeps.FS_HZ))
    s1 = [(e.start_s + e.end_s) / 2 for e in synth.events if e.kind == "S1"]
    ref = median_rate_bpm([t for t in s1 if t < 20.0]) if params["heart_gain"] > 0 else None
    return [_read(x, heart_sweeps.FS_HZ, ref, **params)]


def _lung(k: int) -> list[dict[str, Any]]:
    y, fs = _LUNGS[k]
    sos = signal.butter(4, hc.BREATH_HIGH_PASS_HZ, "highpass", fs=fs, output="sos")
    return [_read(signal.sosfiltfilt(sos, y), fs, None, lung=k)]


def _lung_lowband(k: int) -> list[dict[str, Any]]:
    y, fs = _LUNGS[k]
    return [_read(y - np.mean(y), fs, None, lung=k)]


def _start(data_dir: Path) -> None:
    _ITEMS[:] = [i for i in heart_faster.recordings(data_dir) if "x" in i]
    _LUNGS[:] = hc.lung_recordings(data_dir)
    _LOWBAND[:] = [
        k for k, lung in enumerate(_LUNGS) if own_heart_repeat(*lung) < FAINT_HEART_REPEAT
    ]


def label(read: dict[str, Any]) -> str | None:
    """true, false or other (None without a rate), as the module's docstring says."""
    rate, ref = read["rate"], read["ref"]
    if rate is None:
        return None
    if ref is None:
        return "false"
    if abs(rate - ref) <= max(5.0, 0.08 * ref):
        return "true"
    return "false" if rate >= 1.2 * ref else "other"


def arms(read: dict[str, Any], t: TriageThresholds) -> tuple[bool, bool, bool, bool]:
    """Which arm of the rule takes the read: (no repeat and faint sounds, breath sounds,
    beats that step in level, little repeat and faint beats)."""
    repeat, share, span = read["repeat"], read["share"], read["span"]
    quiet = repeat is not None and repeat < t.urgent_high_min_envelope_repeat
    faint = read["prominence"] < t.urgent_high_min_sound_prominence
    breath = share is not None and span is not None
    breath = breath and share > t.urgent_high_max_high_band_share
    step = read.get("step")
    steps = step is not None and step > t.urgent_high_max_beat_step
    weak = repeat is not None and repeat < t.urgent_high_weak_envelope_repeat
    beats = read.get("beat_prominence")
    faint_beats = weak and beats is not None and beats < t.urgent_high_min_beat_prominence
    return quiet and faint, breath and span < t.urgent_high_min_beat_span, steps, faint_beats


def summarise(reads: list[dict[str, Any]], t: TriageThresholds) -> dict[str, Any]:
    """Per set: reads at or over 131/min on four intervals or more, by label and arm."""
    fast = [
        r | {"label": label(r)}
        for r in reads
        if r["rate"] is not None and round(r["rate"]) >= _URGENT_BPM
        and r["intervals"] >= _MIN_INTERVALS
    ]  # fmt: skip
    table: dict[str, Any] = {}
    for s in [*sorted({r["set"] for r in fast}), "all"]:
        rows = [r for r in fast if s in ("all", r["set"])]
        taken = [(r["label"], arms(r, t)) for r in rows]
        table[s] = {
            "reads": dict(Counter(r["label"] for r in rows)),
            "quiet_and_faint": dict(Counter(lab for lab, a in taken if a[0])),
            "breath_sounds": dict(Counter(lab for lab, a in taken if a[1])),
            "beat_step": dict(Counter(lab for lab, a in taken if a[2])),
            "beat_step_alone": dict(Counter(lab for lab, a in taken if a[2] and not any(a[:2]))),
            "faint_beats": dict(Counter(lab for lab, a in taken if a[3])),
            "faint_beats_alone": dict(Counter(lab for lab, a in taken if a[3] and not any(a[:3]))),
            "either": dict(Counter(lab for lab, a in taken if any(a))),
        }
    true = [r for r in fast if r["label"] == "true"]
    table["nearest_true"] = _nearest(true, t)
    return table


def _nearest(true: list[dict[str, Any]], t: TriageThresholds) -> dict[str, Any]:
    """The true reads nearest each bound, inside the other bound of their arm."""
    faint = [r for r in true if r["prominence"] < t.urgent_high_min_sound_prominence]
    quiet = [r for r in true if (r["repeat"] or 1.0) < t.urgent_high_min_envelope_repeat]
    breath = [r for r in true if (r["share"] or 0.0) > t.urgent_high_max_high_band_share]
    pick = ("set", "name", "version", "condition", "ratio", "ref", "rate")

    def brief(r: dict[str, Any], key: str) -> dict[str, Any]:
        return {key: r[key], **{k: r[k] for k in pick if k in r}}

    return {
        "repeat_with_faint_sounds": [
            brief(r, "repeat") for r in sorted(faint, key=lambda r: r["repeat"] or 1.0)[:3]
        ],
        "prominence_with_no_repeat": [
            brief(r, "prominence") for r in sorted(quiet, key=lambda r: r["prominence"])[:3]
        ],
        "span_with_breath_band_sounds": [
            brief(r, "span") for r in sorted(breath, key=lambda r: r["span"] or 1.0)[:3]
        ],
        "span_lowest": [brief(r, "span") for r in sorted(true, key=lambda r: r["span"] or 1.0)[:3]],
    }


def _jobs() -> list[tuple[str, Any]]:
    jobs: list[tuple[str, Any]] = []
    jobs += [("real", (kind, k)) for kind in ("breath", "faster", "rhythms", "breath_lowband")
             for k in range(len(_ITEMS)) if kind != "breath_lowband" or _LOWBAND]  # fmt: skip
    for name in ("irregular", "pcg", "af", "faint_s2"):
        grid = heart_sweeps.SWEEPS[name].grid
        for point in itertools.product(*grid.values()):
            params = dict(zip(grid, point, strict=True))
            if params["rate_bpm"] >= 110.0:
                jobs.append(("sweep", (name, params)))
    for point in itertools.product(*SIMULATED.values()):
        params = dict(zip(SIMULATED, point, strict=True))
        if params["heart_gain"] > 0 or params["heart_rate_bpm"] == 72.0:
            jobs.append(("simulated", params))
    for point in itertools.product(*SIMULATED_IRREGULAR.values()):
        jobs.append(("simulated_irregular", dict(zip(SIMULATED_IRREGULAR, point, strict=True))))
    jobs += [("lungs", k) for k in range(len(_LUNGS))]
    jobs += [("lungs_lowband", k) for k in _LOWBAND]
    return jobs


def _run_job(job: tuple[str, Any]) -> list[dict[str, Any]]:
    kind, arg = job
    if kind == "real":
        return [r | {"set": arg[0]} for r in _real(arg)]
    if kind == "sweep":
        return [r | {"set": "sweeps"} for r in _swept(arg)]
    if kind in ("simulated", "simulated_irregular"):
        return [r | {"set": kind} for r in _simulated(arg)]
    if kind == "lungs_lowband":
        return [r | {"set": kind} for r in _lung_lowband(arg)]
    return [r | {"set": "lungs"} for r in _lung(arg)]


def run(data_dir: Path | None = None, processes: int | None = 2) -> dict[str, Any]:
    where, skipped = located(data_dir, "fast_read_probe")
    if skipped is not None:
        return {"skipped": skipped}
    _start(where)
    # fork: the workers share the recordings read here (forkserver would read them again)
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        reads = [r for rs in pool.imap_unordered(_run_job, _jobs(), chunksize=2) for r in rs]
    t = TriageThresholds()
    return {
        "data": str(where),
        "lowband_lungs": _LOWBAND,
        "thresholds": {
            k: v for k, v in dataclasses.asdict(t).items() if k.startswith("urgent_high")
        },
        "fast_reads": summarise(reads, t),
        "reads": reads,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    results = run(args.data)
    print(json.dumps({k: v for k, v in results.items() if k != "reads"}, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
