"""`stetho analyze` reads an archived exam recording with the exam's age band, as the agent did.

The age band picks both the rate thresholds and how fast a breathing is sought (twice the
band's urgent rate, `stetho_signal.lung.shortest_breath_s`). Without the band in the file, an
infant breathing at 72/min that the agent read at 72 (urgent) was read again at 36 (normal).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from edge_agent.cli.analyze import Kind, analyse_file
from edge_agent.pipeline.recordings import process_capture
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.flac import AGE_BAND_TAG
from firmware_bridge.flac_tags import read_vorbis_comments, set_vorbis_comments
from stetho_signal import TriageThresholds
from stetho_sim.sounds import FS_HZ
from tests.stetho_signal.test_breath_rate import _wide_breathing

FAST = "respiratory_rate_very_high_during_auscultation"
INFANT = RecordingContext(
    "home-1", "pi", "steth-1", "res-7", "lung-left-lower", "lung", uuid.uuid4(), "under_1"
)


def _archived(tmp_path: Path, ctx: RecordingContext) -> tuple[Path, float | None, list[str]]:
    """The FLAC the hub archives for a 72/min breathing, the rate and the flags the agent
    read."""
    samples = _wide_breathing(72.0, 20.0, 0).astype(np.float32)
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, int(FS_HZ), samples, (), False)
    done = process_capture(capture, ctx, TriageThresholds())
    path = tmp_path / "archived.flac"
    path.write_bytes(done.outbound[0].payload)
    analysis = done.recording.analysis
    assert analysis is not None and analysis.lung is not None
    return path, analysis.lung.respiratory_rate_bpm, [f.code for f in analysis.triage.flags]


def test_an_infants_recording_is_analysed_again_as_the_agent_analysed_it(tmp_path: Path) -> None:
    path, agent_rate, agent_flags = _archived(tmp_path, INFANT)
    assert agent_rate == pytest.approx(72.0, abs=1.0) and FAST in agent_flags
    assert read_vorbis_comments(path.read_bytes())[AGE_BAND_TAG] == "under_1"
    again = analyse_file(path, Kind.auto, TriageThresholds())
    assert again["lung"]["respiratory_rate_bpm"] == agent_rate
    assert [f["code"] for f in again["triage"]["flags"]] == agent_flags


def test_the_band_given_on_the_command_line_wins_over_the_files(tmp_path: Path) -> None:
    path, _, _ = _archived(tmp_path, INFANT)
    adult = analyse_file(path, Kind.auto, TriageThresholds(), "adult")
    assert adult["lung"]["respiratory_rate_bpm"] == pytest.approx(36.0, abs=1.0)


def test_a_recording_without_an_exam_band_has_no_tag_and_reads_as_an_adult(
    tmp_path: Path,
) -> None:
    timed = RecordingContext("home-1", "pi", "steth-1", "res-7", "lung-left-lower", "lung")
    path, agent_rate, _ = _archived(tmp_path, timed)
    assert AGE_BAND_TAG not in read_vorbis_comments(path.read_bytes())
    assert agent_rate == pytest.approx(36.0, abs=1.0)
    again = analyse_file(path, Kind.auto, TriageThresholds())
    assert again["lung"]["respiratory_rate_bpm"] == agent_rate


def test_a_band_tag_that_is_no_band_is_a_clear_error_for_that_file(tmp_path: Path) -> None:
    path, _, _ = _archived(tmp_path, INFANT)
    tags = {**read_vorbis_comments(path.read_bytes()), AGE_BAND_TAG: "newborn"}
    path.write_bytes(set_vorbis_comments(path.read_bytes(), tags))
    result = analyse_file(path, Kind.auto, TriageThresholds())
    assert result == {
        "file": str(path),
        "error": "its STETHO_AGE_BAND tag 'newborn' is not an age band (adult, under_1, 1_to_2, "
        "2_to_5, 5_to_12, 12_to_16): give --age-band",
    }
    assert "lung" in analyse_file(path, Kind.auto, TriageThresholds(), "under_1")
