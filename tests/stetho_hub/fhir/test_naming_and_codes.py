"""Codes checked offline, the hospital's identifier systems from the config, unconfirmed rates."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from stetho_hub.config import load_config
from stetho_hub.errors import HubConfigError
from stetho_hub.fhir import Naming, RateFlag, build_bundle, bundle_json
from stetho_hub.fhir._ids import is_identifier_system
from stetho_hub.fhir.codes import BODY_SITES, FINDINGS, HEART_RATE, RESPIRATORY_RATE
from stetho_hub.fhir.example import example_exam
from stetho_hub.fhir.from_saved import audio_url
from tests.stetho_hub.fhir.helpers import resources


def _loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit (the Luhn scheme) of the part before the hyphen."""
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10


def test_loinc_codes_carry_their_own_check_digit() -> None:
    for code, _ in (HEART_RATE, RESPIRATORY_RATE):
        number, check = code.split("-")
        assert _loinc_check_digit(number) == int(check), code
    assert _loinc_check_digit("8867") != 5  # the check itself catches a typo


def test_snomed_codes_are_concept_identifiers() -> None:
    # An SCTID's last three digits are a partition id and a check digit; "00" is a concept.
    for code, display in [*BODY_SITES.values(), *FINDINGS.values()]:
        assert code.isdigit() and 6 <= len(code) <= 18 and code[0] != "0", code
        assert code[-3:-1] == "00", f"{code} {display} is not a concept id"


@pytest.mark.parametrize(
    ("value", "absolute"),
    [
        ("https://hospital.example/fhir/resident-id", True),
        ("http://hospital.example/ids", True),
        ("urn:oid:1.2.250.1.71.4.2.1", True),
        ("https://hospital.example/{site}/ids", True),
        ("ftp://hospital.example/ids", False),  # not a scheme the hospital's record takes
        ("hospital.example/ids", False),  # relative
        ("https://hospital.example/resident ids", False),  # a space is no URI
        ("urn:oid 1.2.250", False),
    ],
)
def test_an_identifier_system_is_an_absolute_uri(value: str, absolute: bool) -> None:
    assert is_identifier_system(value) is absolute


def _bundle(exam: object, naming: Naming | None = None) -> dict[str, object]:
    data: dict[str, object] = json.loads(bundle_json(build_bundle(exam, naming)))  # type: ignore[arg-type]
    return data


def test_the_configured_identifier_systems_reach_every_resource(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(
        '[database]\nsqlite = "hub.db"\n[fhir]\n'
        'resident_system = "https://chu.example.be/sid/{site}/resident"\n'
        'agent_system = "urn:oid:1.2.3.4"\n',
        encoding="utf-8",
    )
    naming = Naming(**load_config(path).fhir.systems())
    exam = example_exam()
    bundle = _bundle(exam, naming)
    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"][0]["system"] == f"https://chu.example.be/sid/{exam.site}/resident"
    provenance = resources(bundle, "Provenance")[0]
    assert provenance["agent"][0]["who"]["identifier"]["system"] == "urn:oid:1.2.3.4"
    assert "stetho-edge.example" in provenance["meta"]["tag"][0]["system"]  # left unset


@pytest.mark.parametrize(
    ("fhir", "expected"),
    [
        ('base_url = "https://fhir.chu.example.be/r4"\n', "fhir.resident_system is required"),
        ('resident_system = "chu residents"\n', "fhir.resident_system: expected an absolute URI"),
        ('audio_url = "http://hub/{recording_id}"\n', "fhir.audio_url"),
    ],
)
def test_identifier_systems_must_be_set_before_sending(
    tmp_path: Path, fhir: str, expected: str
) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(f'[database]\nsqlite = "hub.db"\n[fhir]\n{fhir}', encoding="utf-8")
    with pytest.raises(HubConfigError) as caught:
        load_config(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_audio_url_is_a_template_or_a_folder() -> None:
    assert audio_url(None, "abc") is None
    assert audio_url("https://hub/recordings/{recording_id}/audio", "abc") == (
        "https://hub/recordings/abc/audio"
    )
    assert audio_url("https://hub/audio/", "abc") == "https://hub/audio/abc.flac"


@pytest.mark.parametrize(
    ("index", "code", "loinc"),
    [
        (0, "heart_rate_very_high_unconfirmed", "8867-4"),
        (1, "respiratory_rate_very_high_during_auscultation", "9279-1"),
    ],
)
def test_a_critical_band_rate_kept_to_a_review_is_high_not_critical(
    index: int, code: str, loinc: str
) -> None:
    exam = example_exam()
    recording = exam.recordings[index]
    assert recording.measurements is not None
    flag = RateFlag(code, "A rate in the critical band, kept to a review.", 25.0)
    measured = dataclasses.replace(recording.measurements, rate_flags=(flag,))
    recordings = list(exam.recordings)
    recordings[index] = dataclasses.replace(recording, measurements=measured)
    bundle = _bundle(dataclasses.replace(exam, recordings=tuple(recordings)))
    rate = next(
        o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == loinc
    )
    assert [c["code"] for i in rate["interpretation"] for c in i["coding"]] == ["H"]
