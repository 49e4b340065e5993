"""Fifth round's lung probe: breath timing, device clicks and tone recurrence (``make eval``).

Everything is measured from the recording alone; the annotated cycles give only the truth
(and one diagnostic). Each candidate is a family of rules that all flag a recording; the
shipped rule is always a member. A family is scored with its best member on all recordings
(fitted) and leave-one-patient-out: each patient gets the member with the best Se + Sp on the
other patients (ties go to the shipped rule, then to the earlier member).

Crackles (the shipped flag: at least 3 detections):

- ``in_flow``: detections where the breath envelope (the octaves pooled as the respiratory
  rate weighs them) is at or over its r-quantile. Crackles come with airflow; a click in a
  breath pause would not.
- ``same_phase``: breaths, at the measured rate, holding a detection within +-tol of a
  breath period of one phase (CORSA: crackles recur at a similar moment breath after breath).
- ``quiet_above_1800``: detections whose 1.8-3 kHz band, at the file's own rate, stays under
  c times its local RMS within 5 ms. Crackle energy reaches about 2 kHz (DOMAIN.md); a
  mechanical click on the chest piece or the tube is broadband. Files at 4 kHz keep all.
- ``in_annotated_cycles`` (diagnostic, not a rule): for recordings with crackles, the share
  of detections inside annotated crackle cycles against the share of time those cycles
  cover.

Wheezes (the shipped flag: one tone 9 dB over its neighbours held 100 ms):

- ``recurrent``: tones found at a prominence p (5-9 dB, every other test as shipped), of
  one pitch group (within a quarter octave), in at least k breaths (half a breath apart),
  optionally at one phase (+-0.25 breath). A wheeze recurs breath after breath at a similar
  pitch; a transient tone does not.
- ``shipped_or_recurrent``: the shipped flag, or a recurrent tone at p dB.
- ``in_flow_<p> dB``: a tone at p dB whose middle is where the breath envelope is at or
  over its q-quantile (as ``in_flow`` for crackles): wheezes come with airflow, a tone in a
  breath pause is the room's or the device's. One family per prominence (9 and 6 dB) and
  one over all prominences.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from bench._eval_intervals import held_out_folds
from bench._eval_lung import annotated_cycles, read_audio
from stetho_signal import wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._spectra import frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import autocorrelation
from stetho_signal.lung import _frame_rate, _highest_peak, breath_envelopes, heart_sound_times
from stetho_signal.triage import TriageThresholds

FLAG_COUNT = 3  # TriageThresholds.crackles_min_count
FLOW_QUANTILES = (0.2, 0.3, 0.4, 0.5)
PHASE_RULES = tuple(itertools.product((0.1, 0.15, 0.25), (2, 3, 4)))  # (tolerance, breaths)
BROADBAND_RATIOS = (4.0, 6.0, 8.0, 10.0, 15.0)
TONE_PROMINENCE_DB = (9.0, 8.0, 7.0, 6.0, 5.0)  # the first is the shipped value
TONE_RULES = tuple(itertools.product(TONE_PROMINENCE_DB, (2, 3), (0.5, 0.25)))  # p, k, phase
TONE_FLOW_QUANTILES = (0.3, 0.4, 0.5, 0.6, 0.7)
_QUARTER_OCTAVE = 2.0**0.25
_DEFAULT_BREATH_S = 4.0  # 15/min when no rate was measured
_CLICK_BAND_HZ = (1800.0, 3000.0)
_CLICK_PEAK_S, _CLICK_LEVEL_S = 0.005, 0.1

Rules = dict[str, list[bool]]


def fifth_round_probe(data_dir: Path, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-recording measures and each rule family's fitted and held-out Se / Sp."""
    rows = [_row(data_dir, record) for record in records]
    patients = [r["patient"] for r in rows]
    crackles = [r["crackles"] for r in rows]
    wheezy = [r["wheezes"] for r in rows]
    families = {
        "crackles": {
            name: family_scores(crackles, patients, rules)
            for name, rules in crackle_families(rows).items()
        },
        "wheezes": {
            name: family_scores(wheezy, patients, rules)
            for name, rules in wheeze_families(rows).items()
        },
    }
    return {"per_recording": [_public(r) for r in rows], **families}


