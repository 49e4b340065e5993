"""The Bundle builder: every resource validates, the mapping holds, resends are identical."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from stetho_hub.fhir import (
    AudioFile,
    BundleInvalidError,
    InvalidInputError,
    build_bundle,
    bundle_json,
    parse_bundle,
)
from stetho_hub.fhir.codes import BODY_SITES, LOINC, SNOMED, UCUM
from stetho_hub.fhir.example import example_exam
from tests.stetho_hub.fhir.helpers import (
    bundle_dict,
    decided,
    exam_variant,
    import_refused,
    resources,
)


def _codes(concept: dict[str, object]) -> set[tuple[object, object]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}  # type: ignore[index,union-attr]


def test_every_entry_validates_and_the_bundle_round_trips_through_json_unchanged() -> None:
    for exam in (example_exam(), decided(example_exam())):
        text = bundle_json(build_bundle(exam))
        data = json.loads(text)
        for entry in data["entry"]:
            get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(
                entry["resource"]
            )
        again = bundle_json(Bundle.model_validate_json(text))
        assert again == text
        assert bundle_json(parse_bundle(text.encode())) == text


def test_the_same_exam_always_yields_the_same_bytes() -> None:
    assert bundle_json(build_bundle(example_exam())) == bundle_json(build_bundle(example_exam()))


def test_every_entry_is_a_conditional_create_on_its_identifier_and_references_resolve() -> None:
    data = bundle_dict(example_exam())
    assert data["type"] == "transaction"
    full_urls = {e["fullUrl"] for e in data["entry"]}
    assert len(full_urls) == len(data["entry"])
    for entry in data["entry"]:
        request = entry["request"]
        assert request["method"] == "POST"
        assert request["ifNoneExist"].startswith(("identifier=", "_tag="))
    refs = [m.group(1) for m in re.finditer(r'"reference": "([^"]+)"', json.dumps(data))]
    assert refs and all(ref in full_urls for ref in refs)


def test_patient_is_an_identifier_and_nothing_else() -> None:
    (patient,) = resources(bundle_dict(example_exam()), "Patient")
    assert set(patient) == {"resourceType", "identifier"}
    assert patient["identifier"][0]["value"] == "res-0042"
    assert "oak-hill" in patient["identifier"][0]["system"]


def test_vital_signs_carry_loinc_ucum_auscultation_and_the_body_site() -> None:
    obs = resources(bundle_dict(example_exam()), "Observation")
    rates = {
        o["code"]["coding"][0]["code"]: o for o in obs if o["code"]["coding"][0]["system"] == LOINC
    }
    assert set(rates) == {"8867-4", "9279-1"}
    heart = rates["8867-4"]
    assert heart["status"] == "preliminary"
    assert heart["category"][0]["coding"][0]["code"] == "vital-signs"
    assert heart["valueQuantity"] == {"value": 78.4, "unit": "/min", "system": UCUM, "code": "/min"}
    assert (SNOMED, "37931006") in _codes(heart["method"])
    assert (SNOMED, BODY_SITES["mitral"][0]) in _codes(heart["bodySite"])
    assert (SNOMED, BODY_SITES["lung-right-lower"][0]) in _codes(rates["9279-1"]["bodySite"])
    assert heart["derivedFrom"][0]["type"] == "Media"


def test_findings_carry_value_threshold_and_quality() -> None:
    obs = resources(bundle_dict(example_exam()), "Observation")
    by_code = {o["code"]["coding"][0]["code"]: o for o in obs}
    crackles = by_code["48409008"]
    assert crackles["valueBoolean"] is True
    measure, quality = crackles["component"]
    assert measure["valueQuantity"]["value"] == 9.0
    assert measure["referenceRange"][0]["high"]["value"] == 5.0
    assert quality["valueQuantity"]["value"] == 0.84
    assert by_code["56018004"]["valueBoolean"] is False  # wheeze looked for, not found
    assert set(by_code) >= {"88610006", "361137007", "56018004", "48409008"}


def test_media_hash_is_base64_sha1_of_the_flac_and_size_its_length() -> None:
    flac = b"fLaC" + bytes(range(256)) * 10
    exam = example_exam()
    rec = dataclasses.replace(
        exam.recordings[0],
        audio=AudioFile(
            len(flac), hashlib.sha1(flac, usedforsecurity=False).digest(), "https://h/a.flac"
        ),
    )
    exam = dataclasses.replace(exam, recordings=(rec, *exam.recordings[1:]))
    media = resources(bundle_dict(exam), "Media")[0]
    content = media["content"]
    assert content["contentType"] == "audio/flac"
    assert content["size"] == len(flac)
    assert base64.b64decode(content["hash"]) == hashlib.sha1(flac, usedforsecurity=False).digest()
    assert content["url"] == "https://h/a.flac"


def test_a_failed_recording_still_yields_a_valid_bundle_that_says_what_is_missing() -> None:
    data = bundle_dict(example_exam())
    failed = next(m for m in resources(data, "Media") if "trachea" in m["content"]["title"])
    assert "analysis failed" in failed["note"][-1]["text"]
    derived = [
        o
        for o in resources(data, "Observation")
        if o["derivedFrom"][0]["reference"] == failed["identifier"][0]["value"]
    ]
    assert derived == []
    (report,) = resources(data, "DiagnosticReport")
    assert "Missing: trachea recording" in report["conclusion"]
    assert len(report["media"]) == 3


def test_an_exam_whose_only_recording_failed_is_still_a_valid_bundle() -> None:
    exam = example_exam()
    exam = dataclasses.replace(exam, recordings=(exam.recordings[2],))
    data = bundle_dict(exam)
    assert resources(data, "Observation") == []
    assert "result" not in resources(data, "DiagnosticReport")[0]  # FHIR has no empty arrays


def test_a_disposition_makes_everything_final_and_sends_updates() -> None:
    data = bundle_dict(decided(example_exam()))
    (report,) = resources(data, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["conclusion"].startswith("Seen: refer to cardiology")
    assert all(o["status"] == "final" for o in resources(data, "Observation"))
    methods = {e["resource"]["resourceType"]: e["request"]["method"] for e in data["entry"]}
    assert methods["Observation"] == methods["DiagnosticReport"] == "PUT"
    assert methods["Patient"] == methods["Media"] == "POST"
    (prov,) = resources(data, "Provenance")
    assert [a["type"]["coding"][0]["code"] for a in prov["agent"]] == [
        "author",
        "assembler",
        "verifier",
    ]


def test_provenance_names_the_care_home_agent_and_targets_the_clinical_resources() -> None:
    data = bundle_dict(example_exam())
    (prov,) = resources(data, "Provenance")
    author = prov["agent"][0]["who"]
    assert author["identifier"]["value"] == "oak-hill/pi-1"
    kinds = {e["fullUrl"]: e["resource"]["resourceType"] for e in data["entry"]}
    assert {kinds[t["reference"]] for t in prov["target"]} == {
        "Media",
        "Observation",
        "DiagnosticReport",
    }


def test_devices_name_the_stethoscope_and_the_software_version() -> None:
    devices = resources(bundle_dict(exam_variant(1)), "Device")
    names = {d["deviceName"][0]["name"] for d in devices}
    assert names == {"oak-hill/steth-1", "stetho-edge sound analysis (stetho_signal)"}
    software = next(d for d in devices if "version" in d)
    assert software["version"][0]["value"] == "0.1.0"


def test_unknown_auscultation_site_goes_as_text_without_a_guessed_code() -> None:
    exam = example_exam()
    rec = dataclasses.replace(exam.recordings[0], auscultation_site="left-axilla")
    data = bundle_dict(dataclasses.replace(exam, recordings=(rec,)))
    media = resources(data, "Media")[0]
    assert media["bodySite"] == {"text": "auscultation site left-axilla"}


def test_bad_input_is_refused_with_a_clear_error() -> None:
    exam = example_exam()
    with pytest.raises(InvalidInputError, match="slug"):
        dataclasses.replace(exam, resident="Jane Doe")
    with pytest.raises(InvalidInputError, match="time zone"):
        dataclasses.replace(exam, closed_at=exam.closed_at.replace(tzinfo=None))
    with pytest.raises(InvalidInputError, match="no recording"):
        dataclasses.replace(exam, recordings=())
    with pytest.raises(InvalidInputError, match="20-byte"):
        AudioFile(10, b"abc", None)


def test_a_resource_that_does_not_validate_never_leaves_as_a_bundle() -> None:
    exam = example_exam()
    rec = dataclasses.replace(
        exam.recordings[0], audio=AudioFile(10, None, "not a url with spaces", "")
    )
    with pytest.raises(BundleInvalidError, match="Media"):
        build_bundle(dataclasses.replace(exam, recordings=(rec,)))


def test_without_fhir_resources_the_builder_says_in_one_sentence_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = import_refused(monkeypatch, "stetho_hub.fhir.bundle", "fhir.resources")
    # The first module the import system could not find, as it names it.
    assert str(refused) == (
        "stetho_hub.fhir needs the 'hub' extra (fhir.resources.R4B is missing): "
        "pip install 'stetho-edge[hub]'"
    )
    assert refused.name == "fhir.resources.R4B"
