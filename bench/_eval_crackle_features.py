"""Fourth round's crackle probe: per-recording features, cuts and a small logistic decision.

The false crackle flags were found to sit near heart sounds and at one moment of the breath
(third round). This probe measures, per ICBHI recording, what issue 17 proposed to tell them
apart, from the recording alone (no annotated cycle is used):

- ``detections``: the shipped crackle times (the flag asks for 3);
- ``per_breath``: detections per breath at the measured respiratory rate (15/min if none);
- ``breath_window_share``: share of whole breath-long windows, from the start, that hold a
  detection (recurrence over cycles; "more than one cycle" is a share over 1 / windows);
- ``fine_detections``: detections whose two-cycle duration is under 10 ms (CORSA fine
  crackles, DOMAIN.md), measured on the 4 kHz lung band;
- ``low_band_periodicity``: the highest autocorrelation of the 25-150 Hz envelope at a
  heart period (0.33-1.5 s): how clearly a heartbeat repeats in the recording. Only
  counted where the shipped rule flags (3 detections or more), else 1.0, so that its cut
  reads "flag unless the heartbeat is clear".

Each statistic gets its best cut on all recordings (an oracle, fitted) and the cut chosen on
the other patients (leave one patient out). A logistic regression over ``log1p(detections)``,
``low_band_periodicity`` and ``breath_window_share`` (classes weighted to balance, L2 penalty
lambda) is scored fitted, leave-one-patient-out at each lambda, and nested (lambda chosen by
leave-one-patient-out on the other patients). Nothing from here is shipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_intervals import held_out_folds
from bench._eval_lung import read_audio
from bench._eval_lung_probe import _held_out, _oracle, held_out_flags
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._too_fine import two_cycle_s
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import ENVELOPE_RATE_HZ, autocorrelation, heart_envelope
from stetho_signal.lung import lung_band

STATISTICS = (
    "detections",
    "per_breath",
    "breath_window_share",
    "fine_detections",
    "low_band_periodicity",
)
LOGISTIC_FEATURES = ("log_detections", "low_band_periodicity", "breath_window_share")
LAMBDAS = (0.1, 1.0, 3.0)
_FLAG_COUNT = 3  # the shipped rule (TriageThresholds.crackles_min_count)
_DEFAULT_RATE_BPM = 15.0
_HEART_LAGS_S = (0.33, 1.5)  # 180 down to 40 beats/min
_LOW_BAND_HZ = (25.0, 150.0)
_FINE_2CD_MS = 10.0


def crackle_feature_probe(data_dir: Path, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Features of each recording's crackle detections, their cuts and the logistic decision.

    ``records`` are ``evaluate_icbhi``'s ``recordings_detail`` for recordings under ``data_dir``.
    """
    rows = [_row(data_dir, record) for record in records]
    return {
        "per_recording": rows,
        "oracle_cut": {name: _oracle(rows, name) for name in STATISTICS},
        "leave_one_patient_out": {name: _held_out(rows, name) for name in STATISTICS},
        "held_out_by_patient": {name: held_out_flags(rows, name) for name in STATISTICS},
        "logistic": logistic_scores(rows),
    }


