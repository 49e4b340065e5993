"""A 95 % confidence interval beside every figure of issue 17 (``bench.evaluate``'s JSON).

Each figure is recomputed from the per-recording results ``bench.evaluate`` already holds
(CirCor and ICBHI ``patient``, Yaseen's ``source_group`` standing in for one), checked against
the figure printed, and given ``<key>_ci95`` beside it (``<key>_share`` and
``<key>_share_ci95`` when the figure is a count, such as 64 of 66). The rule:

* a share of patients (per-patient crackles): Wilson on k of n;
* a share of recordings where a patient gives several: Wilson on the effective number of
  recordings, n over the design effect that the bootstrap over patients measures, or the
  number of patients at 0 or n of n (``bench._intervals.clustered_wilson``; Wilson alone would
  take one patient's six recordings for six patients, the percentile bootstrap alone collapses
  to a point at 0 or n of n);
* an F1 over heart sounds (and its Se and PPV): the percentile bootstrap over patients;
* a balanced accuracy: MOVER (``bench._intervals.mover_mean``) over its sensitivity's and
  specificity's intervals as above, their patients being apart; the percentile bootstrap is
  kept beside it, but it cannot see the spread of a part every resample gets right (Yaseen's
  20 of 20 normal clips, from 2 sources). Murmur figures are drawn within murmur and
  murmur-free patients, so that each resample keeps both.

The held-out figures (``s1_s2_close_phases_lopo``, ``murmur_paired_lopo``) get theirs the
same way from each patient's held-out result; the interval takes each fold's choice of grid
point as given, so it leaves out how that choice would vary with other patients. So do the
crackle and wheeze probes' held-out Se / Sp (every ``leave_one_patient_out*`` figure with its
folds beside it under the same name with ``held_out_by_patient``, see ``held_out_folds``).

``issue_17["ci95"]`` holds k, n, patients, both intervals and the method of each figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench._eval_summary import NEGATIVE_MURMUR, POSITIVE_MURMUR, by_patient, ratio_kind
from bench._intervals import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    clustered_wilson,
    mover_mean,
    patient_bootstrap,
    wilson,
)

Record = dict[str, Any]
Count = Callable[[list[Record]], float]  # a patient's recordings -> a sum
RR_TOLERANCE_PER_MIN = 3.0  # as bench._eval_lung's rr_within_3_bpm
HELD_OUT, FOLDS = "leave_one_patient_out", "held_out_by_patient"


@dataclass(frozen=True)
class Figure:
    """One figure of issue 17: the mean over ``parts`` of sum(numerator) / sum(denominator).

    ``block`` (dotted, at most two deep) and ``key`` name it in ``issue_17``; ``of`` names
    the denominator's key when the figure is a count (then the share gets the interval);
    ``source`` names the recordings; ``proportion`` says whether it is a share of units
    (Wilson applies).
    """

    block: str
    key: str
    source: str
    parts: tuple[tuple[Count, Count], ...]
    proportion: bool = True
    of: str | None = None
    stratum: Callable[[list[Record]], Hashable] | None = None


def _each(test: Callable[[Record], bool]) -> Count:
    return lambda recs: float(sum(bool(test(r)) for r in recs))


def _sum(value: Callable[[Record], float]) -> Count:
    return lambda recs: float(sum(value(r) for r in recs))


def _patient_has(kind: str, truth: bool) -> Count:
    """1 when the patient's recordings, together, have (truth) or lack the sound."""
    return lambda recs: float(any(r[f"{kind}_cycles"] > 0 for r in recs) == truth)


def _patient_flagged(kind: str, truth: bool, flagged: bool) -> Count:
    flag = {"crackle": "crackles_flagged", "wheeze": "wheeze_flagged"}[kind]
    has = _patient_has(kind, truth)
    return lambda recs: float(has(recs) and any(r[flag] for r in recs) == flagged)


def _beats(field: str) -> Callable[[Record], float]:
    return lambda r: float(r["S1"][field] + r["S2"][field])


def _rated(kind: Callable[[str], bool], plausible: bool = False) -> tuple[Count, Count]:
    def counted(r: Record) -> bool:
        return r["hr_reference_bpm"] is not None and (r["annotation_plausible"] or not plausible)

    def hit(r: Record) -> bool:
        return counted(r) and kind(ratio_kind(r["hr_estimate_bpm"], r["hr_reference_bpm"]))

    return _each(hit), _each(counted)


