"""Real lungs heard as a care home would hear them: ``python -m bench.lung_conditions``.

The lung counterpart of bench.heart_conditions. Issue 17 measures the analysis on recordings
we do not have; in a care home they also come from other rooms and devices. This check takes
every annotated ICBHI recording of the shared data, changes how it was heard, not the lungs,
and scores the shipped analysis (``stetho_signal.analyze``, as bench.evaluate) against the
same cycle annotations. Each condition is chosen, not measured; what it stands for:

- ``quiet_16bit``: the whole recording 30 dB quieter, then rounded to 16 bits (a stethoscope
  at low gain; breath sounds are quieter than heart sounds, so less of them stays over the
  rounding).
- ``room_noise_20db`` / ``_10db``: pink noise (power falling 3 dB an octave, as most room
  noise does) at 20 and 10 dB under the recording's power.
- ``mains_hum``: 50 Hz and its odd harmonics to 250 Hz at 10 dB under the recording's power
  (a USB sound card beside mains wiring; 150 and 250 Hz are tones in the wheeze band).
- ``heart_half`` / ``heart_equal``: a real CirCor heart recording band-passed to 20-150 Hz,
  at an RMS half of and equal to the lung recording's. Heart sounds are heard at the lung
  sites, through lung tissue that passes their low band (S1 and S2 carry most energy at
  20-150 Hz, little above 200 Hz, DOMAIN.md); the band-pass also leaves out the CirCor
  recording's own breath sounds and murmurs (100-600 Hz), so a second pair of lungs is not
  added. CirCor recordings are assigned in turn, the same every run, looped (joins
  crossfaded) when shorter than the lung recording.
- ``diaphragm`` / ``bell``: a causal second-order high-pass at 120 Hz and low-pass at 250 Hz,
  the same responses as bench.heart_conditions: a chest piece responds the same whatever it
  is put on. The diaphragm is the lung chest piece; it takes off what is under the lung band
  (150-1800 Hz) anyway. Lung sounds reach higher than heart sounds (breath sounds to 1 kHz,
  crackles to 2 kHz), so the bell-like response hides more of the lungs than of the heart:
  -12 dB at 500 Hz and -24 dB at 1 kHz, near a bell's or an electronic stethoscope's bell
  mode, which favours 20-200 Hz. It stands for the bell, or a tunable diaphragm held lightly,
  used on the chest by mistake: the analysis should then raise no false finding, even if it
  misses real ones. A file with flat tops is clipped again at their level afterwards: the
  converter comes after the chest piece, and the filter alone would round the clipping off.
- ``at_44k1``: resampled to 44.1 kHz (the USB path's rate; the analysis resamples to 4 kHz).
  Only the six Littmann 3200 recordings (4 kHz) change: the others are at 44.1 kHz already.

Reported per condition: crackle and wheeze flags per recording and per annotated cycle against
the annotation (sensitivity and specificity as bench.evaluate scores them: the crackle flag
is the triage's count rule, a cycle counts when a flagged recording's crackle time or wheeze
interval falls in it); the breathing rate (within 3/min of the annotation's, 60 over the
median cycle; and the recordings that lose, gain or move their rate by over 3/min from the
unchanged recording's); quality accepted; the triage with no age band (NEWS2, as
bench.heart_conditions) and with the patient's band (as bench.evaluate: unknown ages as
adults); ``urgent`` on recordings annotated with neither crackles nor wheezes; and each
recording whose triage turns ``urgent`` or stops being so, or whose crackle or wheeze flag
appears or disappears, against the unchanged recording: the alarms a room or a device would
add or hide. JSON to ``bench/results/lung_conditions.json``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from bench import heart_faster
from bench._data import located
from bench._eval_lung import (
    _KINDS,
    _cell,
    _confusion,
    _Tally,
    age_years,
    annotated_cycles,
    band_of,
    manifest,
    read_audio,
)
from bench._hearing import NOISE_DBS, SHARED, heard_through, looped, resampled, scaled
from bench._retime import CROSSFADE_S, Samples
from stetho_signal import AgeBand, Analysis, analyze

DEFAULT_JSON = Path("bench/results/lung_conditions.json")
HEART_RATIOS = {"heart_half": 0.5, "heart_equal": 1.0}
HEART_SOUND_BAND_HZ = (20.0, 150.0)
RATE_MOVED_BPM = 3.0  # as bench.evaluate's rate tolerance
CONDITIONS = (
    "original",
    "quiet_16bit",
    *NOISE_DBS,
    "mains_hum",
    *HEART_RATIOS,
    "diaphragm",
    "bell",
    "at_44k1",
)
Heart = tuple[Samples, float]

__all__ = ["CONDITIONS", "heard", "heartbeat", "run", "silenced", "summary_lines"]


def heartbeat(heart: Heart, n: int, fs: float) -> Samples:
    """``n`` samples at ``fs`` of a heart recording's 20-150 Hz band, looped when shorter."""
    y, rate = heart
    if rate != fs:
        y = resampled(y, rate, fs)
    sos = signal.butter(4, HEART_SOUND_BAND_HZ, "bandpass", fs=fs, output="sos")
    return looped(signal.sosfiltfilt(sos, y), n, round(CROSSFADE_S * fs))