def _row(data_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    raw, fs = read_audio(data_dir / record["file"])
    x = prepare(raw, fs).samples
    spectrum = Spectrum(x, ANALYSIS_RATE_HZ)
    times = np.asarray(record["crackle_times_s"], dtype=float)
    duration = x.size / ANALYSIS_RATE_HZ
    breath = 60.0 / (record["rr_estimate_bpm"] or _DEFAULT_RATE_BPM)
    band = lung_band(spectrum)
    two_cycle = [two_cycle_ms(band, round(t * ANALYSIS_RATE_HZ)) for t in times]
    periodicity = low_band_periodicity(spectrum)
    return {
        "file": record["file"],
        "patient": record["patient"],
        "crackles": record["crackle_cycles"] > 0,
        "detections": float(times.size),
        "log_detections": round(float(np.log1p(times.size)), 3),
        "per_breath": round(times.size * breath / duration, 3),
        "breath_window_share": round(window_share(times, breath, duration), 3),
        "fine_detections": float(sum(d < _FINE_2CD_MS for d in two_cycle)),
        "low_band_periodicity": round(periodicity if times.size >= _FLAG_COUNT else 1.0, 3),
    }


def window_share(times_s: NDArray[np.float64], breath_s: float, duration_s: float) -> float:
    """Share of the whole breath-long windows from the start that hold a detection."""
    windows = int(duration_s // breath_s)
    if windows == 0:
        return 0.0
    held = np.unique(np.floor(times_s / breath_s).astype(int))
    return float(np.count_nonzero(held < windows)) / windows


def low_band_periodicity(spectrum: Spectrum) -> float:
    """Highest autocorrelation of the 25-150 Hz envelope at a lag of 0.33-1.5 s."""
    env = heart_envelope(spectrum, _LOW_BAND_HZ).astype(np.float64)
    ac = autocorrelation(env)
    first = round(_HEART_LAGS_S[0] * ENVELOPE_RATE_HZ)
    last = min(round(_HEART_LAGS_S[1] * ENVELOPE_RATE_HZ), ac.size - 1)
    return float(ac[first : last + 1].max()) if last >= first else 0.0


def two_cycle_ms(band: NDArray[np.floating], peak: int, fs_hz: float = ANALYSIS_RATE_HZ) -> float:
    """Two-cycle duration (ms) of the transient whose largest deflection is at ``peak``.

    The crackle starts with the first whole half-cycle, within 5 ms before the peak, that
    reaches a quarter of its height (the initial deflection); two cycles are the four
    half-cycles from there (zero crossing to zero crossing). NaN when the waveform is cut by
    the recording's end. The shipped rule's measure (:func:`stetho_signal._too_fine.two_cycle_s`),
    so the probes read what the analysis reads.
    """
    return two_cycle_s(np.asarray(band, dtype=np.float64), peak, fs_hz) * 1e3


def logistic_scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Se / Sp of the logistic decision: fitted, per lambda held out, and nested."""
    x = np.array([[r[f] for f in LOGISTIC_FEATURES] for r in rows], dtype=float)
    y = np.array([r["crackles"] for r in rows], dtype=float)
    patients = np.array([r["patient"] for r in rows])
    everyone = np.arange(len(rows))
    fitted = {f"{lam:g}": _scores(y, predict(fit(x, y, lam), x) >= 0.5) for lam in LAMBDAS}
    held_p = {f"{lam:g}": _held_out_p(x, y, patients, everyone, lam) >= 0.5 for lam in LAMBDAS}
    held = {lam: _scores(y, flagged) for lam, flagged in held_p.items()}
    nested = np.zeros(len(rows))
    for patient in np.unique(patients):
        inner = np.flatnonzero(patients != patient)
        lam = max(LAMBDAS, key=lambda v: _balanced(y[inner], _held_out_p(x, y, patients, inner, v)))
        mine = patients == patient
        nested[mine] = predict(fit(x[inner], y[inner], lam), x[mine])
    return {
        "features": list(LOGISTIC_FEATURES),
        "fitted": fitted,
        "leave_one_patient_out": held,
        "nested_leave_one_patient_out": _scores(y, nested >= 0.5),
        "held_out_by_patient": {
            lam: held_out_folds(patients, y > 0, flagged) for lam, flagged in held_p.items()
        },
        "nested_held_out_by_patient": held_out_folds(patients, y > 0, nested >= 0.5),
    }


def _held_out_p(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    patients: NDArray[Any],
    idx: NDArray[np.intp],
    lam: float,
) -> NDArray[np.float64]:
    """Each recording's probability from a fit on the other patients among ``idx``."""
    p = np.zeros(idx.size)
    for patient in np.unique(patients[idx]):
        mine = patients[idx] == patient
        p[mine] = predict(fit(x[idx[~mine]], y[idx[~mine]], lam), x[idx[mine]])
    return p


Model = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def fit(x: NDArray[np.float64], y: NDArray[np.float64], lam: float) -> Model:
    """Logistic regression on standardised features, classes weighted to balance, L2 on the
    weights (not the intercept), by Newton's method."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    share = min(max(float(y.mean()), 1e-3), 1.0 - 1e-3)
    weight = np.where(y > 0, 0.5 / share, 0.5 / (1.0 - share))
    penalty = lam * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    w = np.zeros(z.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (weight * (p - y)) + penalty @ w
        hessian = z.T @ (z * (weight * p * (1.0 - p))[:, None]) + penalty
        w = w - np.linalg.solve(hessian, gradient)
    return mean, scale, w


def predict(model: Model, x: NDArray[np.float64]) -> NDArray[np.float64]:
    mean, scale, w = model
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    return np.asarray(1.0 / (1.0 + np.exp(-z @ w)), dtype=np.float64)


def _balanced(y: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    s = _scores(y, p >= 0.5)
    return s["sensitivity"] + s["specificity"]


def _scores(y: NDArray[np.float64], flagged: NDArray[np.bool_]) -> dict[str, float]:
    truth = y > 0
    se = float((flagged & truth).sum()) / max(int(truth.sum()), 1)
    sp = float((~flagged & ~truth).sum()) / max(int((~truth).sum()), 1)
    return {"sensitivity": round(se, 3), "specificity": round(sp, 3)}


def summary_lines(probe: dict[str, Any]) -> list[str]:
    """The probe's figures as ``make eval`` prints them."""
    lines = []
    for name, cut in probe["oracle_cut"].items():
        held = probe["leave_one_patient_out"][name]
        lines.append(
            f"crackles, best cut on {name:<20} Se {cut['sensitivity']} / Sp {cut['specificity']}"
            f" (leave-one-patient-out {held['sensitivity']} / {held['specificity']})"
        )
    logistic = probe["logistic"]
    for lam, fitted in logistic["fitted"].items():
        held = logistic["leave_one_patient_out"][lam]
        lines.append(
            f"crackles, logistic lambda {lam:<4} fitted {fitted['sensitivity']} / "
            f"{fitted['specificity']} (leave-one-patient-out {held['sensitivity']} / "
            f"{held['specificity']})"
        )
    nested = logistic["nested_leave_one_patient_out"]
    lines.append(
        f"crackles, logistic, lambda chosen held out: {nested['sensitivity']} / "
        f"{nested['specificity']}"
    )
    return lines
