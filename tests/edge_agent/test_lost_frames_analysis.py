"""Frames the radio lost: silence in the archive, bridged for the analysis. A step into silence
and out again rings in the lung band like a crackle, so a recording with a few lost frames would
otherwise reach the doctor flagged for crackles nobody's lungs made."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from edge_agent.cli.analyze import Kind, analyse_file
from edge_agent.pipeline.recordings import process_capture
from edge_agent.wire.recording import Capture, Gap, RecordingContext
from firmware_bridge.flac import GAPS_TAG
from firmware_bridge.flac_tags import read_vorbis_comments, set_vorbis_comments
from stetho_signal import TriageThresholds, _ringing
from stetho_sim.sounds import breathing

RATE = 4000
CTX = RecordingContext("home-1", "pi", "steth-1", "res-7", "left-base", "lung")


def _breath_with_lost_frames() -> tuple[np.ndarray, tuple[Gap, ...]]:
    """20 s of clean breathing on a microphone with a DC offset (as many have), three 60 ms
    stretches lost and filled with silence, as the reassembler fills them by default."""
    samples = (breathing(16, 20.0, RATE, seed=0) + 0.1).astype(np.float32)
    gaps = tuple(Gap(int(at * samples.size), int(0.06 * RATE)) for at in (0.3, 0.55, 0.8))
    for gap in gaps:
        samples[gap.start_sample : gap.start_sample + gap.length] = 0.0
    return samples, gaps


def test_lost_frames_are_not_read_as_crackles_and_the_archive_keeps_them_silent() -> None:
    samples, gaps = _breath_with_lost_frames()
    kept = samples.copy()
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, RATE, samples, gaps, False)
    done = process_capture(capture, CTX, TriageThresholds())
    analysis = done.recording.analysis
    assert analysis is not None and analysis.lung is not None
    assert analysis.lung.crackle_times_s == []
    assert done.level == "routine"
    assert [(g.start_s, g.duration_s) for g in done.recording.gaps] == [
        (6.0, 0.06),
        (11.0, 0.06),
        (16.0, 0.06),
    ]
    assert np.array_equal(capture.samples, kept)  # the FLAC is made of the silence as recorded


def test_unbridged_the_same_silences_would_be_read_as_crackles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A step does not ring down as a crackle does: the analysis's own ringing test drops them
    # too (next test). Without it, what the bridging alone prevents.
    monkeypatch.setattr(_ringing, "RINGING_R2", 0.0)
    samples, _ = _breath_with_lost_frames()
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, RATE, samples, (), False)
    analysis = process_capture(capture, CTX, TriageThresholds()).recording.analysis
    assert analysis is not None and analysis.lung is not None
    assert len(analysis.lung.crackle_times_s) >= 3  # the control: what the bridging prevents


def test_unbridged_the_silences_steps_do_not_ring_as_crackles() -> None:
    samples, _ = _breath_with_lost_frames()
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, RATE, samples, (), False)
    done = process_capture(capture, CTX, TriageThresholds())
    assert done.recording.analysis is not None and done.recording.analysis.lung is not None
    assert done.recording.analysis.lung.crackle_times_s == []


def _archived_flac(tmp_path: Path) -> Path:
    samples, gaps = _breath_with_lost_frames()
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, RATE, samples, gaps, False)
    done = process_capture(capture, CTX, TriageThresholds())
    path = tmp_path / "archived.flac"
    path.write_bytes(done.outbound[0].payload)  # the audio, as the hub archives it
    return path


def test_the_archived_file_marks_its_lost_frames_and_stetho_analyze_bridges_them(
    tmp_path: Path,
) -> None:
    path = _archived_flac(tmp_path)
    tags = read_vorbis_comments(path.read_bytes())
    assert json.loads(tags[GAPS_TAG]) == [[24000, 240], [44000, 240], [64000, 240]]
    assert tags["STETHO_LOST_SAMPLES"] == "720"
    result = analyse_file(path, Kind.lung, TriageThresholds())
    assert result["lung"]["crackle_times_s"] == [] and result["triage"]["level"] == "routine"


def test_without_its_gap_tags_the_same_file_reads_the_silences_as_crackles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ringing, "RINGING_R2", 0.0)  # as above: the tags alone
    path = _archived_flac(tmp_path)
    tags = read_vorbis_comments(path.read_bytes())
    del tags[GAPS_TAG]
    path.write_bytes(set_vorbis_comments(path.read_bytes(), tags))
    result = analyse_file(path, Kind.lung, TriageThresholds())
    assert len(result["lung"]["crackle_times_s"]) >= 3  # the control: what the tags prevent


def test_a_damaged_gap_tag_is_a_clear_error_for_that_file(tmp_path: Path) -> None:
    path = _archived_flac(tmp_path)
    tags = read_vorbis_comments(path.read_bytes())
    path.write_bytes(set_vorbis_comments(path.read_bytes(), {**tags, GAPS_TAG: "[[1, 2"}))
    result = analyse_file(path, Kind.lung, TriageThresholds())
    assert result == {
        "file": str(path),
        "error": "STETHO_GAPS tag is not a list of [start_sample, length] pairs of whole "
        "numbers: the lost samples cannot be told from sound",
    }
