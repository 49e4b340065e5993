"""From what `stetho alerts --save` keeps to a Bundle, and the `stetho fhir FILE` command."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge_agent.pipeline.recordings import process_capture
from edge_agent.wire import messages
from edge_agent.wire.recording import Capture, RecordingContext
from stetho_hub.fhir import InvalidInputError, build_bundle, bundle_json, load_saved
from stetho_hub.fhir.cli import app
from stetho_hub.fhir.records import Measurements
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize
from tests.firmware_bridge.test_flac_mismatch import flac_of_other_pcm_same_size
from tests.stetho_hub.fhir.helpers import resources

T0 = 1_793_000_000.0


def _save(directory: Path, scenario: str, site: str, seconds: float) -> tuple[Path, bytes]:
    """Run the agent's own pipeline on a synthetic sound and save it as `--save` does."""
    kind = "heart" if site == "mitral" else "lung"
    samples = synthesize(scenario, seconds, 4000, seed=1).samples
    capture = Capture(uuid.uuid4(), T0, 4000, samples, (), partial=seconds < 1)
    ctx = RecordingContext("oak-hill", "pi-1", "steth-1", "res-0042", site, kind)
    processed = process_capture(capture, ctx, TriageThresholds())
    flac = processed.outbound[0].payload
    rid = processed.recording.recording_id
    path = directory / f"{rid}.recording.json"
    path.write_bytes(messages.to_json(processed.recording))
    (directory / f"{rid}.flac").write_bytes(flac)
    return path, flac


def test_a_saved_murmur_recording_becomes_a_bundle_with_the_real_flac_hash(tmp_path: Path) -> None:
    path, flac = _save(tmp_path, "murmur", "mitral", 12.0)
    exam = load_saved(path, "https://hub.example/audio")
    data = json.loads(bundle_json(build_bundle(exam)))
    (media,) = resources(data, "Media")
    assert media["content"]["size"] == len(flac)
    digest = hashlib.sha1(flac, usedforsecurity=False).digest()
    assert base64.b64decode(media["content"]["hash"]) == digest
    assert media["content"]["url"].endswith(f"{exam.recordings[0].recording_id}.flac")
    codes = {o["code"]["coding"][0]["code"] for o in resources(data, "Observation")}
    assert "8867-4" in codes and "88610006" in codes


def test_a_saved_lung_recording_maps_respiratory_findings(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "crackles", "lung-left-lower", 15.0)
    data = json.loads(bundle_json(build_bundle(load_saved(path))))
    obs = resources(data, "Observation")
    codes = {o["code"]["coding"][0]["code"] for o in obs}
    assert {"56018004", "48409008"} <= codes
    assert all(o["bodySite"]["coding"][0]["code"] == "41224006" for o in obs)
    (media,) = resources(data, "Media")
    assert "url" not in media["content"]  # no hub URL given: said in a note instead
    assert any("no URL" in n["text"] for n in media["note"])


def test_a_recording_too_short_to_analyse_still_yields_a_valid_bundle(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "normal", "mitral", 0.5)
    (path.parent / path.name.replace(".recording.json", ".flac")).unlink()
    data = json.loads(bundle_json(build_bundle(load_saved(path))))
    assert resources(data, "Observation") == []
    (report,) = resources(data, "DiagnosticReport")
    assert "analysis failed" in report["conclusion"]
    assert "audio hash unknown" in report["conclusion"]


