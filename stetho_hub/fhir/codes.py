"""Code systems and the codes we map to; the sources are cited in docs/fhir.md.

Only codes found in published FHIR material are used. Where no code fits exactly (an
auscultation *area* rather than the structure under it) the nearest structure is used and
docs/fhir.md says so; anything unknown is sent as text only, never with a guessed code.
"""

from __future__ import annotations

from typing import Any

from stetho_hub.fhir.records import FindingKind

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DEVICE_NAME_TYPE = "user-friendly-name"
# RFC 3986 URIs as identifier values: FHIR's own way to carry a UUID identifier.
URI_SYSTEM = "urn:ietf:rfc:3986"

HEART_RATE = ("8867-4", "Heart rate")
RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
AUSCULTATION = ("37931006", "Auscultation")
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"

# Auscultation site -> the SNOMED CT body structure under it. The heart areas map to the
# valve whose sound they carry best; the chest-wall lung areas to the lobe or lung below.
BODY_SITES: dict[str, tuple[str, str]] = {
    "aortic": ("34202007", "Aortic valve structure"),
    "pulmonic": ("39057004", "Pulmonary valve structure"),
    "tricuspid": ("46030003", "Tricuspid valve structure"),
    "mitral": ("91134007", "Mitral valve structure"),
    "trachea": ("44567001", "Tracheal structure"),
    "lung-left-upper": ("44714003", "Structure of upper lobe of left lung"),
    "lung-left-lower": ("41224006", "Structure of lower lobe of left lung"),
    "lung-right-upper": ("42400003", "Structure of upper lobe of right lung"),
    "lung-right-lower": ("266005", "Structure of lower lobe of right lung"),
    "lung-left-posterior": ("44029006", "Left lung structure"),
    "lung-right-posterior": ("3341006", "Right lung structure"),
    "lung-left-lateral": ("44029006", "Left lung structure"),
    "lung-right-lateral": ("3341006", "Right lung structure"),
}

FINDINGS: dict[FindingKind, tuple[str, str]] = {
    FindingKind.MURMUR: ("88610006", "Heart murmur"),
    FindingKind.IRREGULAR: ("361137007", "Irregular heart beat"),
    FindingKind.WHEEZE: ("56018004", "Wheezing"),
    FindingKind.CRACKLES: ("48409008", "Respiratory crackles"),
}

# Findings with no code found in published FHIR material: sent as text, never a guessed code.
UNCODED_FINDINGS: dict[FindingKind, str] = {
    FindingKind.OPENING_SNAP: "Possible opening snap (second sound 40-120 ms after S2)",
}

# What each finding's measured value is, and its UCUM unit ("1" is dimensionless).
FINDING_MEASURES: dict[FindingKind, tuple[str, str, str]] = {
    FindingKind.MURMUR: ("energy ratio of the murmur phase to the other phase", "1", "1"),
    FindingKind.IRREGULAR: ("normalised RMSSD of beat-to-beat intervals", "1", "1"),
    FindingKind.WHEEZE: ("longest musical sound", "s", "s"),
    FindingKind.CRACKLES: ("number of crackles", "{count}", "{count}"),
    FindingKind.OPENING_SNAP: ("share of beats with a sound after S2", "1", "1"),
}

# Triage rate flags -> v3 ObservationInterpretation (H, L, HH, LL).
RATE_INTERPRETATION: dict[str, tuple[str, str]] = {
    "rate_high": ("H", "High"),
    "rate_low": ("L", "Low"),
    "rate_very_high": ("HH", "Critical high"),
    "rate_very_low": ("LL", "Critical low"),
}


def coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)], "text": display}


def finding_code(kind: FindingKind) -> dict[str, Any]:
    """The finding's SNOMED CT concept, or its name as text when we have no code."""
    if kind in UNCODED_FINDINGS:
        return {"text": UNCODED_FINDINGS[kind]}
    return concept(SNOMED, *FINDINGS[kind])


def body_site(site: str) -> dict[str, Any]:
    """The site's SNOMED CT structure, or the site's name as text when we have no code."""
    known = BODY_SITES.get(site)
    if known is None:
        return {"text": f"auscultation site {site}"}
    code, display = known
    return {"coding": [coding(SNOMED, code, display)], "text": f"auscultation site {site}"}


def quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def per_minute(value: float) -> dict[str, Any]:
    return quantity(round(value, 1), "/min", "/min")