def heard(
    condition: str, x: Samples, fs: float, name: str, heart: Samples, keep_silence: bool = True
) -> tuple[Samples, float]:
    """``x`` (at ``fs``) as heard under ``condition``: the samples and their rate.

    ``keep_silence`` leaves the recorder's leading and trailing digital zeros at zero under
    the conditions that add sound (:func:`silenced`); before the twentieth round the bench
    added its noise over them (``False`` replays that).

    ``heart`` is what :func:`heartbeat` made of a heart recording for ``x``: made once per
    lung recording, as the heart conditions differ only in its level. The other conditions
    are bench._hearing's, shared with bench.heart_conditions.
    """
    if condition == "original":
        return x, fs
    if condition in HEART_RATIOS:
        y = x + scaled(heart, x, HEART_RATIOS[condition])
    elif condition in SHARED:
        out = heard_through(condition, x, fs, name)
        assert out is not None
        y, rate = out
        if rate != fs or not keep_silence:
            return y, rate
    else:
        raise ValueError(f"unknown condition {condition!r}: expected one of {CONDITIONS}")
    return (silenced(y, x) if keep_silence else y), fs


def silenced(y: Samples, x: Samples) -> Samples:
    """``y`` with zeros where ``x`` has its leading and trailing digital silence.

    Some recorders write zeros before their converter runs (the AKG C417L files start with
    4,096): a room's noise, a sound card's hum or a heart reach the converter, so they cannot
    fill them. Added over them, they would hide the recorder's silence from the analysis
    (``PreparedAudio.signal_span_s``) and make the step into the signal a transient."""
    sounding = np.flatnonzero(x)
    if sounding.size == 0 or (sounding[0] == 0 and sounding[-1] == x.size - 1):
        return y
    out = np.zeros_like(y)
    out[sounding[0] : sounding[-1] + 1] = y[sounding[0] : sounding[-1] + 1]
    return out


def recordings(data_dir: Path) -> list[dict[str, Any]]:
    """Every ICBHI recording of the shared data, in manifest order: name, device, age band,
    samples, rate and annotated cycles (start s, end s, crackles 0/1, wheezes 0/1)."""
    out = []
    for row in manifest(data_dir):
        if row["dataset"] != "icbhi":
            continue
        wav = data_dir / row["relpath"]
        x, fs = read_audio(wav)
        band: AgeBand = band_of(age_years(row))
        device = wav.stem.split("_")[-1]
        cycles = annotated_cycles(wav)
        out.append({"name": wav.stem, "device": device, "age_band": band, "x": x, "fs": fs,
                    "cycles": cycles})  # fmt: skip
    return out


def hearts(data_dir: Path) -> list[tuple[str, Heart]]:
    """Every CirCor recording of the shared data, in manifest order: name, samples and rate."""
    rows = [r for r in manifest(data_dir) if r["dataset"] == "circor"]
    return [(Path(r["relpath"]).stem, read_audio(data_dir / r["relpath"])) for r in rows]


def score(y: Samples, fs: float, item: dict[str, Any]) -> dict[str, Any]:
    """The shipped analysis of one (heard) recording against its annotation."""
    result = analyze(y, fs, "lung")
    banded = result
    if item["age_band"] != "adult":  # the adult band is NEWS2's, the same triage
        banded = analyze(y, fs, "lung", age_band=item["age_band"])
    return graded(result, item, banded)