def _murmur(hint: str, positive: bool) -> tuple[Count, Count]:
    """CirCor: the hint raised on murmur recordings, or not raised on murmur-free ones."""
    labels = POSITIVE_MURMUR if positive else NEGATIVE_MURMUR
    return (
        _each(lambda r: r["murmur_label"] in labels and r[hint] is positive),
        _each(lambda r: r["murmur_label"] in labels),
    )


def _yaseen(hint: str, positive: bool, only: str | None = None) -> tuple[Count, Count]:
    """Yaseen: raised on MR/MS/MVP (or only ``only``), or not raised on N."""

    def member(r: Record) -> bool:
        if only is not None:
            return bool(r["yaseen_class"] == only)
        return (r["yaseen_class"] != "N") is positive

    return _each(lambda r: member(r) and r[hint] is positive), _each(member)


def _lung(kind: str, truth: bool) -> tuple[Count, Count]:
    """ICBHI per recording: flagged on recordings with the sound, or not flagged without it."""
    flag = {"crackle": "crackles_flagged", "wheeze": "wheeze_flagged"}[kind]

    def has(r: Record) -> bool:
        return (r[f"{kind}_cycles"] > 0) is truth

    return _each(lambda r: has(r) and bool(r[flag]) is truth), _each(has)


def _clean(r: Record) -> bool:
    return bool(r["crackle_cycles"] == 0 and r["wheeze_cycles"] == 0)


def _breath_within(r: Record) -> bool:
    estimate = r["rr_estimate_bpm"]
    return bool(estimate) and abs(estimate - r["rr_reference_bpm"]) <= RR_TOLERANCE_PER_MIN


def _circor_label(recs: list[Record]) -> Hashable:
    return str(recs[0]["murmur_label"])


def _yaseen_normal(recs: list[Record]) -> Hashable:
    return bool(recs[0]["yaseen_class"] == "N")


def _figures() -> list[Figure]:
    heart: list[Figure] = [
        Figure(
            "s1_s2",
            "sensitivity",
            "circor",
            ((_sum(_beats("hits")), _sum(_beats("reference"))),),
            False,
        ),
        Figure(
            "s1_s2", "ppv", "circor", ((_sum(_beats("hits")), _sum(_beats("detected"))),), False
        ),
        Figure(
            "s1_s2",
            "f1",
            "circor",
            (
                (
                    _sum(lambda r: 2 * _beats("hits")(r)),
                    _sum(lambda r: _beats("reference")(r) + _beats("detected")(r)),
                ),
            ),
            False,
        ),
        Figure(
            "heart_rate", "within_5_bpm", "circor", (_rated(lambda k: k == "within_5"),), of="of"
        ),
        Figure(
            "heart_rate",
            "within_5_bpm_plausible_annotations",
            "circor",
            (_rated(lambda k: k == "within_5", plausible=True),),
            of="of_plausible",
        ),
        Figure(
            "heart_rate",
            "half_or_double",
            "circor",
            (_rated(lambda k: k in ("half", "double")),),
            of="of",
        ),
        Figure("heart_rate", "no_rate", "circor", (_rated(lambda k: k == "none"),), of="of"),
    ]
    for block, hint in (
        ("murmur_circor", "murmur_suspected"),
        ("murmur_or_snap_circor", "valve_hint"),
    ):
        se, sp = _murmur(hint, True), _murmur(hint, False)
        heart += [
            Figure(block, "sensitivity", "circor", (se,), stratum=_circor_label),
            Figure(block, "specificity", "circor", (sp,), stratum=_circor_label),
            Figure(block, "balanced_accuracy", "circor", (se, sp), False, stratum=_circor_label),
        ]
    for block, hint in (
        ("murmur_yaseen", "murmur_suspected"),
        ("murmur_or_snap_yaseen", "valve_hint"),
    ):
        se, sp = _yaseen(hint, True), _yaseen(hint, False)
        heart += [
            Figure(block, "sensitivity", "yaseen", (se,), stratum=_yaseen_normal),
            Figure(block, "specificity", "yaseen", (sp,), stratum=_yaseen_normal),
            Figure(block, "balanced_accuracy", "yaseen", (se, sp), False, stratum=_yaseen_normal),
            Figure(block, "MS", "yaseen", (_yaseen(hint, True, only="MS"),), of="of"),
        ]
    lung: list[Figure] = []
    for kind, block in (("crackle", "crackles"), ("wheeze", "wheezes")):
        lung += [
            Figure(f"{block}_per_recording", "sensitivity", "icbhi", (_lung(kind, True),)),
            Figure(f"{block}_per_recording", "specificity", "icbhi", (_lung(kind, False),)),
            Figure(
                f"{block}_per_patient",
                "sensitivity",
                "icbhi",
                ((_patient_flagged(kind, True, True), _patient_has(kind, True)),),
            ),
            Figure(
                f"{block}_per_patient",
                "specificity",
                "icbhi",
                ((_patient_flagged(kind, False, False), _patient_has(kind, False)),),
            ),
        ]
    lung += [
        Figure(
            "urgent_on_clean_lung",
            "urgent",
            "icbhi",
            ((_each(lambda r: _clean(r) and r["level"] == "urgent"), _each(_clean)),),
            of="of",
        ),
        Figure(
            "breathing_rate",
            "within_3_per_min",
            "icbhi",
            ((_each(_breath_within), _each(lambda r: True)),),
            of="of",
        ),
    ]
    held_out = [
        Figure(
            "s1_s2_close_phases_lopo",
            "leave_one_patient_out_f1",
            "s1_s2_held_out",
            ((_sum(lambda r: 2 * r["hits"]), _sum(lambda r: r["reference"] + r["detected"])),),
            False,
        )
    ]
    se, sp = _murmur("murmur_suspected", True), _murmur("murmur_suspected", False)
    held_out += [
        Figure(_MURMUR_HELD, "sensitivity", "murmur_held_out", (se,), stratum=_circor_label),
        Figure(_MURMUR_HELD, "specificity", "murmur_held_out", (sp,), stratum=_circor_label),
        Figure(
            _MURMUR_HELD,
            "balanced_accuracy",
            "murmur_held_out",
            (se, sp),
            False,
            stratum=_circor_label,
        ),
    ]
    return heart + lung + held_out


