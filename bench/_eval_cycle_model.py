"""A decision learned per breath cycle, scored per recording with patients held out.

Pure NumPy over tables the seventh round's probe (:mod:`bench._eval_lung_round7`) builds:
each recording has a patient, a truth, its annotated cycles (features and 0/1 labels) and
the units the decision is applied to (the annotated cycles again, or breath-long windows
at the measured rate, which a device can find without an annotation). A logistic model
(:func:`bench._eval_crackle_features.fit`: standardised with the training rows' own mean
and spread, classes weighted to balance, L2 on the weights) is fitted on the training
patients' cycles; a recording is flagged when at least k of its units reach probability t.
A gate may shut units (and cycles) out: they are neither trained on nor counted, so that a
flag rests on units where the analysis heard something.

Nested leave-one-patient-out: for each patient, lambda, t and k are chosen by
leave-one-patient-out on the other patients only (Se + Sp of their recordings; ties go to
the larger lambda, the higher t, the larger k: the more cautious model), then the model is
fitted on all the other patients and applied to the held-out one. The plain fit chooses the
same on all recordings with the model fitted on all of them (in-sample: an upper bound).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_crackle_features import Model, fit, predict
from bench._eval_intervals import held_out_folds

LAMBDAS = (3.0, 10.0, 30.0, 100.0)  # against the summed class-balanced loss of ~300 cycles
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MIN_UNITS = (1, 2, 3)
Rule = tuple[float, float, int]  # lambda, t, k


@dataclass(frozen=True)
class Recording:
    """One recording's rows for the cycle model."""

    patient: str
    truth: bool
    cycles: NDArray[np.float64]  # (annotated cycles, features)
    labels: NDArray[np.bool_]  # per annotated cycle
    units: dict[str, NDArray[np.float64]]  # segmentation name -> (units, features)
    cycle_gate: NDArray[np.bool_]  # cycles the model is trained on and may flag
    unit_gates: dict[str, NDArray[np.bool_]]  # units that may count towards a flag


def rules() -> list[Rule]:
    """Every (lambda, t, k) tried; the most cautious last, so ``max`` prefers it on ties."""
    return sorted(itertools.product(LAMBDAS, THRESHOLDS, MIN_UNITS))


def flags(probabilities: Sequence[NDArray[np.float64]], t: float, k: int) -> list[bool]:
    """Recordings with at least ``k`` units at probability ``t`` or more."""
    return [int(np.count_nonzero(p >= t)) >= k for p in probabilities]


def scores(truth: Sequence[bool], flagged: Sequence[bool]) -> dict[str, Any]:
    """Se / Sp (None without positives or negatives) and the counts."""
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    fp = sum(f and not t for f, t in zip(flagged, truth, strict=True))
    positives = sum(bool(t) for t in truth)
    negatives = len(truth) - positives
    return {
        "sensitivity": round(tp / positives, 3) if positives else None,
        "specificity": round((negatives - fp) / negatives, 3) if negatives else None,
        "tp": tp,
        "fp": fp,
        "positives": positives,
        "negatives": negatives,
    }


def _balanced(truth: Sequence[bool], flagged: Sequence[bool]) -> float:
    s = scores(truth, flagged)
    return float(s["sensitivity"] or 0.0) + float(s["specificity"] or 0.0)


def _train(recordings: Sequence[Recording], idx: Sequence[int], lam: float) -> Model:
    x = np.concatenate([recordings[i].cycles[recordings[i].cycle_gate] for i in idx])
    y = np.concatenate([recordings[i].labels[recordings[i].cycle_gate] for i in idx])
    return fit(x, y.astype(np.float64), lam)