def graded(result: Analysis, item: dict[str, Any], banded: Analysis) -> dict[str, Any]:
    """One analysis against the cycle annotation: flags, per-cycle confusions, rate, quality
    and triage (``banded``: the analysis with the patient's age band, whose rate search
    reaches faster breathing under 5 years)."""
    lung, lung_banded = result.lung, banded.lung
    assert lung is not None and lung_banded is not None
    cycles = item["cycles"]
    crackles = bool(result.findings.crackles)
    per_cycle = _Tally().add(lung, crackles, cycles, item["device"])
    return {
        "crackle_annotated": bool(np.any(cycles[:, _KINDS["crackle"]] > 0)),
        "wheeze_annotated": bool(np.any(cycles[:, _KINDS["wheeze"]] > 0)),
        "crackles_found": len(lung.crackle_times_s),
        "crackle_flagged": crackles,
        "wheeze_flagged": bool(lung.wheeze),
        **per_cycle,
        "rr_reference_bpm": round(60.0 / float(np.median(cycles[:, 1] - cycles[:, 0])), 1),
        "rr_estimate_bpm": lung.respiratory_rate_bpm,
        "rr_estimate_banded_bpm": lung_banded.respiratory_rate_bpm,
        "quality": result.quality.score,
        "quality_acceptable": bool(result.quality.acceptable),
        "hum_found_hz": [round(float(hz), 2) for hz in result.quality.measures.mains_hum_hz],
        "triage": result.triage.level,
        "triage_banded": banded.triage.level,
        "flags": [f.code for f in result.triage.flags],
    }


def each_heard(data_dir: Path) -> Iterator[tuple[dict[str, Any], str, Samples, float]]:
    """Each lung recording under each condition, a CirCor heart under it paired as `run` pairs
    them: (the recording, the condition, what is heard, its sample rate). For the probes."""
    beats = hearts(data_dir)
    for k, item in enumerate(recordings(data_dir)):
        sounds = heartbeat(beats[k % len(beats)][1], item["x"].size, item["fs"])
        for condition in CONDITIONS:
            y, rate = heard(condition, item["x"], item["fs"], item["name"], sounds)
            yield item, condition, y, rate


def run_one(item: dict[str, Any], heart: Heart) -> list[dict[str, Any]]:
    """One recording under every condition, scored."""
    x, fs = item["x"], item["fs"]
    sounds = heartbeat(heart, x.size, fs)
    out = []
    for condition in CONDITIONS:
        y, rate = heard(condition, x, fs, item["name"], sounds)
        record = {"condition": condition, **score(y, rate, item)}
        record.update(name=item["name"], device=item["device"], age_band=item["age_band"])
        out.append(record)
    return out


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per condition: flags against the annotation, rates, quality, triage, and every change
    from the unchanged recording."""
    before = {r["name"]: r for r in records if r["condition"] == "original"}
    table: dict[str, Any] = {}
    for condition in CONDITIONS:
        rows = [r for r in records if r["condition"] == condition]
        table[condition] = {
            "recordings": len(rows),
            **{f"{kind}s": _flag_scores(rows, kind) for kind in _KINDS},
            "rate": _rates(rows, before),
            "quality_accepted": sum(r["quality_acceptable"] for r in rows),
            "hum_found": sum(bool(r["hum_found_hz"]) for r in rows),
            "triage": dict(Counter(r["triage"] for r in rows)),
            "triage_banded": dict(Counter(r["triage_banded"] for r in rows)),
            "urgent_on_clean": sum(
                r["triage"] == "urgent"
                for r in rows
                if not (r["crackle_annotated"] or r["wheeze_annotated"])
            ),
            **_changes(rows, before),
        }
    return table


def _flag_scores(rows: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Flags per recording and per cycle against the annotation, as bench.evaluate."""
    per_recording = [0, 0, 0, 0]
    for r in rows:
        per_recording[_cell(r[f"{kind}_flagged"], r[f"{kind}_annotated"])] += 1
    per_cycle = np.sum([r[f"{kind}_cycles_tp_fp_fn_tn"] for r in rows], axis=0)
    return {
        "flagged": sum(r[f"{kind}_flagged"] for r in rows),
        "per_recording": _confusion(per_recording),
        "per_cycle": _confusion([int(v) for v in per_cycle]),
    }


