"""Patient, Device, Media, DiagnosticReport and Provenance of one exam, as plain dicts."""

from __future__ import annotations

import base64
from typing import Any

from stetho_hub.fhir import _ids, codes
from stetho_hub.fhir.records import ExamRecord, RecordingRecord, Software
from stetho_signal.quality import FAINT_BELOW_DBFS


def patient(identity: _ids.Identity) -> dict[str, Any]:
    """The resident by identifier only: no name, birth date or anything else leaves the hub."""
    return {"resourceType": "Patient", "identifier": [identity.identifier()]}


def stethoscope(identity: _ids.Identity, site: str, device: str) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "identifier": [identity.identifier()],
        "status": "active",
        "deviceName": [{"name": f"{site}/{device}", "type": codes.DEVICE_NAME_TYPE}],
        "type": {"text": "Electronic stethoscope"},
    }


def software(identity: _ids.Identity, sw: Software) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "identifier": [identity.identifier()],
        "status": "active",
        "deviceName": [{"name": sw.name, "type": "model-name"}],
        "type": {"text": "Sound analysis software (decision support)"},
        "version": [{"value": sw.version}],
    }


def media(
    rec: RecordingRecord,
    identity: _ids.Identity,
    refs: dict[str, dict[str, Any]],
    missing: list[str],
) -> dict[str, Any]:
    """The FLAC as an Attachment: size and SHA-1 of the bytes (base64), as FHIR wants."""
    attachment: dict[str, Any] = {
        "contentType": rec.audio.content_type,
        "size": rec.audio.size_bytes,
        "title": f"{rec.auscultation_site} {rec.kind} sounds, recording {rec.recording_id}",
        "creation": rec.started_at.isoformat(),
    }
    if rec.audio.url is not None:
        attachment["url"] = rec.audio.url
    if rec.audio.sha1 is not None:
        attachment["hash"] = base64.b64encode(rec.audio.sha1).decode()
    resource: dict[str, Any] = {
        "resourceType": "Media",
        "identifier": [identity.identifier()],
        "status": "completed",
        "type": codes.concept(codes.MEDIA_TYPE, "audio", "Audio"),
        "subject": refs["patient"],
        "createdPeriod": {"start": rec.started_at.isoformat(), "end": rec.ended_at.isoformat()},
        "device": refs["stethoscope"],
        "bodySite": codes.body_site(rec.auscultation_site),
        "duration": round(rec.duration_s, 3),
        "content": attachment,
    }
    notes = _media_notes(rec) + missing
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def _media_notes(rec: RecordingRecord) -> list[str]:
    notes = []
    if rec.partial:
        notes.append("Capture stopped early (shutdown or link lost): the recording is partial.")
    if rec.gaps_s > 0:
        notes.append(f"{rec.gaps_s:.2f} s of audio were lost on the radio link and filled.")
    # The audio is kept as recorded; the analysis measured it without its mains hum.
    hum = rec.measurements.mains_hum_hz if rec.measurements is not None else ()
    if hum:
        at = " and ".join(f"{hz:.0f} Hz" for hz in hum)
        notes.append(
            f"Mains hum at {at} in the audio (a mains-powered device near the stethoscope); "
            "taken out before the analysis, whose measurements are of the sound without it."
        )
    level = rec.measurements.faint_level_dbfs if rec.measurements is not None else None
    if level is not None:
        notes.append(
            f"Faint recording (band at {level:.0f} dBFS, under the usual {FAINT_BELOW_DBFS:.0f} "
            "dBFS: a stethoscope at low gain), clear enough for the analysis; turn the volume "
            "up to listen."
        )
    return notes


def diagnostic_report(
    exam: ExamRecord,
    identity: _ids.Identity,
    refs: dict[str, Any],
    status: str,
    missing: list[str],
) -> dict[str, Any]:
    """The exam: its Observations as results, its recordings as media, the disposition."""
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": [identity.identifier()],
        "status": status,
        "code": codes.concept(codes.SNOMED, *codes.AUSCULTATION),
        "subject": refs["patient"],
        "effectivePeriod": {
            "start": exam.started_at.isoformat(),
            "end": exam.closed_at.isoformat(),
        },
        "issued": exam.closed_at.isoformat(),
        "result": refs["results"],
        "media": [
            {
                "comment": f"{rec.auscultation_site} ({rec.kind})",
                "link": _ids.media(rec.recording_id).reference(),
            }
            for rec in exam.recordings
        ],
    }
    if exam.protocol:
        report["code"] = {**report["code"], "text": f"Auscultation, protocol {exam.protocol}"}
    lines = []
    if exam.disposition is not None:
        lines.append(exam.disposition.text.strip())
    else:
        lines.append("Awaiting a clinician's review: machine measurements only.")
    lines += [f"Missing: {text}" for text in missing]
    report["conclusion"] = "\n".join(lines)
    return report


def provenance(
    exam: ExamRecord,
    tag: dict[str, str],
    targets: list[dict[str, Any]],
    refs: dict[str, Any],
    agent_system: str,
) -> dict[str, Any]:
    """Who produced the Bundle: the care-home agent, the analysis software, the doctor."""
    agents: list[dict[str, Any]] = [
        {
            "type": codes.concept(codes.PARTICIPANT_TYPE, "author", "Author"),
            "who": {
                "identifier": {"system": agent_system, "value": f"{exam.site}/{exam.agent}"},
                "type": "Device",
                "display": f"stetho-edge agent {exam.agent} at care home {exam.site}",
            },
        },
        {
            "type": codes.concept(codes.PARTICIPANT_TYPE, "assembler", "Assembler"),
            "who": refs["software"],
        },
    ]
    if exam.disposition is not None:
        agents.append(
            {
                "type": codes.concept(codes.PARTICIPANT_TYPE, "verifier", "Verifier"),
                "who": {
                    "identifier": {
                        "system": f"{agent_system}/doctor",
                        "value": exam.disposition.by,
                    },
                    "type": "Practitioner",
                },
            }
        )
    recorded = exam.disposition.decided_at if exam.disposition else exam.closed_at
    return {
        "resourceType": "Provenance",
        "meta": {"tag": [tag]},
        "target": targets,
        "occurredPeriod": {
            "start": exam.started_at.isoformat(),
            "end": exam.closed_at.isoformat(),
        },
        "recorded": recorded.isoformat(),
        "agent": agents,
    }