def test_fhir_command_prints_a_bundle_and_refuses_bad_files_without_a_traceback(
    tmp_path: Path,
) -> None:
    path, _ = _save(tmp_path, "normal", "mitral", 8.0)
    runner = CliRunner()
    result = runner.invoke(app, ["build", str(path), "--audio-base-url", "https://hub/a"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["type"] == "transaction"
    bad = tmp_path / "bad.recording.json"
    bad.write_text('{"schema": "stetho.alert"}')
    result = runner.invoke(app, ["build", str(bad)])
    assert result.exit_code == 1
    assert "not a saved stetho.recording" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["build", str(tmp_path / "missing.recording.json")])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_a_flac_beside_that_is_not_the_recordings_own_is_refused(tmp_path: Path) -> None:
    """Its size and hash would go to the hospital record as the recording's."""
    path, flac = _save(tmp_path, "normal", "mitral", 8.0)
    beside = path.with_name(path.name.replace(".recording.json", ".flac"))
    for audio, problem in (
        (flac[:-10], "audio_size_mismatch"),
        (b"x" * len(flac), "audio_undecodable"),
        (flac_of_other_pcm_same_size(flac), "audio_mismatch"),
    ):
        beside.write_bytes(audio)
        with pytest.raises(InvalidInputError, match=rf"is not the audio .* names \({problem}\)"):
            load_saved(path)
        result = CliRunner().invoke(app, ["build", str(path)])
        assert result.exit_code == 1 and problem in result.stderr
    beside.write_bytes(flac)
    assert load_saved(path).recordings[0].audio.size_bytes == len(flac)


@pytest.mark.parametrize("url", ["http://hub/a", "hub/a", "", "ftp://hub/a"])
def test_an_audio_url_without_tls_is_a_usage_error(tmp_path: Path, url: str) -> None:
    path, _ = _save(tmp_path, "normal", "mitral", 8.0)
    result = CliRunner().invoke(app, ["build", str(path), "--audio-base-url", url])
    assert result.exit_code == 2 and "--audio-base-url must start with https://" in result.stderr
    assert result.stdout == ""


def test_load_saved_refuses_an_oversized_file(tmp_path: Path) -> None:
    big = tmp_path / "big.recording.json"
    big.write_bytes(b" " * 1_000_001)
    with pytest.raises(InvalidInputError, match="larger"):
        load_saved(big)


def _heart_bundle_with(directory: Path, flag: messages.Flag) -> Any:
    """The Bundle of a saved normal heart recording whose triage also carries ``flag``."""
    path, _ = _save(directory, "normal", "mitral", 12.0)
    saved = messages.RecordingMessage.model_validate_json(path.read_bytes())
    assert saved.analysis is not None
    saved.analysis.triage.flags.append(flag)
    path.write_bytes(messages.to_json(saved))
    return json.loads(bundle_json(build_bundle(load_saved(path))))


def test_an_opening_snap_goes_as_a_text_finding_never_a_guessed_code(tmp_path: Path) -> None:
    reason = "A second sound 80 ms after S2 in 90% of beats (at least 75%): possible opening snap."
    data = _heart_bundle_with(tmp_path, messages.Flag(
        code="heart_opening_snap", reason=reason, value=0.9, threshold=0.75
    ))  # fmt: skip
    (snap,) = [o for o in resources(data, "Observation") if "coding" not in o["code"]]
    assert "opening snap" in snap["code"]["text"] and snap["valueBoolean"] is True
    assert snap["component"][0]["valueQuantity"]["value"] == 0.9
    assert snap["note"][0]["text"] == reason


def test_a_rate_that_may_be_half_carries_its_caveat_without_a_grade(tmp_path: Path) -> None:
    reason = "Heart rate may be twice the read value (168 rather than 84 beats/min): ..."
    data = _heart_bundle_with(tmp_path, messages.Flag(
        code="heart_possible_half_rate", reason=reason, value=84.0, threshold=1.0
    ))  # fmt: skip
    (rate,) = [
        o
        for o in resources(data, "Observation")
        if o["code"].get("coding", [{}])[0].get("code") == "8867-4"
    ]
    assert [n["text"] for n in rate["note"]] == [reason]
    assert "interpretation" not in rate  # a doubt about the count, not a high or low rate


def test_mains_hum_is_said_of_the_audio_not_of_the_measurements(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "mains-hum", "mitral", 8.0)
    exam = load_saved(path)
    assert exam.recordings[0].measurements is not None
    assert exam.recordings[0].measurements.mains_hum_hz == (50.0,)
    data = json.loads(bundle_json(build_bundle(exam)))
    (media,) = resources(data, "Media")
    hum = [n["text"] for n in media["note"] if "hum" in n["text"]]
    assert hum == [
        "Mains hum at 50 Hz in the audio (a mains-powered device near the stethoscope); taken "
        "out before the analysis, whose measurements are of the sound without it."
    ]
    # The quality score the Observations carry is the analysis's, hum or not; no other note.
    for obs in resources(data, "Observation"):
        assert not any("hum" in n["text"] for n in obs.get("note", []))
    plain, _ = _save(tmp_path, "normal", "mitral", 8.0)
    (media,) = resources(json.loads(bundle_json(build_bundle(load_saved(plain)))), "Media")
    assert not any("hum" in n["text"] for n in media.get("note", []))


@pytest.mark.parametrize("hum", [(float("nan"),), (0.0,), (50.0, -60.0)])
def test_a_mains_hum_of_no_meaning_is_refused(hum: tuple[float, ...]) -> None:
    with pytest.raises(InvalidInputError, match="mains hum must be finite frequencies"):
        Measurements(0.9, True, "routine", mains_hum_hz=hum)


def test_a_faint_recording_is_said_of_the_audio(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "low-gain", "lung-left-base", 8.0)
    exam = load_saved(path)
    measured = exam.recordings[0].measurements
    assert measured is not None and measured.faint_level_dbfs is not None
    assert measured.quality_acceptable
    data = json.loads(bundle_json(build_bundle(exam)))
    (media,) = resources(data, "Media")
    said = [n["text"] for n in media["note"] if "Faint" in n["text"]]
    assert said == [
        f"Faint recording (band at {measured.faint_level_dbfs:.0f} dBFS, under the usual -65 "
        "dBFS: a stethoscope at low gain), clear enough for the analysis; turn the volume up to "
        "listen."
    ]
    plain, _ = _save(tmp_path, "lung-normal", "lung-left-base", 8.0)
    (media,) = resources(json.loads(bundle_json(build_bundle(load_saved(plain)))), "Media")
    assert not any("Faint" in n["text"] for n in media.get("note", []))


@pytest.mark.parametrize("level", [float("nan"), 0.0, 3.0, -200.0, float("-inf")])
def test_a_faint_level_of_no_meaning_is_refused(level: float) -> None:
    with pytest.raises(InvalidInputError, match="a faint level must be in"):
        Measurements(0.9, True, "routine", faint_level_dbfs=level)


@pytest.mark.parametrize("system", ["not a url", "hospital.example/sid", "https://h/a b"])
def test_a_resident_system_that_is_no_absolute_uri_is_a_usage_error(
    tmp_path: Path, system: str
) -> None:
    # Before: printed a Bundle whose Patient.identifier.system was "not a url", though the
    # command says "validated" and the hub's [fhir] resident_system refuses the same value.
    path, _ = _save(tmp_path, "normal", "mitral", 8.0)
    result = CliRunner().invoke(app, ["build", str(path), "--resident-system", system])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "--resident-system: expected an absolute URI such as https://hospital.example/sid/x" in (
        " ".join(result.stderr.split())
    )


def test_a_resident_system_with_the_site_placeholder_is_filled_in(tmp_path: Path) -> None:
    path, _ = _save(tmp_path, "normal", "mitral", 8.0)
    system = "https://hospital.example/sid/care-home/{site}/resident"
    result = CliRunner().invoke(app, ["build", str(path), "--resident-system", system])
    assert result.exit_code == 0, result.output
    assert "https://hospital.example/sid/care-home/oak-hill/resident" in result.stdout
