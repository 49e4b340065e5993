"""Observations of one recording: vital signs (heart and respiratory rate) and findings.

Each is returned as a plain dict; `bundle.py` validates it with the R4B model. All are
`preliminary` (machine-measured, not validated by a clinician) until a doctor's disposition
makes them `final`.
"""

from __future__ import annotations

from typing import Any

from stetho_hub.fhir import _ids, codes
from stetho_hub.fhir.records import (
    RATE_CAVEATS,
    Finding,
    Measurements,
    RateFlag,
    RecordingRecord,
)

QUALITY_TEXT = "recording quality score (0 = unusable, 1 = clean)"
# Triage suffixes of a rate in the critical band kept to a review: read from too little, or a
# breathing rate taken during auscultation (not the resting rate NEWS2 scores).
DOWNGRADED = ("_unconfirmed", "_during_auscultation")


def _base(
    rec: RecordingRecord,
    identity: _ids.Identity,
    refs: dict[str, dict[str, Any]],
    status: str,
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [identity.identifier()],
        "status": status,
        "subject": refs["patient"],
        "effectivePeriod": {
            "start": rec.started_at.isoformat(),
            "end": rec.ended_at.isoformat(),
        },
        "method": codes.concept(codes.SNOMED, *codes.AUSCULTATION),
        "bodySite": codes.body_site(rec.auscultation_site),
        "device": refs["stethoscope"],
        "derivedFrom": [refs["media"]],
    }


def _quality_component(m: Measurements) -> dict[str, Any]:
    return {
        "code": {"text": QUALITY_TEXT},
        "valueQuantity": codes.quantity(round(m.quality_score, 3), "1", "1"),
    }


Entry = tuple[_ids.Identity, dict[str, Any]]  # an Observation and the identity it goes by


def vital_sign(
    rec: RecordingRecord,
    m: Measurements,
    refs: dict[str, dict[str, Any]],
    status: str,
    which: str,
) -> Entry | None:
    """Heart rate (`which="heart"`) or respiratory rate (`"respiratory"`), None if unmeasured."""
    rate = m.heart_rate_bpm if which == "heart" else m.respiratory_rate_bpm
    if rate is None:
        return None
    loinc = codes.HEART_RATE if which == "heart" else codes.RESPIRATORY_RATE
    identity = _ids.derived("Observation", rec.recording_id, f"{which}-rate")
    obs = _base(rec, identity, refs, status)
    obs["meta"] = {"profile": [codes.VITAL_SIGNS_PROFILE]}
    obs["category"] = [
        codes.concept(codes.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs"),
    ]
    obs["code"] = codes.concept(codes.LOINC, *loinc)
    obs["valueQuantity"] = codes.per_minute(rate)
    obs["component"] = [_quality_component(m)]
    flags = [f for f in m.rate_flags if f.code.startswith(f"{which}_")]
    graded = [f for f in flags if f.code not in RATE_CAVEATS]
    if graded:
        obs["interpretation"] = [_interpretation(f) for f in graded]
    if flags:
        obs["note"] = [{"text": f.reason} for f in flags]
    return identity, obs


def _interpretation(flag: RateFlag) -> dict[str, Any]:
    suffix = flag.code.split("_", 1)[1]  # heart_rate_high -> rate_high
    for tail in DOWNGRADED:
        if suffix.endswith(tail):  # high or low, not critical
            suffix = suffix.removesuffix(tail).replace("_very_", "_")
    code, display = codes.RATE_INTERPRETATION.get(suffix, ("A", "Abnormal"))
    return codes.concept(codes.INTERPRETATION, code, display)


def finding(
    rec: RecordingRecord,
    m: Measurements,
    found: Finding,
    refs: dict[str, dict[str, Any]],
    status: str,
) -> Entry | None:
    """A finding the analysis could judge, as present (true) or not (false)."""
    if found.present is None:
        return None
    identity = _ids.derived("Observation", rec.recording_id, f"finding/{found.kind.value}")
    obs = _base(rec, identity, refs, status)
    obs["category"] = [codes.concept(codes.OBSERVATION_CATEGORY, "exam", "Exam")]
    obs["code"] = codes.finding_code(found.kind)
    obs["valueBoolean"] = found.present
    obs["interpretation"] = [
        codes.concept(codes.INTERPRETATION, "POS", "Positive")
        if found.present
        else codes.concept(codes.INTERPRETATION, "NEG", "Negative")
    ]
    components = [_quality_component(m)]
    if found.value is not None:
        components.insert(0, _measure_component(found, found.value))
    obs["component"] = components
    notes = ["Decision support from sound analysis, not a diagnosis."]
    if found.reason:
        notes.insert(0, found.reason)
    obs["note"] = [{"text": text} for text in notes]
    return identity, obs


def _measure_component(found: Finding, value: float) -> dict[str, Any]:
    text, unit, ucum = codes.FINDING_MEASURES[found.kind]
    component: dict[str, Any] = {
        "code": {"text": text},
        "valueQuantity": codes.quantity(round(value, 4), unit, ucum),
    }
    if found.threshold is not None:
        component["referenceRange"] = [
            {
                "high": codes.quantity(found.threshold, unit, ucum),
                "text": "triage threshold: flagged at or above this value",
            }
        ]
    return component


def observations(rec: RecordingRecord, refs: dict[str, dict[str, Any]], status: str) -> list[Entry]:
    """Every Observation one recording yields (none when its analysis failed)."""
    m = rec.measurements
    if m is None:
        return []
    out = [
        vital_sign(rec, m, refs, status, "heart"),
        vital_sign(rec, m, refs, status, "respiratory"),
    ]
    out += [finding(rec, m, f, refs, status) for f in m.findings]
    return [entry for entry in out if entry is not None]
