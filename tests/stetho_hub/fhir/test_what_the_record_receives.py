"""What the hospital record receives, resource by resource, written out by hand.

Each expected value is the mapping of docs/fhir.md (codes from the FHIR R4 code systems named
there, UCUM units), not a copy of a generated Bundle: a test here fails when a code, a unit,
a reference, a request or a sentence the doctor reads changes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest

from stetho_hub.fhir import (
    AudioFile,
    BundleInvalidError,
    ExamRecord,
    Finding,
    FindingKind,
    RateFlag,
    Software,
    build_bundle,
    bundle_json,
    parse_bundle,
)
from stetho_hub.fhir import bundle as bundle_module
from stetho_hub.fhir.example import example_exam
from tests.stetho_hub.fhir.helpers import bundle_dict, decided, resources

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
URI = "urn:ietf:rfc:3986"
# The namespace of the UUIDv5 identities that have no UUID of their own (stetho_hub/fhir/_ids.py).
NAMESPACE = UUID("5d0f3a52-0c1e-4a8e-9a55-6f1f7f3c2b10")
RESIDENTS = "https://stetho-edge.example/fhir/sid/care-home/oak-hill/resident"
AGENTS = "https://stetho-edge.example/fhir/sid/agent"
PROVENANCE_TAGS = "https://stetho-edge.example/fhir/sid/provenance"

EXAM = UUID("7c1e2d4a-5b6f-4a8e-9c0d-1e2f3a4b5c6d")
HEART = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f01")  # mitral, murmur hint
LUNG = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f02")  # right lower lobe, crackles
FAILED = UUID("0b9f6a9e-2f1c-4f61-9d51-6a1d3c7e8f03")  # trachea, too short to analyse


def concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


def ucum(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def urn(uuid: UUID) -> str:
    return f"urn:uuid:{uuid}"


def ref(full_url: str, kind: str) -> dict[str, str]:
    return {"reference": full_url, "type": kind}


PATIENT_URL = urn(uuid5(NAMESPACE, f"Patient/{RESIDENTS}|res-0042"))
SOFTWARE_URL = urn(
    uuid5(NAMESPACE, "Device/software/stetho-edge sound analysis (stetho_signal)/0.1.0")
)
STETHOSCOPE_URL = urn(uuid5(NAMESPACE, "Device/stethoscope/oak-hill/steth-1"))
HEART_RATE_URL = urn(uuid5(HEART, "heart-rate"))
MURMUR_URL = urn(uuid5(HEART, "finding/heart_murmur"))
IRREGULAR_URL = urn(uuid5(HEART, "finding/heart_irregular"))
BREATHING_RATE_URL = urn(uuid5(LUNG, "respiratory-rate"))
WHEEZE_URL = urn(uuid5(LUNG, "finding/lung_wheeze"))
CRACKLES_URL = urn(uuid5(LUNG, "finding/lung_crackles"))
PRELIMINARY_PROVENANCE = urn(uuid5(EXAM, "provenance/preliminary"))
FINAL_PROVENANCE = urn(uuid5(EXAM, "provenance/final"))
OBSERVATION_URLS = [
    HEART_RATE_URL,
    MURMUR_URL,
    IRREGULAR_URL,
    BREATHING_RATE_URL,
    WHEEZE_URL,
    CRACKLES_URL,
]

AUSCULTATION = concept(SNOMED, "37931006", "Auscultation")
QUALITY_TEXT = "recording quality score (0 = unusable, 1 = clean)"
NOT_A_DIAGNOSIS = "Decision support from sound analysis, not a diagnosis."
THRESHOLD_TEXT = "triage threshold: flagged at or above this value"
AWAITING = "Awaiting a clinician's review: machine measurements only."
TRACHEA_FAILED = (
    f"trachea recording {FAILED}: analysis failed (recording too short: 0.6 s, analysis needs "
    "at least 1 s); no measurements, the sound is attached."
)
PARTIAL = "Capture stopped early (shutdown or link lost): the recording is partial."


def entry(bundle: dict[str, Any], full_url: str) -> dict[str, Any]:
    (found,) = [e for e in bundle["entry"] if e["fullUrl"] == full_url]
    return found


def resource(bundle: dict[str, Any], full_url: str) -> dict[str, Any]:
    found: dict[str, Any] = entry(bundle, full_url)["resource"]
    return found


def create(kind: str, search: str) -> dict[str, str]:
    return {"method": "POST", "url": kind, "ifNoneExist": search}


def by_id(system: str, value: str) -> str:
    return f"identifier={system}|{value}"


def with_recording(exam: ExamRecord, index: int, **changes: Any) -> ExamRecord:
    recordings = list(exam.recordings)
    recordings[index] = dataclasses.replace(recordings[index], **changes)
    return dataclasses.replace(exam, recordings=tuple(recordings))


def with_measurements(exam: ExamRecord, index: int, **changes: Any) -> ExamRecord:
    measured = exam.recordings[index].measurements
    assert measured is not None
    return with_recording(exam, index, measurements=dataclasses.replace(measured, **changes))


# ---- identities and requests: the contract that makes a resend harmless


def test_the_bundle_is_a_transaction_named_by_the_exam_and_stamped_when_it_closed() -> None:
    data = bundle_dict(example_exam())
    assert data["identifier"] == {"system": URI, "value": urn(EXAM)}
    assert data["type"] == "transaction"
    assert data["timestamp"] == "2026-11-02T09:33:00Z"  # closed_at
    assert bundle_dict(decided(example_exam()))["timestamp"] == "2026-11-02T11:33:00Z"  # decided


def test_every_entry_has_its_documented_identity_and_a_conditional_create() -> None:
    # The identities are a contract with the server: a derivation that changed between two
    # versions of the hub would create every resource again when an exam is resent.
    data = bundle_dict(example_exam())
    expected = [
        (PATIENT_URL, create("Patient", by_id(RESIDENTS, "res-0042"))),
        (SOFTWARE_URL, create("Device", by_id(URI, SOFTWARE_URL))),
        (STETHOSCOPE_URL, create("Device", by_id(URI, STETHOSCOPE_URL))),
        (urn(HEART), create("Media", by_id(URI, urn(HEART)))),
        (HEART_RATE_URL, create("Observation", by_id(URI, HEART_RATE_URL))),
        (MURMUR_URL, create("Observation", by_id(URI, MURMUR_URL))),
        (IRREGULAR_URL, create("Observation", by_id(URI, IRREGULAR_URL))),
        (urn(LUNG), create("Media", by_id(URI, urn(LUNG)))),
        (BREATHING_RATE_URL, create("Observation", by_id(URI, BREATHING_RATE_URL))),
        (WHEEZE_URL, create("Observation", by_id(URI, WHEEZE_URL))),
        (CRACKLES_URL, create("Observation", by_id(URI, CRACKLES_URL))),
        (urn(FAILED), create("Media", by_id(URI, urn(FAILED)))),
        (urn(EXAM), create("DiagnosticReport", by_id(URI, urn(EXAM)))),
        (
            PRELIMINARY_PROVENANCE,
            create("Provenance", f"_tag={PROVENANCE_TAGS}|{PRELIMINARY_PROVENANCE}"),
        ),
    ]
    assert [(e["fullUrl"], e["request"]) for e in data["entry"]] == expected
    for e in data["entry"][1:-1]:  # every UUID identity but the Provenance's, which has none
        assert e["resource"]["identifier"] == [{"system": URI, "value": e["fullUrl"]}]
    assert resource(data, PATIENT_URL) == {
        "resourceType": "Patient",
        "identifier": [{"system": RESIDENTS, "value": "res-0042"}],
    }
    provenance = resource(data, PRELIMINARY_PROVENANCE)
    assert provenance["meta"] == {
        "tag": [{"system": PROVENANCE_TAGS, "code": PRELIMINARY_PROVENANCE}]
    }


def test_a_decision_replaces_the_observations_and_report_and_adds_a_second_provenance() -> None:
    data = bundle_dict(decided(example_exam()))
    for url in [*OBSERVATION_URLS, urn(EXAM)]:
        kind = entry(data, url)["resource"]["resourceType"]
        assert entry(data, url)["request"] == {
            "method": "PUT",
            "url": f"{kind}?identifier={URI}|{url}",
        }
    for url in (PATIENT_URL, SOFTWARE_URL, STETHOSCOPE_URL, urn(HEART)):
        assert entry(data, url)["request"]["method"] == "POST"  # unchanged: found, not replaced
    # A Provenance of its own (the decision), so the preliminary one on the server stays.
    assert entry(data, FINAL_PROVENANCE)["request"] == create(
        "Provenance", f"_tag={PROVENANCE_TAGS}|{FINAL_PROVENANCE}"
    )
    assert resources(data, "Provenance")[0]["meta"]["tag"][0]["code"] == FINAL_PROVENANCE


def test_each_stethoscope_is_one_device_and_each_software_version_another() -> None:
    exam = example_exam()
    exam = with_recording(exam, 1, device="steth-2")  # the lung recorded with a second one
    data = bundle_dict(dataclasses.replace(exam, software=Software("stetho-edge", "0.2.0")))
    second = urn(uuid5(NAMESPACE, "Device/stethoscope/oak-hill/steth-2"))
    software = urn(uuid5(NAMESPACE, "Device/software/stetho-edge/0.2.0"))
    devices = [e["fullUrl"] for e in data["entry"] if e["resource"]["resourceType"] == "Device"]
    assert devices == [software, STETHOSCOPE_URL, second]  # steth-1 once, for two recordings
    assert resource(data, urn(HEART))["device"] == ref(STETHOSCOPE_URL, "Device")
    assert resource(data, urn(LUNG))["device"] == ref(second, "Device")
    assert resource(data, urn(FAILED))["device"] == ref(STETHOSCOPE_URL, "Device")
    assert resource(data, CRACKLES_URL)["device"] == ref(second, "Device")
    assert resource(data, second)["deviceName"] == [
        {"name": "oak-hill/steth-2", "type": "user-friendly-name"}
    ]


# ---- Devices


def test_the_devices_are_the_stethoscope_and_the_analysis_software() -> None:
    data = bundle_dict(example_exam())
    assert resource(data, STETHOSCOPE_URL) == {
        "resourceType": "Device",
        "identifier": [{"system": URI, "value": STETHOSCOPE_URL}],
        "status": "active",
        "deviceName": [{"name": "oak-hill/steth-1", "type": "user-friendly-name"}],
        "type": {"text": "Electronic stethoscope"},  # no SNOMED CT code found for one
    }
    assert resource(data, SOFTWARE_URL) == {
        "resourceType": "Device",
        "identifier": [{"system": URI, "value": SOFTWARE_URL}],
        "status": "active",
        "deviceName": [
            {"name": "stetho-edge sound analysis (stetho_signal)", "type": "model-name"}
        ],
        "type": {"text": "Sound analysis software (decision support)"},
        "version": [{"value": "0.1.0"}],
    }


# ---- Observations: vital signs


def test_the_heart_rate_is_a_vital_sign_in_loinc_and_ucum_per_minute() -> None:
    heart_rate = resource(bundle_dict(example_exam()), HEART_RATE_URL)
    assert heart_rate == {
        "resourceType": "Observation",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "identifier": [{"system": URI, "value": HEART_RATE_URL}],
        "status": "preliminary",
        "category": [concept(CATEGORY, "vital-signs", "Vital Signs")],
        "code": concept(LOINC, "8867-4", "Heart rate"),
        "subject": ref(PATIENT_URL, "Patient"),
        "effectivePeriod": {"start": "2026-11-02T09:30:00Z", "end": "2026-11-02T09:30:30Z"},
        "valueQuantity": ucum(78.4, "/min"),
        "bodySite": concept(
            SNOMED, "91134007", "Mitral valve structure", "auscultation site mitral"
        ),
        "method": AUSCULTATION,
        "device": ref(STETHOSCOPE_URL, "Device"),
        "derivedFrom": [ref(urn(HEART), "Media")],
        "component": [{"code": {"text": QUALITY_TEXT}, "valueQuantity": ucum(0.91, "1")}],
    }


def test_the_breathing_rate_is_loinc_respiratory_rate_at_the_lobe_listened_over() -> None:
    rate = resource(bundle_dict(example_exam()), BREATHING_RATE_URL)
    assert rate["code"] == concept(LOINC, "9279-1", "Respiratory rate")
    assert rate["category"] == [concept(CATEGORY, "vital-signs", "Vital Signs")]
    assert rate["valueQuantity"] == ucum(18.0, "/min")
    assert rate["bodySite"] == concept(
        SNOMED,
        "266005",
        "Structure of lower lobe of right lung",
        "auscultation site lung-right-lower",
    )
    assert rate["derivedFrom"] == [ref(urn(LUNG), "Media")]
    assert rate["component"] == [{"code": {"text": QUALITY_TEXT}, "valueQuantity": ucum(0.84, "1")}]


def test_a_rate_goes_to_one_decimal_and_the_quality_score_to_three() -> None:
    exam = with_measurements(example_exam(), 0, heart_rate_bpm=72.46, quality_score=0.91234)
    heart_rate = resource(bundle_dict(exam), HEART_RATE_URL)
    assert heart_rate["valueQuantity"] == ucum(72.5, "/min")
    assert heart_rate["component"][0]["valueQuantity"] == ucum(0.912, "1")


@pytest.mark.parametrize(
    ("code", "interpretation"),
    [
        ("heart_rate_high", ("H", "High")),
        ("heart_rate_low", ("L", "Low")),
        ("heart_rate_very_high", ("HH", "Critical high")),
        ("heart_rate_very_low", ("LL", "Critical low")),
        ("heart_rate_very_low_unconfirmed", ("L", "Low")),  # read from too few beats
        ("heart_rate_out_of_range", ("A", "Abnormal")),  # a flag with no grade of its own
    ],
)
def test_a_rate_flag_is_a_v3_interpretation_and_its_sentence_a_note(
    code: str, interpretation: tuple[str, str]
) -> None:
    flag = RateFlag(code, f"Flagged {code}.", 100.0)
    exam = with_measurements(example_exam(), 0, rate_flags=(flag,))
    heart_rate = resource(bundle_dict(exam), HEART_RATE_URL)
    assert heart_rate["interpretation"] == [concept(INTERPRETATION, *interpretation)]
    assert heart_rate["note"] == [{"text": f"Flagged {code}."}]


def test_a_half_rate_caveat_is_a_note_without_an_interpretation() -> None:
    caveat = RateFlag("heart_possible_half_rate", "May be half the true rate.", None)
    high = RateFlag("heart_rate_high", "Above 100/min.", 100.0)
    breathing = RateFlag("respiratory_rate_high", "Above 20/min.", 20.0)  # not the heart's
    exam = with_measurements(example_exam(), 0, rate_flags=(caveat, high, breathing))
    heart_rate = resource(bundle_dict(exam), HEART_RATE_URL)
    assert heart_rate["interpretation"] == [concept(INTERPRETATION, "H", "High")]
    assert heart_rate["note"] == [
        {"text": "May be half the true rate."},
        {"text": "Above 100/min."},
    ]
    only_caveat = with_measurements(example_exam(), 0, rate_flags=(caveat,))
    heart_rate = resource(bundle_dict(only_caveat), HEART_RATE_URL)
    assert "interpretation" not in heart_rate
    assert heart_rate["note"] == [{"text": "May be half the true rate."}]


def test_a_short_clip_caveat_is_a_note_without_an_interpretation() -> None:
    # A rate read from a clip too short to see a slow heart is neither high nor low: doubted.
    text = "Clip of 5.0 s: a heart slower than 38/min may not show the two whole cycles..."
    caveat = RateFlag("heart_short_clip", text, 6.3)
    exam = with_measurements(example_exam(), 0, rate_flags=(caveat,))
    heart_rate = resource(bundle_dict(exam), HEART_RATE_URL)
    assert "interpretation" not in heart_rate
    assert heart_rate["note"] == [{"text": text}]


def test_a_short_clip_caveat_with_no_rate_read_says_so_where_the_rate_is_missing() -> None:
    # No heart-rate Observation to carry it: the sentence joins the line that says so.
    text = "Clip of 4.0 s: a heart slower than 48/min ... no rate was read ..."
    flags = (RateFlag("heart_short_clip", text, 6.3), RateFlag("heart_rate_low", "Low.", 50.0))
    exam = with_measurements(example_exam(), 0, heart_rate_bpm=None, rate_flags=flags)
    data = bundle_dict(exam)
    heart = f"mitral recording {HEART}: heart rate could not be measured. {text}"
    assert resource(data, urn(HEART))["note"] == [{"text": heart}]
    assert f"Missing: {heart}" in resource(data, urn(EXAM))["conclusion"].split("\n")
    assert HEART_RATE_URL not in {e["fullUrl"] for e in data["entry"]}
    # Each rate's own caveats only.
    lung = with_measurements(example_exam(), 1, respiratory_rate_bpm=None, rate_flags=flags)
    alone = f"lung-right-lower recording {LUNG}: respiratory rate could not be measured."
    assert resource(bundle_dict(lung), urn(LUNG))["note"] == [{"text": alone}]


# ---- Observations: findings


def test_a_suspected_murmur_is_positive_with_its_ratio_against_the_threshold() -> None:
    murmur = resource(bundle_dict(example_exam()), MURMUR_URL)
    assert murmur == {
        "resourceType": "Observation",
        "identifier": [{"system": URI, "value": MURMUR_URL}],
        "status": "preliminary",
        "category": [concept(CATEGORY, "exam", "Exam")],
        "code": concept(SNOMED, "88610006", "Heart murmur"),
        "subject": ref(PATIENT_URL, "Patient"),
        "effectivePeriod": {"start": "2026-11-02T09:30:00Z", "end": "2026-11-02T09:30:30Z"},
        "valueBoolean": True,
        "interpretation": [concept(INTERPRETATION, "POS", "Positive")],
        "note": [
            {
                "text": "Sound in systolic phase is 2.7 times that in diastole (above 2.0): "
                "possible systolic murmur, a hint to listen to the recording, not a finding."
            },
            {"text": NOT_A_DIAGNOSIS},
        ],
        "bodySite": concept(
            SNOMED, "91134007", "Mitral valve structure", "auscultation site mitral"
        ),
        "method": AUSCULTATION,
        "device": ref(STETHOSCOPE_URL, "Device"),
        "derivedFrom": [ref(urn(HEART), "Media")],
        "component": [
            {
                "code": {"text": "energy ratio of the murmur phase to the other phase"},
                "valueQuantity": ucum(2.7, "1"),
                "referenceRange": [{"high": ucum(2.0, "1"), "text": THRESHOLD_TEXT}],
            },
            {"code": {"text": QUALITY_TEXT}, "valueQuantity": ucum(0.91, "1")},
        ],
    }


def test_a_finding_looked_for_and_not_found_is_negative_with_the_quality_alone() -> None:
    irregular = resource(bundle_dict(example_exam()), IRREGULAR_URL)
    assert irregular["code"] == concept(SNOMED, "361137007", "Irregular heart beat")
    assert irregular["category"] == [concept(CATEGORY, "exam", "Exam")]
    assert irregular["valueBoolean"] is False
    assert irregular["interpretation"] == [concept(INTERPRETATION, "NEG", "Negative")]
    assert irregular["component"] == [
        {"code": {"text": QUALITY_TEXT}, "valueQuantity": ucum(0.91, "1")}
    ]
    assert irregular["note"] == [{"text": NOT_A_DIAGNOSIS}]


def test_lung_findings_count_crackles_and_time_wheezes_in_ucum() -> None:
    data = bundle_dict(example_exam())
    crackles = resource(data, CRACKLES_URL)
    assert crackles["code"] == concept(SNOMED, "48409008", "Respiratory crackles")
    assert crackles["interpretation"] == [concept(INTERPRETATION, "POS", "Positive")]
    assert crackles["component"][0] == {
        "code": {"text": "number of crackles"},
        "valueQuantity": ucum(9.0, "{count}"),
        "referenceRange": [{"high": ucum(5.0, "{count}"), "text": THRESHOLD_TEXT}],
    }
    assert resource(data, WHEEZE_URL)["code"] == concept(SNOMED, "56018004", "Wheezing")
    wheeze = Finding(FindingKind.WHEEZE, True, 0.41236, 0.25, "A musical sound of 0.41 s.")
    exam = with_measurements(example_exam(), 1, findings=(wheeze,))
    (measure, _) = resource(bundle_dict(exam), WHEEZE_URL)["component"]
    assert measure == {
        "code": {"text": "longest musical sound"},
        "valueQuantity": ucum(0.4124, "s"),  # four decimals; the threshold as given
        "referenceRange": [{"high": ucum(0.25, "s"), "text": THRESHOLD_TEXT}],
    }


def test_a_measure_without_a_threshold_has_no_reference_range() -> None:
    irregular = Finding(FindingKind.IRREGULAR, True, 0.1234567)
    exam = with_measurements(example_exam(), 0, findings=(irregular,))
    found = resource(bundle_dict(exam), IRREGULAR_URL)
    assert found["component"][0] == {
        "code": {"text": "normalised RMSSD of beat-to-beat intervals"},
        "valueQuantity": ucum(0.1235, "1"),
    }
    assert found["note"] == [{"text": NOT_A_DIAGNOSIS}]


def test_an_opening_snap_goes_as_text_and_an_undecided_finding_not_at_all() -> None:
    snap = Finding(FindingKind.OPENING_SNAP, True, 0.6, 0.5, "A sound after S2 in 60% of beats.")
    undecided = Finding(FindingKind.IRREGULAR, None)
    exam = with_measurements(example_exam(), 0, findings=(snap, undecided))
    data = bundle_dict(exam)
    found = resource(data, urn(uuid5(HEART, "finding/heart_opening_snap")))
    assert found["code"] == {"text": "Possible opening snap (second sound 40-120 ms after S2)"}
    assert found["component"][0]["code"] == {"text": "share of beats with a sound after S2"}
    assert [e["fullUrl"] for e in data["entry"] if e["fullUrl"] == IRREGULAR_URL] == []


# ---- Media


def test_the_recording_is_a_media_of_the_flac_with_its_hash_size_and_link() -> None:
    media = resource(bundle_dict(example_exam()), urn(HEART))
    digest = hashlib.sha1(str(HEART).encode(), usedforsecurity=False).digest()
    assert media == {
        "resourceType": "Media",
        "identifier": [{"system": URI, "value": urn(HEART)}],
        "status": "completed",
        "type": concept("http://terminology.hl7.org/CodeSystem/media-type", "audio", "Audio"),
        "subject": ref(PATIENT_URL, "Patient"),
        "createdPeriod": {"start": "2026-11-02T09:30:00Z", "end": "2026-11-02T09:30:30Z"},
        "bodySite": concept(
            SNOMED, "91134007", "Mitral valve structure", "auscultation site mitral"
        ),
        "device": ref(STETHOSCOPE_URL, "Device"),
        "duration": 30.0,
        "content": {
            "contentType": "audio/flac",
            "url": f"https://hub.example/audio/{HEART}.flac",
            "size": 152_318,
            "hash": base64.b64encode(digest).decode(),
            "title": f"mitral heart sounds, recording {HEART}",
            "creation": "2026-11-02T09:30:00Z",
        },
    }


def test_the_media_duration_goes_to_the_millisecond() -> None:
    exam = example_exam()
    start = exam.recordings[0].started_at
    exam = with_recording(exam, 0, ended_at=start + timedelta(seconds=12.34567))
    assert resource(bundle_dict(exam), urn(HEART))["duration"] == 12.346


def test_the_media_notes_say_what_the_sound_went_through_then_what_is_missing() -> None:
    exam = with_recording(example_exam(), 0, partial=True, gaps_s=0.5)
    exam = with_measurements(exam, 0, mains_hum_hz=(50.0, 150.0), faint_level_dbfs=-75.3)
    exam = with_recording(exam, 0, audio=AudioFile(152_318, None, None))
    media = resource(bundle_dict(exam), urn(HEART))
    where = f"mitral recording {HEART}"
    assert [n["text"] for n in media["note"]] == [
        PARTIAL,
        "0.50 s of audio were lost on the radio link and filled.",
        "Mains hum at 50 Hz and 150 Hz in the audio (a mains-powered device near the "
        "stethoscope); taken out before the analysis, whose measurements are of the sound "
        "without it.",
        "Faint recording (band at -75 dBFS, under the usual -65 dBFS: a stethoscope at low "
        "gain), clear enough for the analysis; turn the volume up to listen.",
        f"{where}: audio hash unknown (the FLAC was not at hand).",
        f"{where}: audio not published on the hub (no URL).",
    ]
    assert "hash" not in media["content"] and "url" not in media["content"]


def test_a_clean_recording_has_no_note_and_a_failed_one_says_why() -> None:
    data = bundle_dict(example_exam())
    assert "note" not in resource(data, urn(HEART))  # no gap (0 s), no hum, not faint
    assert resource(data, urn(FAILED))["note"] == [{"text": PARTIAL}, {"text": TRACHEA_FAILED}]
    with_gap = with_recording(example_exam(), 0, gaps_s=0.004)
    assert resource(bundle_dict(with_gap), urn(HEART))["note"] == [
        {"text": "0.00 s of audio were lost on the radio link and filled."}
    ]


# ---- DiagnosticReport: what is missing, and why


def test_the_report_gathers_the_exam_and_says_what_is_missing() -> None:
    data = bundle_dict(example_exam())
    assert resource(data, urn(EXAM)) == {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": URI, "value": urn(EXAM)}],
        "status": "preliminary",
        "code": concept(SNOMED, "37931006", "Auscultation", "Auscultation, protocol heart-lung-3"),
        "subject": ref(PATIENT_URL, "Patient"),
        "effectivePeriod": {"start": "2026-11-02T09:30:00Z", "end": "2026-11-02T09:33:00Z"},
        "issued": "2026-11-02T09:33:00Z",
        "result": [ref(url, "Observation") for url in OBSERVATION_URLS],
        "media": [
            {"comment": "mitral (heart)", "link": ref(urn(HEART), "Media")},
            {"comment": "lung-right-lower (lung)", "link": ref(urn(LUNG), "Media")},
            {"comment": "trachea (lung)", "link": ref(urn(FAILED), "Media")},
        ],
        "conclusion": f"{AWAITING}\nMissing: {TRACHEA_FAILED}",
    }
    no_protocol = bundle_dict(dataclasses.replace(example_exam(), protocol=None))
    assert resource(no_protocol, urn(EXAM))["code"] == AUSCULTATION


def test_the_doctors_decision_leads_the_conclusion_and_makes_the_report_final() -> None:
    data = bundle_dict(decided(example_exam(), "  Seen: review in a week.  "))
    report = resource(data, urn(EXAM))
    assert report["status"] == "final"
    assert report["conclusion"] == f"Seen: review in a week.\nMissing: {TRACHEA_FAILED}"
    assert {resource(data, url)["status"] for url in OBSERVATION_URLS} == {"final"}


def test_every_recordings_gaps_reach_the_conclusion_and_each_its_own_media() -> None:
    exam = with_measurements(example_exam(), 0, heart_rate_bpm=None, respiratory_rate_bpm=16.0)
    exam = with_measurements(exam, 1, respiratory_rate_bpm=None, heart_rate_bpm=70.0)
    exam = with_recording(exam, 2, analysis_error=None)
    data = bundle_dict(exam)
    heart = f"mitral recording {HEART}: heart rate could not be measured."
    lung = f"lung-right-lower recording {LUNG}: respiratory rate could not be measured."
    trachea = (
        f"trachea recording {FAILED}: analysis failed (no analysis was received); "
        "no measurements, the sound is attached."
    )
    assert resource(data, urn(EXAM))["conclusion"] == "\n".join(
        [AWAITING, f"Missing: {heart}", f"Missing: {lung}", f"Missing: {trachea}"]
    )
    assert resource(data, urn(HEART))["note"] == [{"text": heart}]
    assert resource(data, urn(LUNG))["note"] == [{"text": lung}]
    assert resource(data, urn(FAILED))["note"] == [{"text": PARTIAL}, {"text": trachea}]


# ---- Provenance


def test_the_provenance_names_the_agent_and_the_software_over_the_exam() -> None:
    data = bundle_dict(example_exam())
    targets = [urn(HEART), *OBSERVATION_URLS[:3], urn(LUNG), *OBSERVATION_URLS[3:]]
    assert resource(data, PRELIMINARY_PROVENANCE) == {
        "resourceType": "Provenance",
        "meta": {"tag": [{"system": PROVENANCE_TAGS, "code": PRELIMINARY_PROVENANCE}]},
        "target": [{"reference": url} for url in [*targets, urn(FAILED), urn(EXAM)]],
        "occurredPeriod": {"start": "2026-11-02T09:30:00Z", "end": "2026-11-02T09:33:00Z"},
        "recorded": "2026-11-02T09:33:00Z",
        "agent": [
            {
                "type": concept(PARTICIPANT, "author", "Author"),
                "who": {
                    "type": "Device",
                    "identifier": {"system": AGENTS, "value": "oak-hill/pi-1"},
                    "display": "stetho-edge agent pi-1 at care home oak-hill",
                },
            },
            {
                "type": concept(PARTICIPANT, "assembler", "Assembler"),
                "who": ref(SOFTWARE_URL, "Device"),
            },
        ],
    }


def test_the_decisions_provenance_adds_the_doctor_as_verifier_when_decided() -> None:
    provenance = resource(bundle_dict(decided(example_exam())), FINAL_PROVENANCE)
    assert provenance["recorded"] == "2026-11-02T11:33:00Z"  # the decision, not the exam
    assert provenance["occurredPeriod"] == {
        "start": "2026-11-02T09:30:00Z",
        "end": "2026-11-02T09:33:00Z",
    }
    assert provenance["agent"][2] == {
        "type": concept(PARTICIPANT, "verifier", "Verifier"),
        "who": {
            "type": "Practitioner",
            "identifier": {"system": f"{AGENTS}/doctor", "value": "dr-17"},
        },
    }


# ---- the JSON text and its errors


def test_bundle_json_is_compact_or_indented_and_keeps_non_ascii_text() -> None:
    exam = decided(example_exam(), "Vu : contrôle échographique à 15 jours.")
    bundle = build_bundle(exam)
    compact = bundle_json(bundle)
    assert "\n" not in compact and "contrôle échographique" in compact
    indented = bundle_json(bundle, indent=2)
    assert indented.startswith('{\n  "resourceType": "Bundle",\n  "identifier": {\n    "system"')


def test_text_that_is_not_a_bundle_is_refused_with_its_error_count() -> None:
    with pytest.raises(BundleInvalidError, match=r"^not a valid Bundle: 1 errors$"):
        parse_bundle('{"resourceType": "Bundle"}')


def test_the_bundle_is_validated_whole_as_well_as_resource_by_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second line: a resource the per-resource check let through still stops the Bundle.
    monkeypatch.setattr(bundle_module, "validate_resource", lambda data: None)
    exam = with_recording(example_exam(), 0, audio=AudioFile(10, None, None, ""))
    with pytest.raises(
        BundleInvalidError, match=rf"(?s)^exam {EXAM}: Bundle invalid: .*contentType"
    ):
        build_bundle(exam)
