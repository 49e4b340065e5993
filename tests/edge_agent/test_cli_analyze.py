"""`stetho analyze` keeps its JSON contract, including for files it cannot read."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from firmware_bridge.flac import SITE_TAG, encode_flac
from stetho_sim.synth import synthesize

KEYS = {"file", "sample_rate_hz", "duration_s", "kind", "quality", "heart", "lung", "triage"}


def stetho(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stetho_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_json_lines_follow_the_contract_and_bad_files_do_not_stop_the_rest(tmp_path: Path) -> None:
    heart = synthesize("tachycardia", duration_s=12, sample_rate_hz=4000, seed=3)
    flac = tmp_path / "heart.flac"
    sf.write(flac, heart.samples, 4000, subtype="PCM_16")
    wav = tmp_path / "heart44k.wav"
    sf.write(wav, np.repeat(heart.samples, 11), 44000, subtype="PCM_16")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")

    run = stetho("analyze", "--json", str(flac), str(broken), str(wav), str(empty))
    assert run.returncode != 0
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(flac), str(broken), str(wav), str(empty)]
    good = [line for line in lines if "error" not in line]
    assert len(good) == 2
    for line in good:
        assert set(line) == KEYS
        assert set(line["quality"]) == {"score", "acceptable", "problems"}
        assert set(line["heart"]) == {"rate_bpm", "s1_s", "s2_s", "irregular", "murmur_suspected"}
        assert line["lung"] is None
        assert line["triage"]["level"] in ("review", "urgent")
        assert all(
            set(f) == {"code", "reason", "value", "threshold"} for f in line["triage"]["flags"]
        )
    assert all(set(line) == {"file", "error"} for line in lines if "error" in line)


def test_table_output_for_a_lung_recording(tmp_path: Path) -> None:
    lung = synthesize("wheeze", duration_s=15, sample_rate_hz=8000, seed=1)
    path = tmp_path / "lung.wav"
    sf.write(path, lung.samples, 8000)
    # Named as a nurse types it: a long temporary path would wrap in the 80-column table.
    run = stetho("analyze", "--kind", "lung", path.name, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "lung.wav" in run.stdout and "RR" in run.stdout


def test_the_kind_follows_the_site_tag_of_a_flac_unless_given(tmp_path: Path) -> None:
    """A doctor analysing a downloaded lung recording gets the lung analysis without --kind."""
    lung = synthesize("wheeze", duration_s=15, sample_rate_hz=4000, seed=1)
    tagged, plain = tmp_path / "tagged.flac", tmp_path / "plain.flac"
    sf.write(plain, lung.samples, 4000, subtype="PCM_16")
    pcm = (np.clip(lung.samples, -1, 1) * 32767).astype(np.int16)
    tagged.write_bytes(encode_flac(pcm, 4000, {SITE_TAG: "lung-right-lower"}))

    run = stetho("analyze", "--json", str(tagged), str(plain))
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["kind"] for line in run.stdout.splitlines()] == ["lung", "heart"]
    run = stetho("analyze", "--json", "--kind", "heart", str(tagged))
    assert json.loads(run.stdout)["kind"] == "heart"


def test_unreadable_paths_get_sentences_a_person_can_act_on(tmp_path: Path) -> None:
    heart = synthesize("normal", duration_s=4, sample_rate_hz=4000, seed=1)
    whole = tmp_path / "whole.flac"
    sf.write(whole, heart.samples, 4000, subtype="PCM_16")
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(whole.read_bytes()[:200])
    missing = tmp_path / "missing.wav"
    run = stetho("analyze", "--json", str(missing), str(tmp_path), str(truncated))
    errors = [json.loads(line)["error"] for line in run.stdout.splitlines()]
    assert errors[0] == "no such file"
    assert errors[1] == "a folder: give the audio files in it"
    assert errors[2].startswith("cannot read audio: not a WAV, FLAC or Ogg file")
    for error in errors:
        assert "System error" not in error and "psf_" not in error


def test_age_band_selects_the_paediatric_ranges(tmp_path: Path) -> None:
    heart = synthesize("tachycardia", duration_s=12, sample_rate_hz=4000, seed=3)
    path = tmp_path / "heart.wav"
    sf.write(path, heart.samples, 4000, subtype="PCM_16")
    adult = json.loads(stetho("analyze", "--json", "--kind", "heart", str(path)).stdout)
    child = stetho("analyze", "--json", "--kind", "heart", "--age-band", "under_1", str(path))
    assert child.returncode == 0, child.stderr
    infant = json.loads(child.stdout)
    rate = adult["heart"]["rate_bpm"]
    assert rate == infant["heart"]["rate_bpm"] and 120 < rate < 160
    assert adult["triage"]["level"] != "routine"
    assert infant["triage"]["level"] == "routine"  # APLS under 1 year: 110-160
    wrong = stetho("analyze", "--age-band", "toddler", str(path))
    assert wrong.returncode == 2 and "toddler" in wrong.stderr


def test_analyze_triages_with_the_configured_thresholds(tmp_path: Path) -> None:
    heart = synthesize("normal", duration_s=12, sample_rate_hz=4000, seed=2)  # about 72/min
    wav = tmp_path / "heart.wav"
    sf.write(wav, heart.samples, 4000, subtype="PCM_16")
    config = tmp_path / "agent.toml"
    config.write_text(
        'site = "home-1"\n[analysis.thresholds]\n'
        "heart_rate_review_high_bpm = 60.0\nheart_rate_urgent_high_bpm = 65.0\n"
    )
    default = json.loads(stetho("analyze", "--json", str(wav)).stdout)
    configured = json.loads(stetho("analyze", "--json", "--config", str(config), str(wav)).stdout)
    assert default["triage"]["level"] == "routine"
    assert configured["triage"]["level"] == "urgent"
    assert any(f["threshold"] == 65.0 for f in configured["triage"]["flags"])


def test_the_table_says_the_mains_hum_taken_out(tmp_path: Path) -> None:
    heart = synthesize("mains-hum", duration_s=12, sample_rate_hz=4000, seed=2)
    sf.write(tmp_path / "hum.wav", heart.samples, 4000)
    run = stetho("analyze", "--kind", "heart", "hum.wav", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "hum 50 Hz taken out" in run.stdout, run.stdout


def test_the_table_says_a_faint_recording_was_analysed(tmp_path: Path) -> None:
    lungs = synthesize("low-gain", duration_s=12, sample_rate_hz=4000, seed=2)
    sf.write(tmp_path / "faint.wav", lungs.samples, 4000, subtype="PCM_16")
    run = stetho("analyze", "--kind", "lung", "--json", "faint.wav", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    quality = json.loads(run.stdout)["quality"]
    assert quality["acceptable"] is True and -80.0 < quality["faint_level_dbfs"] < -65.0
    table = stetho("analyze", "--kind", "lung", "faint.wav", cwd=tmp_path)
    assert "raise the gain" in table.stdout and "(poor)" not in table.stdout, table.stdout