_MURMUR_HELD = "murmur_paired_lopo.leave_one_patient_out"
FIGURES = _figures()


def add_intervals(
    issue: dict[str, Any], results: dict[str, Any], *, resamples: int = RESAMPLES, seed: int = SEED
) -> None:
    """Write each figure's interval beside it in ``issue`` (``results["issue_17"]``).

    Adds ``breathing_rate`` (ICBHI's ``rr_within_3_bpm`` as k of n) and ``ci95`` (method,
    k, n, patients, both intervals per figure); changes no key already there. Raises
    ValueError when a recomputed figure differs from the one printed.
    """
    s1_s2_held = issue["s1_s2_close_phases_lopo"]["held_out_by_patient"]
    records = {
        "circor": results["circor"]["per_recording"],
        "yaseen": results["yaseen"]["per_recording"],
        "icbhi": results["icbhi"]["recordings_detail"],
        # Held out: each patient scored with the grid point chosen on all the others.
        "s1_s2_held_out": [
            {"patient": p, "reference": c[0], "detected": c[1], "hits": c[2]}
            for p, c in s1_s2_held.items()
        ],
        "murmur_held_out": list(issue["murmur_paired_lopo"]["held_out_by_recording"].values()),
    }
    within = [_breath_within(r) for r in records["icbhi"]]
    issue["breathing_rate"] = {"within_3_per_min": sum(within), "of": len(within)}
    _check(sum(within) / len(within) if within else None, results["icbhi"]["rr_within_3_bpm"], "rr")
    # issue_measures hands over some blocks as they stand in results["circor"] and
    # results["icbhi"]; copied, so that the intervals go beside issue 17's figures only.
    for path in dict.fromkeys(figure.block for figure in FIGURES):
        holder, *inner = path.split(".")
        issue[holder] = dict(issue[holder])
        if inner:
            issue[holder][inner[0]] = dict(issue[holder][inner[0]])
    details = {}
    for figure in FIGURES:
        name = f"{figure.block}.{figure.key}"
        block = issue
        for part in figure.block.split("."):
            block = block[part]
        details[name] = _interval(block, figure, records[figure.source], resamples, seed)
    probes = add_held_out_intervals(issue, resamples=resamples, seed=seed)
    issue["ci95"] = {
        "confidence": CONFIDENCE,
        "rule": (
            "share of patients: Wilson; share of recordings, several per patient: Wilson on"
            " n / design effect (patient bootstrap variance), on the patients at 0 or n of n;"
            " S1/S2 F1, Se, PPV: patient bootstrap (percentile); balanced accuracy: MOVER over"
            " Se and Sp; murmur resamples drawn within murmur and murmur-free patients"
        ),
        "resamples": resamples,
        "seed": seed,
        "figures": details,
        "held_out_probe_figures": probes,
    }