def _rates(rows: list[dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Rates read, within 3/min of the annotation's, and lost, gained or moved by over 3/min
    from the unchanged recording's (each such change listed)."""
    read = [r for r in rows if r["rr_estimate_bpm"] is not None]
    counts = Counter[str]()
    changes = []
    for r in rows:
        was, now = before[r["name"]]["rr_estimate_bpm"], r["rr_estimate_bpm"]
        how = _rate_change(was, now)
        if how is not None:
            counts[how] += 1
            changes.append(f"{r['name']} {was} -> {now} (annotated {r['rr_reference_bpm']})")
    return {
        "read": len(read),
        "within_3_bpm_of_annotation": sum(
            abs(r["rr_estimate_bpm"] - r["rr_reference_bpm"]) <= RATE_MOVED_BPM for r in read
        ),
        **{how: counts[how] for how in ("lost", "gained", "moved")},
        "changes": changes,
    }


def _rate_change(was: float | None, now: float | None) -> str | None:
    """``lost``, ``gained``, ``moved`` (by over 3/min) or None (the same within 3/min)."""
    if was is None or now is None:
        return None if was is now else ("lost" if now is None else "gained")
    return "moved" if abs(now - was) > RATE_MOVED_BPM else None


def _changes(rows: list[dict[str, Any]], before: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Triages that turn urgent or stop being so, and flags that appear or disappear."""
    turned: list[str] = []
    cleared: list[str] = []
    flags: list[str] = []
    for r in rows:
        was = before[r["name"]]
        if (r["triage"] == "urgent") != (was["triage"] == "urgent"):
            urgent = (r if r["triage"] == "urgent" else was)["flags"]
            line = f"{r['name']} {was['triage']} -> {r['triage']} ({', '.join(urgent)})"
            (turned if r["triage"] == "urgent" else cleared).append(line)
        for kind in _KINDS:
            if r[f"{kind}_flagged"] != was[f"{kind}_flagged"]:
                how = "appeared" if r[f"{kind}_flagged"] else "disappeared"
                truth = "annotated" if r[f"{kind}_annotated"] else "not annotated"
                flags.append(f"{r['name']} {kind} {how} ({truth})")
    return {"turned_urgent": turned, "no_longer_urgent": cleared, "flags_changed": flags}


def run(data_dir: Path | None = None) -> dict[str, Any]:
    where, skipped = located(data_dir, "lung_conditions")
    if skipped is not None:
        return {"skipped": skipped}
    beats = hearts(where)
    if not beats:
        return {"skipped": f"no CirCor recording under {where} to beat under the lungs"}
    items = recordings(where)
    records = []
    for k, item in enumerate(items):
        name, heart = beats[k % len(beats)]
        for record in run_one(item, heart):
            records.append(record | {"heart": name})
    return {
        "data": str(where),
        "conditions": list(CONDITIONS),
        "by_condition": summarise(records),
        "per_recording": records,
    }


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per condition (``make eval``, this module)."""
    lines = []
    for condition, m in results.get("by_condition", {}).items():
        c, w, rate = m["crackles"]["per_recording"], m["wheezes"]["per_recording"], m["rate"]
        lines.append(
            f"lungs heard {condition}: crackles Se/Sp {c['sensitivity']}/{c['specificity']}, "
            f"wheezes {w['sensitivity']}/{w['specificity']}, rate read {rate['read']} of "
            f"{m['recordings']} ({rate['within_3_bpm_of_annotation']} within 3/min; lost "
            f"{rate['lost']}, gained {rate['gained']}, moved {rate['moved']}), quality accepted "
            f"{m['quality_accepted']}, triage {m['triage']}, urgent on clean "
            f"{m['urgent_on_clean']}, turned urgent {len(m['turned_urgent'])}, flags changed "
            f"{len(m['flags_changed'])}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    return heart_faster.cli(
        argv, __doc__, run, summary_lines, DEFAULT_JSON, "by_condition", ("changed", _all_changes)
    )


def _all_changes(row: dict[str, Any]) -> list[str]:
    return [*row["turned_urgent"], *row["no_longer_urgent"], *row["flags_changed"]]


if __name__ == "__main__":
    raise SystemExit(main())
