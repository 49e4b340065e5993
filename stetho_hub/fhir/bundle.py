"""One exam -> one FHIR R4 transaction Bundle, every resource validated (sans-I/O).

Entries are conditional creates (`ifNoneExist` on the identifier derived from the recording
or exam UUID), so sending the same exam twice creates nothing new. Once a doctor has
decided, the Observations and the DiagnosticReport turn `final` and go as conditional
updates (`PUT Type?identifier=...`) so that the earlier `preliminary` copies are replaced,
still without duplicates. FHIR R4 transaction rules: https://hl7.org/fhir/R4/http.html#trules
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import uuid5

from pydantic import ValidationError

from stetho_hub.fhir import _ids, _observations, _resources
from stetho_hub.fhir.errors import BundleInvalidError, hub_extra_missing
from stetho_hub.fhir.records import RATE_CAVEATS, ExamRecord, RecordingRecord

try:  # the `hub` extra: absent on a Pi
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from fhir_core.fhirabstractmodel import FHIRAbstractModel
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise hub_extra_missing(exc) from exc

DEFAULT_SYSTEM_BASE = "https://stetho-edge.example/fhir/sid"


@dataclasses.dataclass(frozen=True)
class Naming:
    """The identifier systems of one deployment (set them to the hospital's own URIs).

    `resident_system` names the care home's resident identifiers; `{site}` in it is
    replaced by the care home's slug. The `.example` defaults are placeholders (RFC 2606).
    """

    resident_system: str = DEFAULT_SYSTEM_BASE + "/care-home/{site}/resident"
    agent_system: str = DEFAULT_SYSTEM_BASE + "/agent"
    provenance_tag_system: str = DEFAULT_SYSTEM_BASE + "/provenance"


def _entry(
    identity: _ids.Identity, resource: dict[str, Any], update: bool = False
) -> dict[str, Any]:
    if update:
        request = {"method": "PUT", "url": f"{identity.resource_type}?{identity.search()}"}
    else:
        request = {
            "method": "POST",
            "url": identity.resource_type,
            "ifNoneExist": identity.search(),
        }
    return {"fullUrl": identity.full_url, "resource": resource, "request": request}


def _missing(rec: RecordingRecord) -> list[str]:
    """What the doctor should know is absent from this recording's resources."""
    where = f"{rec.auscultation_site} recording {rec.recording_id}"
    out = []
    if rec.measurements is None:
        why = rec.analysis_error or "no analysis was received"
        out.append(f"{where}: analysis failed ({why}); no measurements, the sound is attached.")
    else:
        rate = "heart" if rec.kind == "heart" else "respiratory"
        value = (
            rec.measurements.heart_rate_bpm
            if rec.kind == "heart"
            else rec.measurements.respiratory_rate_bpm
        )
        if value is None:
            # A caveat with no rate to go with (a clip too short to rule out a slow heart).
            caveats = [
                f.reason
                for f in rec.measurements.rate_flags
                if f.code in RATE_CAVEATS and f.code.startswith(f"{rate}_")
            ]
            out.append(" ".join([f"{where}: {rate} rate could not be measured.", *caveats]))
    if rec.audio.sha1 is None:
        out.append(f"{where}: audio hash unknown (the FLAC was not at hand).")
    if rec.audio.url is None:
        out.append(f"{where}: audio not published on the hub (no URL).")
    return out


def build_bundle(exam: ExamRecord, naming: Naming | None = None) -> Bundle:
    """The exam's transaction Bundle; raises `BundleInvalidError` if any resource is invalid."""
    naming = naming or Naming()
    final = exam.disposition is not None
    status = "final" if final else "preliminary"
    pat = _ids.patient(naming.resident_system.format(site=exam.site), exam.resident)
    sw = _ids.named("Device", f"software/{exam.software.name}/{exam.software.version}")
    entries = [
        _entry(pat, _resources.patient(pat)),
        _entry(sw, _resources.software(sw, exam.software)),
    ]
    refs: dict[str, Any] = {"patient": pat.reference(), "software": sw.reference()}
    results: list[dict[str, Any]] = []
    missing_all: list[str] = []
    stethoscopes: dict[str, _ids.Identity] = {}
    for rec in exam.recordings:
        dev = stethoscopes.get(rec.device)
        if dev is None:
            dev = _ids.named("Device", f"stethoscope/{exam.site}/{rec.device}")
            stethoscopes[rec.device] = dev
            entries.append(_entry(dev, _resources.stethoscope(dev, exam.site, rec.device)))
        med = _ids.media(rec.recording_id)
        missing = _missing(rec)
        missing_all += missing
        rec_refs = {**refs, "stethoscope": dev.reference(), "media": med.reference()}
        entries.append(_entry(med, _resources.media(rec, med, rec_refs, missing)))
        for obs_id, obs in _observations.observations(rec, rec_refs, status):
            entries.append(_entry(obs_id, obs, update=final))
            results.append(obs_id.reference())
    report_id = _ids.uuid_identity("DiagnosticReport", exam.exam_id)
    report = _resources.diagnostic_report(
        exam, report_id, {**refs, "results": results}, status, missing_all
    )
    entries.append(_entry(report_id, report, update=final))
    entries.append(_provenance_entry(exam, naming, entries, refs))
    return _validated_bundle(exam, entries)


def _provenance_entry(
    exam: ExamRecord, naming: Naming, entries: list[dict[str, Any]], refs: dict[str, Any]
) -> dict[str, Any]:
    # Provenance has no identifier element in R4: a tag carries its identity instead,
    # and `_tag` is a search parameter every resource has.
    revision = "final" if exam.disposition else "preliminary"
    prov_uuid = uuid5(exam.exam_id, f"provenance/{revision}")
    tag = {"system": naming.provenance_tag_system, "code": f"urn:uuid:{prov_uuid}"}
    targets = [
        {"reference": e["fullUrl"]}
        for e in entries
        if e["resource"]["resourceType"] not in ("Patient", "Device")
    ]
    resource = _resources.provenance(exam, tag, targets, refs, naming.agent_system)
    return {
        "fullUrl": f"urn:uuid:{prov_uuid}",
        "resource": resource,
        "request": {
            "method": "POST",
            "url": "Provenance",
            "ifNoneExist": f"_tag={tag['system']}|{tag['code']}",
        },
    }


def _validated_bundle(exam: ExamRecord, entries: list[dict[str, Any]]) -> Bundle:
    for entry in entries:
        validate_resource(entry["resource"])
    data = {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{exam.exam_id}"},
        "type": "transaction",
        "timestamp": (
            exam.disposition.decided_at if exam.disposition else exam.closed_at
        ).isoformat(),
        "entry": entries,
    }
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        raise BundleInvalidError(f"exam {exam.exam_id}: Bundle invalid: {exc}") from exc


def validate_resource(data: dict[str, Any]) -> FHIRAbstractModel:
    """Validate one resource dict with its R4B model; `BundleInvalidError` names what failed."""
    kind = data.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
        resource = model.model_validate(data)
    except (ValidationError, KeyError, ValueError) as exc:
        raise BundleInvalidError(f"{kind} invalid: {exc}") from exc
    return resource


def bundle_json(bundle: Bundle, indent: int | None = None) -> str:
    """The Bundle as FHIR JSON (no nulls), stable for a given exam."""
    # fhir_core's model_dump defaults to FHIR's names (`class`, `_birthDate`) and no nulls.
    data = bundle.model_dump(mode="json")
    return json.dumps(data, indent=indent, ensure_ascii=False)


def parse_bundle(text: str | bytes) -> Bundle:
    try:
        return Bundle.model_validate_json(text)
    except ValidationError as exc:
        raise BundleInvalidError(f"not a valid Bundle: {exc.error_count()} errors") from exc