def held_out_folds(
    patients: Sequence[Hashable], truth: Sequence[bool], flagged: Sequence[bool]
) -> dict[str, list[int]]:
    """Each held-out patient's result: [flagged with the sound, with it, clear without, without].

    Kept beside a probe's ``leave_one_patient_out*`` Se / Sp (as ``held_out_by_patient*``), so
    that ``add_held_out_intervals`` can give the figure its interval over patients.
    """
    folds: dict[str, list[int]] = {}
    for patient, t, f in zip(patients, truth, flagged, strict=True):
        fold = folds.setdefault(str(patient), [0, 0, 0, 0])
        if t:
            fold[0], fold[1] = fold[0] + bool(f), fold[1] + 1
        else:
            fold[2], fold[3] = fold[2] + (not f), fold[3] + 1
    # Sorted as by_patient sorts: the same flags draw the same resamples as the plain figure.
    return dict(sorted(folds.items()))


def add_held_out_intervals(tree: Any, *, resamples: int = RESAMPLES, seed: int = SEED) -> list[str]:
    """Write ``sensitivity_ci95`` and ``specificity_ci95`` beside every held-out Se / Sp in
    ``tree`` whose folds are kept (``held_out_folds``); return where, as dotted paths.

    The same rule as the plain per-recording figures: Wilson over patients, or on the
    effective n when a patient gives several units. Raises ValueError when a figure
    recomputed from its folds differs from the one printed.
    """
    written: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key in list(node):
                folds = key.replace(HELD_OUT, FOLDS)
                if HELD_OUT in key and folds in node:
                    _held_out_pair(node[key], node[folds], f"{path}{key}", written, resamples, seed)
                walk(node[key], f"{path}{key}.")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(tree, "")
    return written


def _held_out_pair(
    figure: Any, folds: Any, path: str, written: list[str], resamples: int, seed: int
) -> None:
    """One held-out Se / Sp with its folds, or a mapping of them (one a member or unit)."""
    if not isinstance(figure, dict) or not isinstance(folds, dict):
        return
    if "sensitivity" not in figure or "specificity" not in figure:
        for key in [k for k in figure if k in folds]:
            _held_out_pair(figure[key], folds[key], f"{path}.{key}", written, resamples, seed)
        return
    sums = np.array(list(folds.values()), dtype=np.float64).reshape(-1, 4)
    for name, columns in (("sensitivity", slice(0, 2)), ("specificity", slice(2, 4))):
        k, n = (int(v) for v in sums[:, columns].sum(axis=0))
        interval = None
        if n:
            _check(k / n, figure[name], f"{path}.{name}")
            interval = _share(sums[:, columns], None, resamples, seed)[0]
        figure[f"{name}_ci95"] = _outward(interval)
    written.append(path)


def _interval(
    block: dict[str, Any], figure: Figure, records: list[Record], resamples: int, seed: int
) -> dict[str, Any]:
    groups = list(by_patient(records).values())
    sums = np.array([[count(g) for part in figure.parts for count in part] for g in groups])
    sums = sums.reshape(len(groups), 2 * len(figure.parts))
    totals = sums.sum(axis=0)
    value = None if np.any(totals[1::2] == 0) else float(np.mean(totals[0::2] / totals[1::2]))
    k, n = int(totals[0]), int(totals[1])
    target = _printed(block, figure, k, n, value)
    strata = None if figure.stratum is None else [figure.stratum(g) for g in groups]
    boot = patient_bootstrap(sums, _mean_ratio, strata, resamples=resamples, seed=seed)
    both = None if boot is None else (boot.low, boot.high)
    parts = [
        _share(sums[:, i : i + 2], strata, resamples, seed) for i in range(0, sums.shape[1], 2)
    ]
    if not figure.proportion and len(parts) == 1:
        interval, method = both, "patient bootstrap"
    elif len(parts) == 1:
        interval, method = parts[0][0], parts[0][1]
    elif value is None or any(p[0] is None for p in parts):
        interval, method = None, "MOVER"
    else:
        shares = [float(t[0] / t[1]) for t in totals.reshape(-1, 2)]
        limits = [p[0] for p in parts if p[0] is not None]
        interval = mover_mean(shares, limits)
        method = "MOVER over Se and Sp (" + "; ".join(p[1] for p in parts) + ")"
    block[target] = _outward(interval)
    return {
        "method": method,
        **({"k": k, "n": n} if figure.proportion else {}),
        "patients": int(np.count_nonzero(sums[:, 1::2].sum(axis=1))),
        "figure": None if value is None else round(value, 3),
        "ci95": block[target],
        "wilson": _outward(wilson(k, n)) if figure.proportion else None,
        "patient_bootstrap": _outward(both),
        "bootstrap_resamples_defined": 0 if boot is None else boot.defined,
    }


