"""Frames the radio lost: silence in the archive, bridged for the analysis. A step into silence
and out again rings in the lung band like a crackle, so a recording with a few lost frames would
otherwise reach the doctor flagged for crackles nobody's lungs made."""

from __future__ import annotations

import uuid

import numpy as np

from edge_agent.pipeline.recordings import process_capture
from edge_agent.wire.recording import Capture, Gap, RecordingContext
from stetho_signal import TriageThresholds
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


def test_unbridged_the_same_silences_would_be_read_as_crackles() -> None:
    samples, _ = _breath_with_lost_frames()
    capture = Capture(uuid.uuid4(), 1_765_000_000.0, RATE, samples, (), False)
    analysis = process_capture(capture, CTX, TriageThresholds()).recording.analysis
    assert analysis is not None and analysis.lung is not None
    assert len(analysis.lung.crackle_times_s) >= 3  # the control: what the bridging prevents
