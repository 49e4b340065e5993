"""The measures of issue 17 from ``bench.evaluate``'s results, overall and per patient.

Nothing in stetho_signal is fitted to these recordings (every threshold is fixed in the code
with its reason), but four constants were placed after trying a few values on them: ``FITTED``
names them; ``bench._eval_lopo`` scores the two of the S1/S2 orientation leave-one-patient-out
over their joint grid (``s1_s2_close_phases_lopo``), ``bench._eval_murmur_lopo`` the two of
the murmur hint's per-beat ratio (``murmur_paired_lopo``).
Every other figure is the same with leave-one-patient-out as plain.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# Constants placed by trying values on the data (LOPO of each in bench._eval_lopo).
FITTED: list[str] = [
    "_chain_judge._CLOSE_PHASES",
    "_chain_judge._STEADY_Z",
    "_murmur._PAIRED_WINDOW",
    "_murmur._PAIRED_FLOOR",
]
_HALF = (0.4, 0.6)  # estimate / reference read as half the rate
_DOUBLE = (1.7, 2.3)  # read as double the rate
POSITIVE_MURMUR = {"murmur", "Present"}
NEGATIVE_MURMUR = {"normal", "Absent"}
_FLAG = {"crackle": "crackles_flagged", "wheeze": "wheeze_flagged"}  # as per_recording counts


def issue_measures(results: dict[str, Any]) -> dict[str, Any]:
    """The table of issue 17 and the per-patient figures behind it."""
    circor = results["circor"]["per_recording"]
    lung = results["icbhi"]["recordings_detail"]
    return {
        "fitted_parameters": FITTED,
        "leave_one_patient_out": (
            "same as plain except S1/S2 (s1_s2_close_phases_lopo) and the murmur hint"
            " (murmur_paired_lopo)"
        ),
        "s1_s2": results["circor"]["S1_S2"],
        "heart_rate": _rates(circor),
        "murmur_circor": _balanced(
            [r["murmur_suspected"] for r in circor if r["murmur_label"] in POSITIVE_MURMUR],
            [r["murmur_suspected"] for r in circor if r["murmur_label"] in NEGATIVE_MURMUR],
        ),
        "murmur_or_snap_circor": _balanced(
            [r["valve_hint"] for r in circor if r["murmur_label"] in POSITIVE_MURMUR],
            [r["valve_hint"] for r in circor if r["murmur_label"] in NEGATIVE_MURMUR],
        ),
        "murmur_or_snap_yaseen": {
            **{k: v for k, v in results["yaseen"]["murmur_or_snap"].items() if k != "by_class"},
            "MS": results["yaseen"]["murmur_or_snap"]["by_class"].get("MS"),
        },
        "murmur_yaseen": {
            "balanced_accuracy": results["yaseen"]["murmur_balanced_accuracy"],
            "sensitivity": results["yaseen"]["murmur_sensitivity"],
            "specificity": results["yaseen"]["murmur_specificity"],
            "MS": results["yaseen"]["murmur_hint_by_class"].get("MS"),
        },
        "crackles_per_recording": results["icbhi"]["per_recording"]["crackle"],
        "wheezes_per_recording": results["icbhi"]["per_recording"]["wheeze"],
        "crackles_per_patient": _per_patient_confusion(lung, "crackle"),
        "wheezes_per_patient": _per_patient_confusion(lung, "wheeze"),
        "urgent_on_clean_lung": _urgent_clean(lung),
        "heart_per_patient": _heart_patients(circor),
        "lung_per_patient": _lung_patients(lung),
    }


def ratio_kind(estimate: float | None, reference: float) -> str:
    if estimate is None:
        return "none"
    ratio = estimate / reference
    if _HALF[0] <= ratio <= _HALF[1]:
        return "half"
    if _DOUBLE[0] <= ratio <= _DOUBLE[1]:
        return "double"
    return "within_5" if abs(estimate - reference) <= 5.0 else "off"


def _rates(records: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = [
        (r, ratio_kind(r["hr_estimate_bpm"], r["hr_reference_bpm"]))
        for r in records
        if r["hr_reference_bpm"] is not None
    ]
    plausible = [k for r, k in kinds if r["annotation_plausible"]]
    return {
        "within_5_bpm": sum(k == "within_5" for _, k in kinds),
        "of": len(kinds),
        "half_or_double": sum(k in ("half", "double") for _, k in kinds),
        "no_rate": sum(k == "none" for _, k in kinds),
        "within_5_bpm_plausible_annotations": sum(k == "within_5" for k in plausible),
        "of_plausible": len(plausible),
        "half_or_double_files": [
            f"{r['file']} ({r['hr_estimate_bpm']} vs {r['hr_reference_bpm']})"
            for r, k in kinds
            if k in ("half", "double")
        ],
    }


def _balanced(positives: list[bool | None], negatives: list[bool | None]) -> dict[str, Any]:
    sens = sum(v is True for v in positives) / len(positives) if positives else None
    spec = sum(v is False for v in negatives) / len(negatives) if negatives else None
    both = None if sens is None or spec is None else round((sens + spec) / 2, 3)
    return {
        "balanced_accuracy": both,
        "sensitivity": None if sens is None else round(sens, 3),
        "specificity": None if spec is None else round(spec, 3),
        "murmur": len(positives),
        "no_murmur": len(negatives),
    }


def by_patient(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["patient"]].append(r)
    return dict(sorted(groups.items()))


def _per_patient_confusion(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """A patient has the sound when any recording's cycles do, is flagged when any recording is
    (the finding, whatever the triage level: a recording sent back still counts)."""
    tp = fp = fn = tn = 0
    for recs in by_patient(records).values():
        truth = any(r[f"{kind}_cycles"] > 0 for r in recs)
        flagged = any(r[_FLAG[kind]] for r in recs)
        tp, fp = tp + (truth and flagged), fp + (flagged and not truth)
        fn, tn = fn + (truth and not flagged), tn + (not truth and not flagged)
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "sensitivity": round(tp / (tp + fn), 3) if tp + fn else None,
        "specificity": round(tn / (tn + fp), 3) if tn + fp else None,
    }


def _urgent_clean(records: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [r for r in records if r["crackle_cycles"] == 0 and r["wheeze_cycles"] == 0]
    urgent = [r for r in clean if r["level"] == "urgent"]
    return {
        "urgent": len(urgent),
        "of": len(clean),
        "files": [f"{r['file']} ({r['age_band']}: {', '.join(r['flags'])})" for r in urgent],
    }


def _heart_patients(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for patient, recs in by_patient(records).items():
        ref = sum(r[s]["reference"] for r in recs for s in ("S1", "S2"))
        det = sum(r[s]["detected"] for r in recs for s in ("S1", "S2"))
        hits = sum(r[s]["hits"] for r in recs for s in ("S1", "S2"))
        rated = [r for r in recs if r["hr_reference_bpm"] is not None]
        kinds = [ratio_kind(r["hr_estimate_bpm"], r["hr_reference_bpm"]) for r in rated]
        rows.append(
            {
                "patient": patient,
                "recordings": len(recs),
                "s1_s2_f1": round(2 * hits / (ref + det), 3) if ref + det else None,
                "hr_within_5": sum(k == "within_5" for k in kinds),
                "hr_of": len(kinds),
                "half_or_double": sum(k in ("half", "double") for k in kinds),
                "murmur_label": recs[0]["murmur_label"],
                "murmur_hinted": sum(r["murmur_suspected"] is True for r in recs),
            }
        )
    return rows


def _lung_patients(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for patient, recs in by_patient(records).items():
        rows.append(
            {
                "patient": patient,
                "age_band": recs[0]["age_band"],
                "recordings": len(recs),
                "crackle_recordings": sum(r["crackle_cycles"] > 0 for r in recs),
                "crackles_flagged": sum(r["crackles_flagged"] for r in recs),
                "wheeze_recordings": sum(r["wheeze_cycles"] > 0 for r in recs),
                "wheezes_flagged": sum(r["wheeze_flagged"] for r in recs),
                "levels": [r["level"] for r in recs],
            }
        )
    return rows


def summary_table(m: dict[str, Any]) -> str:
    """The issue-17 measures as lines of text."""
    hr, ys, cc = m["heart_rate"], m["murmur_yaseen"], m["murmur_circor"]
    c, w, u = m["crackles_per_recording"], m["wheezes_per_recording"], m["urgent_on_clean_lung"]
    cp, wp = m["crackles_per_patient"], m["wheezes_per_patient"]
    s = m["s1_s2"]
    vc, vy = m["murmur_or_snap_circor"], m["murmur_or_snap_yaseen"]
    lines = [
        "issue 17 measures (leave-one-patient-out = plain, but S1/S2: see below)",
        f"S1/S2 F1 +-60 ms (CirCor)              {s['f1']} (Se {s['sensitivity']}, PPV {s['ppv']})",
        f"HR within 5 bpm (CirCor)               {hr['within_5_bpm']} of {hr['of']}; "
        f"half/double {hr['half_or_double']}; no rate {hr['no_rate']}",
        f"murmur bal. acc. CirCor                {cc['balanced_accuracy']} "
        f"(Se {cc['sensitivity']}, Sp {cc['specificity']})",
        f"murmur bal. acc. Yaseen                {ys['balanced_accuracy']} "
        f"(MS {ys['MS']['suspected']} of {ys['MS']['of']})",
        f"murmur or snap hint, CirCor            {vc['balanced_accuracy']} "
        f"(Se {vc['sensitivity']}, Sp {vc['specificity']})",
        f"murmur or snap hint, Yaseen            {vy['balanced_accuracy']} "
        f"(MS {vy['MS']['suspected']} of {vy['MS']['of']})",
        f"crackles per recording Se / Sp         {c['sensitivity']} / {c['specificity']} "
        f"(per patient {cp['sensitivity']} / {cp['specificity']})",
        f"wheezes per recording Se / Sp          {w['sensitivity']} / {w['specificity']} "
        f"(per patient {wp['sensitivity']} / {wp['specificity']})",
        f"urgent on clean lung recordings        {u['urgent']} of {u['of']}",
    ]
    return "\n".join(lines)