def _probabilities(
    model: Model, rows: NDArray[np.float64], gate: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Each row's probability; 0 where the gate is shut."""
    if not rows.shape[0]:
        return np.zeros(0)
    return np.where(gate, predict(model, rows), 0.0)


def _unit_probabilities(model: Model, recording: Recording, unit: str) -> NDArray[np.float64]:
    return _probabilities(model, recording.units[unit], recording.unit_gates[unit])


def _cycle_probabilities(model: Model, recording: Recording) -> NDArray[np.float64]:
    return _probabilities(model, recording.cycles, recording.cycle_gate)


def _inner_probabilities(
    recordings: Sequence[Recording], idx: Sequence[int], lam: float, unit: str
) -> dict[int, NDArray[np.float64]]:
    """Each recording's unit probabilities from a fit on the other patients among ``idx``."""
    out: dict[int, NDArray[np.float64]] = {}
    patients = sorted({recordings[i].patient for i in idx})
    for patient in patients:
        train = [i for i in idx if recordings[i].patient != patient]
        model = _train(recordings, train, lam)
        for i in idx:
            if recordings[i].patient == patient:
                out[i] = _unit_probabilities(model, recordings[i], unit)
    return out


def choose_rule(recordings: Sequence[Recording], idx: Sequence[int], unit: str) -> Rule:
    """(lambda, t, k) with the best Se + Sp of the recordings ``idx``, each scored by a model
    fitted without its patient."""
    truth = [recordings[i].truth for i in idx]
    best: tuple[float, Rule] | None = None
    for lam in LAMBDAS:
        held = _inner_probabilities(recordings, idx, lam, unit)
        probabilities = [held[i] for i in idx]
        for t, k in itertools.product(THRESHOLDS, MIN_UNITS):
            candidate = (_balanced(truth, flags(probabilities, t, k)), (lam, t, k))
            if best is None or candidate >= best:
                best = candidate
    assert best is not None
    return best[1]


def nested_lopo(recordings: Sequence[Recording], unit: str) -> dict[str, Any]:
    """Held-out flags per recording, with the rule chosen per fold, and per-cycle figures."""
    everyone = list(range(len(recordings)))
    flagged = [False] * len(recordings)
    cycle_truth: list[bool] = []
    cycle_flags: list[bool] = []
    cycle_patients: list[str] = []
    chosen: dict[str, str] = {}
    for patient in sorted({r.patient for r in recordings}):
        train = [i for i in everyone if recordings[i].patient != patient]
        lam, t, k = choose_rule(recordings, train, unit)
        chosen[patient] = f"lambda {lam:g}, p >= {t:g}, {k} unit(s)"
        model = _train(recordings, train, lam)
        for i in everyone:
            if recordings[i].patient != patient:
                continue
            flagged[i] = flags([_unit_probabilities(model, recordings[i], unit)], t, k)[0]
            cycle_p = _cycle_probabilities(model, recordings[i])
            cycle_truth += recordings[i].labels.tolist()
            cycle_flags += (cycle_p >= t).tolist()
            cycle_patients += [patient] * cycle_p.size
    return {
        "flags": flagged,
        "per_cycle": scores(cycle_truth, cycle_flags),
        "chosen_per_patient": chosen,
        "per_cycle_by_patient": held_out_folds(cycle_patients, cycle_truth, cycle_flags),
    }


def plain_fit(recordings: Sequence[Recording], unit: str) -> dict[str, Any]:
    """The rule chosen and the model fitted on all recordings, scored on them (in-sample)."""
    truth = [r.truth for r in recordings]
    everyone = list(range(len(recordings)))
    best: tuple[float, Rule, list[bool]] | None = None
    for lam in LAMBDAS:
        model = _train(recordings, everyone, lam)
        probabilities = [_unit_probabilities(model, r, unit) for r in recordings]
        for t, k in itertools.product(THRESHOLDS, MIN_UNITS):
            flagged = flags(probabilities, t, k)
            candidate = (_balanced(truth, flagged), (lam, t, k), flagged)
            if best is None or candidate[:2] >= best[:2]:
                best = candidate
    assert best is not None
    lam, t, k = best[1]
    model = _train(recordings, everyone, lam)
    cycle_p = np.concatenate([_cycle_probabilities(model, r) for r in recordings])
    labels = np.concatenate([r.labels for r in recordings])
    mean, scale, w = model
    return {
        "rule": f"lambda {lam:g}, p >= {t:g}, {k} unit(s)",
        "flags": best[2],
        "per_cycle": scores(labels.tolist(), (cycle_p >= t).tolist()),
        "model": {
            "mean": [round(float(v), 4) for v in mean],
            "scale": [round(float(v), 4) for v in scale],
            "weights": [round(float(v), 4) for v in w],
        },
    }


def per_patient(
    patients: Sequence[str], truth: Sequence[bool], flagged: Sequence[bool]
) -> dict[str, Any]:
    """A patient is positive (flagged) when any of their recordings is."""
    return scores(*patient_level(patients, truth, flagged)[1:])


def patient_level(
    patients: Sequence[str], truth: Sequence[bool], flagged: Sequence[bool]
) -> tuple[list[str], list[bool], list[bool]]:
    """Patients, and whether any of each one's recordings has the sound and is flagged."""
    names = sorted(set(patients))
    t = [any(tr for p, tr in zip(patients, truth, strict=True) if p == n) for n in names]
    f = [any(fl for p, fl in zip(patients, flagged, strict=True) if p == n) for n in names]
    return names, t, f