def _row(data_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    path = data_dir / record["file"]
    raw, fs = read_audio(path)
    x = prepare(raw, fs).samples
    spectrogram = frame_power(
        x, ANALYSIS_RATE_HZ, wheezes.WHEEZE_NPERSEG, wheezes.WHEEZE_NPERSEG // 2
    )
    times = np.asarray(record["crackle_times_s"], dtype=float)
    rate = record["rr_estimate_bpm"]
    cycles = annotated_cycles(path)
    return {
        "file": record["file"],
        "patient": record["patient"],
        "crackles": bool((cycles[:, 2] > 0).any()),
        "wheezes": bool((cycles[:, 3] > 0).any()),
        "breath_s": 60.0 / rate if rate else None,
        "detections": times,
        "flow_rank": flow_ranks(spectrogram, times),
        "click_ratio": click_ratios(raw, fs, times) if fs > ANALYSIS_RATE_HZ else None,
        "in_annotated_cycles": cycle_share(times, cycles),
        "wheeze_flagged": bool(record["wheeze_flagged"]),
        "tones": (tones := tones_by_prominence(x, spectrogram)),
        "tone_flow_rank": {
            p: flow_ranks(spectrogram, np.array([0.5 * (t.start_s + t.end_s) for t in found]))
            for p, found in tones.items()
        },
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps of a row (no arrays of tones)."""
    clicks = row["click_ratio"]
    return {
        "file": row["file"],
        "patient": row["patient"],
        "crackles": row["crackles"],
        "wheezes": row["wheezes"],
        "detections": int(row["detections"].size),
        "flow_rank": [round(float(v), 2) for v in row["flow_rank"]],
        "click_ratio": None if clicks is None else [round(float(v), 1) for v in clicks],
        "in_annotated_cycles": row["in_annotated_cycles"],
        "tones_at_6_db": len(row["tones"][6.0]),
    }


def flow_ranks(spectrogram: Any, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Quantile (0-1) of the pooled breath envelope at each time, within the recording."""
    envelopes = breath_envelopes(spectrogram)
    rate = _frame_rate(spectrogram[1])
    last = max(min(int(15.0 * rate), int(envelopes.shape[1] * 0.6)), 2)
    acs = autocorrelation(envelopes)[:, : last + 1]
    weights = np.array([_highest_peak(ac, int(rate)) for ac in acs]) ** 2
    pooled = weights @ envelopes / weights.sum() if weights.sum() > 0 else envelopes.mean(axis=0)
    ranks = np.argsort(np.argsort(pooled)) / max(pooled.size - 1, 1)
    at = np.clip(np.searchsorted(spectrogram[1], times_s), 0, pooled.size - 1)
    return np.asarray(ranks[at], dtype=np.float64)


def click_ratios(raw: NDArray[Any], fs_hz: float, times_s: NDArray[np.float64]) -> NDArray[Any]:
    """Peak of the 1.8-3 kHz band within 5 ms of each time over its RMS within 0.1 s."""
    x = raw if raw.ndim == 1 else raw[:, 0]
    sos = signal.butter(4, _CLICK_BAND_HZ, btype="band", fs=fs_hz, output="sos")
    band = np.abs(signal.sosfiltfilt(sos, x))
    peak, level = round(_CLICK_PEAK_S * fs_hz), round(_CLICK_LEVEL_S * fs_hz)
    out = []
    for t in times_s:
        i = round(float(t) * fs_hz)
        near = band[max(i - peak, 0) : i + peak]
        around = band[max(i - level, 0) : i + level]
        out.append(float(near.max()) / max(float(np.sqrt(np.mean(around**2))), 1e-12))
    return np.asarray(out)


def cycle_share(times_s: NDArray[np.float64], cycles: NDArray[np.float64]) -> dict[str, Any]:
    """Detections inside annotated crackle cycles, and the share of time those cycles cover."""
    crackly = cycles[cycles[:, 2] > 0]
    inside = sum(bool(((crackly[:, 0] <= t) & (t <= crackly[:, 1])).any()) for t in times_s)
    covered = float((crackly[:, 1] - crackly[:, 0]).sum() / (cycles[:, 1] - cycles[:, 0]).sum())
    return {"detections_inside": inside, "of": int(times_s.size), "time_share": round(covered, 2)}


def tones_by_prominence(
    x: NDArray[np.float64], spectrogram: Any
) -> dict[float, tuple[wheezes.Tone, ...]]:
    """The wheeze search's tones at each probed prominence, heart sounds left out as shipped."""
    heart = heart_sound_times(Spectrum(x, ANALYSIS_RATE_HZ))
    duration = TriageThresholds().wheeze_min_duration_s
    kept = wheezes._WHEEZE_PROMINENCE_DB
    found = {}
    try:
        for prominence in TONE_PROMINENCE_DB:
            wheezes._WHEEZE_PROMINENCE_DB = prominence
            found[prominence] = wheezes.WheezeSearch(x, spectrogram).tones(duration, heart)
    finally:
        wheezes._WHEEZE_PROMINENCE_DB = kept
    return found


def same_phase_breaths(times_s: Sequence[float], breath_s: float, tolerance: float) -> int:
    """Most breaths holding an event within ``tolerance`` (of a breath) of one phase.

    Events of one breath count once: they must be at least half a breath apart."""
    best = 0
    for origin in times_s:
        offsets = [((t - origin) / breath_s + 0.5) % 1.0 - 0.5 for t in times_s]
        group = sorted(t for t, d in zip(times_s, offsets, strict=True) if abs(d) <= tolerance)
        best = max(best, _separate(group, 0.5 * breath_s))
    return best


def recurring_tone_breaths(tones: Sequence[wheezes.Tone], breath_s: float, phase: float) -> int:
    """Most breaths holding a tone of one pitch group (a quarter octave), at one phase unless
    ``phase`` is 0.5 (any)."""
    best = 0
    for first in tones:
        centre = 0.5 * (first.start_s + first.end_s)
        group = []
        for tone in tones:
            if max(tone.pitch_hz, first.pitch_hz) > _QUARTER_OCTAVE * min(
                tone.pitch_hz, first.pitch_hz
            ):
                continue
            middle = 0.5 * (tone.start_s + tone.end_s)
            if abs(((middle - centre) / breath_s + 0.5) % 1.0 - 0.5) <= phase:
                group.append(middle)
        best = max(best, _separate(sorted(group), 0.5 * breath_s))
    return best


def _separate(sorted_times: list[float], gap: float) -> int:
    """Events kept greedily at least ``gap`` apart."""
    count, last = 0, -np.inf
    for t in sorted_times:
        if t - last >= gap:
            count, last = count + 1, t
    return count


def crackle_families(rows: list[dict[str, Any]]) -> dict[str, Rules]:
    """Each crackle rule family, its members flagging (or not) each recording."""
    shipped = [r["detections"].size >= FLAG_COUNT for r in rows]
    base = {"shipped": shipped}
    flow = {
        f"rank >= {q:g}": [int((r["flow_rank"] >= q).sum()) >= FLAG_COUNT for r in rows]
        for q in FLOW_QUANTILES
    }
    phase = {
        f"tol {tol:g}, {k} breaths": [
            s and same_phase_breaths(r["detections"].tolist(), _breath(r), tol) >= k
            for s, r in zip(shipped, rows, strict=True)
        ]
        for tol, k in PHASE_RULES
    }
    clicks = {
        f"ratio < {c:g}": [
            (
                r["detections"].size
                if r["click_ratio"] is None
                else int((r["click_ratio"] < c).sum())
            )
            >= FLAG_COUNT
            for r in rows
        ]
        for c in BROADBAND_RATIOS
    }
    return {
        "in_flow": base | flow,
        "same_phase": base | phase,
        "quiet_above_1800": base | clicks,
    }


def wheeze_families(rows: list[dict[str, Any]]) -> dict[str, Rules]:
    """Each wheeze rule family, its members flagging (or not) each recording."""
    shipped = [r["wheeze_flagged"] for r in rows]
    recurrent = {
        (p, k, ph): [recurring_tone_breaths(r["tones"][p], _breath(r), ph) >= k for r in rows]
        for p, k, ph in TONE_RULES
    }

    def name(p: float, k: int, ph: float) -> str:
        return f"{p:g} dB, {k} breaths" + ("" if ph >= 0.5 else f", phase +-{ph:g}")

    flow = {
        (p, q): [bool((r["tone_flow_rank"][p] >= q).any()) for r in rows]
        for p, q in itertools.product(TONE_PROMINENCE_DB, TONE_FLOW_QUANTILES)
    }
    in_flow = {f"{p:g} dB, rank >= {q:g}": v for (p, q), v in flow.items()}
    return {
        "in_flow_9_db": {"shipped": shipped} | {k: v for k, v in in_flow.items() if k[0] == "9"},
        "in_flow_6_db": {"shipped": shipped} | {k: v for k, v in in_flow.items() if k[0] == "6"},
        "in_flow_any_db": {"shipped": shipped} | in_flow,
        "recurrent": {"shipped": shipped} | {name(*key): v for key, v in recurrent.items()},
        "shipped_or_recurrent": {"shipped": shipped}
        | {
            "shipped or " + name(*key): [a or b for a, b in zip(shipped, v, strict=True)]
            for key, v in recurrent.items()
        },
    }


def _breath(row: dict[str, Any]) -> float:
    return float(row["breath_s"] or _DEFAULT_BREATH_S)


def family_scores(truth: list[bool], patients: list[str], rules: Rules) -> dict[str, Any]:
    """Se / Sp of each member, the best member on all, and leave-one-patient-out."""
    names = list(rules)
    every = {name: _scores(truth, flags) for name, flags in rules.items()}
    fitted = max(names, key=lambda n: (_balanced(every[n]), n == "shipped", -names.index(n)))
    held: list[bool] = [False] * len(truth)
    chosen: dict[str, str] = {}
    for patient in sorted(set(patients)):
        inner = [i for i, p in enumerate(patients) if p != patient]

        def inner_score(n: str, inner: list[int] = inner) -> tuple[float, bool, int]:
            s = _scores([truth[i] for i in inner], [rules[n][i] for i in inner])
            return _balanced(s), n == "shipped", -names.index(n)

        chosen[patient] = max(names, key=inner_score)
        for i, p in enumerate(patients):
            if p == patient:
                held[i] = rules[chosen[patient]][i]
    return {
        "members": every,
        "fitted": {"rule": fitted, **every[fitted]},
        "leave_one_patient_out": _scores(truth, held),
        "chosen_per_patient": chosen,
        "held_out_by_patient": held_out_folds(patients, truth, held),
    }


def _scores(truth: Sequence[bool], flags: Sequence[bool]) -> dict[str, float]:
    tp = sum(f and t for f, t in zip(flags, truth, strict=True))
    tn = sum(not f and not t for f, t in zip(flags, truth, strict=True))
    positives = sum(truth)
    return {
        "sensitivity": round(tp / max(positives, 1), 3),
        "specificity": round(tn / max(len(truth) - positives, 1), 3),
    }


def _balanced(score: dict[str, float]) -> float:
    return score["sensitivity"] + score["specificity"]


def summary_lines(probe: dict[str, Any]) -> list[str]:
    """One line per family, as ``make eval`` prints them."""
    return family_lines(probe, "fifth round", 20)


def family_lines(probe: dict[str, Any], round_name: str, width: int) -> list[str]:
    """One line per family of a round's probe: shipped, best fitted and held-out figures."""
    lines = []
    for kind in ("crackles", "wheezes"):
        for name, family in probe[kind].items():
            shipped, fit = family["members"]["shipped"], family["fitted"]
            held = family["leave_one_patient_out"]
            lines.append(
                f"{kind}, {round_name}, {name:<{width}} shipped {shipped['sensitivity']} / "
                f"{shipped['specificity']}; best {fit['sensitivity']} / {fit['specificity']} "
                f"({fit['rule']}); leave-one-patient-out {held['sensitivity']} / "
                f"{held['specificity']}"
            )
    return lines