def _share(
    sums: NDArray[np.float64], strata: list[Hashable] | None, resamples: int, seed: int
) -> tuple[tuple[float, float] | None, str]:
    """A share's interval from its per-patient (k, n): Wilson, on the effective n if clustered."""
    k, n = (int(v) for v in sums.sum(axis=0))
    # A patient counted more than once in the denominator: the recordings are not independent.
    if sums.size == 0 or float(sums[:, 1].max()) <= 1.0:
        return wilson(k, n), "Wilson"
    boot = patient_bootstrap(sums, _mean_ratio, strata, resamples=resamples, seed=seed)
    sd = 0.0 if boot is None else boot.sd
    return clustered_wilson(k, n, int(np.count_nonzero(sums[:, 1])), sd), "Wilson, effective n"


def _mean_ratio(totals: NDArray[np.float64]) -> NDArray[np.float64]:
    """The figure of each resample: the mean of its parts' ratios (NaN when one is 0 / 0)."""
    return np.asarray(np.mean(totals[:, 0::2] / totals[:, 1::2], axis=1), dtype=np.float64)


def _printed(block: dict[str, Any], figure: Figure, k: int, n: int, value: float | None) -> str:
    """Check the recomputed figure against the printed one; return the interval's key."""
    printed = block[figure.key]
    if isinstance(printed, dict):  # Yaseen's MS: {"suspected": k, "of": n}
        printed, figure_n = printed["suspected"], printed["of"]
    else:
        figure_n = block[figure.of] if figure.of is not None else n
    if figure.of is None and not isinstance(block[figure.key], dict):
        _check(value, printed, f"{figure.block}.{figure.key}")
        return f"{figure.key}_ci95"
    if (printed, figure_n) != (k, n):
        raise ValueError(
            f"{figure.block}.{figure.key}: recomputed {k} of {n}, printed {printed} of {figure_n}"
        )
    block[f"{figure.key}_share"] = round(k / n, 3) if n else None
    return f"{figure.key}_share_ci95"


def _check(value: float | None, printed: float | None, name: str) -> None:
    if (value is None) != (printed is None) or (
        value is not None and printed is not None and abs(round(value, 3) - printed) > 0.0015
    ):
        raise ValueError(f"{name}: recomputed {value}, printed {printed}")


def _outward(interval: tuple[float, float] | None) -> list[float] | None:
    """Rounded to 3 decimals away from the figure, so that rounding never narrows it."""
    if interval is None:
        return None
    return [
        math.floor(interval[0] * 1000 + 1e-9) / 1000,
        math.ceil(interval[1] * 1000 - 1e-9) / 1000,
    ]


def interval_lines(issue: dict[str, Any]) -> list[str]:
    """The intervals as lines of text, one a figure."""
    ci = issue["ci95"]
    lines = [f"95 % intervals (issue 17; {ci['resamples']} patient resamples, seed {ci['seed']})"]
    for name, d in ci["figures"].items():
        counts = f"{d['k']} of {d['n']}, " if "k" in d else ""
        interval = "no data" if d["ci95"] is None else f"[{d['ci95'][0]}, {d['ci95'][1]}]"
        lines.append(
            f"  {name:<48} {d['figure']!s:<6} {interval:<16} "
            f"({counts}{d['patients']} patients; {d['method']})"
        )
    probes = ci.get("held_out_probe_figures", [])
    lines.append(
        f"  and {len(probes)} held-out probe figures: <figure>.sensitivity_ci95 and"
        " .specificity_ci95 in the JSON"
    )
    return lines


def print_family(family: dict[str, Any], held_label: str, width: int = 36) -> None:
    """Print each member rule's Se / Sp, then the family's held-out Se / Sp with the 95 %
    intervals over patients (``add_held_out_intervals`` run first)."""
    for name, s in family["members"].items():
        print(f"{name:<{width}} Se {s['sensitivity']:.3f}  Sp {s['specificity']:.3f}")
    held = family["leave_one_patient_out"]
    print(
        f"{held_label:<{width}} Se {held['sensitivity']:.3f} {held['sensitivity_ci95']}"
        f"  Sp {held['specificity']:.3f} {held['specificity_ci95']} (95 % intervals over patients)"
    )
