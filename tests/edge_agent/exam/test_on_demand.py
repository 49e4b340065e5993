"""On-demand recordings (sans-I/O): nothing until asked, then exactly the duration, or less."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.pipeline.on_demand import OnDemandSegmenter
from edge_agent.wire.recording import Gap, RecordingContext

RATE = 1000
CTX = RecordingContext("home", "pi", "steth-1", "res-1", "mitral", "heart")


def _block(n: int, value: float = 0.1) -> np.ndarray:
    return np.full(n, value, dtype=np.float32)


def test_nothing_is_recorded_until_started_then_exactly_the_duration() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    assert seg.feed(_block(500), 0.0) == [] and seg.take_appended() == []
    rid = seg.start(CTX, 1.2, "nurse-a")
    assert seg.busy and seg.holder == "nurse-a"
    assert seg.feed(_block(500), 10.0, (Gap(2100, 50),), first_sample=2000) == []
    assert seg.progress() == (0.5, 1.2)
    done = seg.feed(_block(1000), 10.5)
    assert len(done) == 1 and not seg.busy
    capture = done[0]
    assert capture.recording_id == rid and capture.started_at == 10.0
    assert len(capture.samples) == 1200 and not capture.partial
    assert [(g.start_sample, g.length) for g in capture.gaps] == [(100, 50)]
    assert sum(len(p.samples) for p in seg.take_appended()) == 1200
    assert seg.context_for(rid) == CTX and seg.context_for(rid) is None


def test_stop_keeps_a_shorter_recording_and_flush_a_partial_one() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 5.0, "button")
    seg.feed(_block(300), 0.0)
    assert seg.stop()
    (short,) = seg.feed(_block(300), 0.3)
    assert len(short.samples) == 300 and not short.partial
    assert not seg.stop()
    seg.start(CTX, 5.0, "nurse-a")
    seg.feed(_block(200), 1.0)
    partial = seg.flush()
    assert partial is not None and partial.partial and len(partial.samples) == 200
    with pytest.raises(ValueError):
        seg.start(CTX, 0.0, "nurse-a")


def test_a_second_start_while_recording_is_a_bug_not_a_race() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 1.0, "nurse-a")
    with pytest.raises(RuntimeError, match="nurse-a"):
        seg.start(CTX, 1.0, "nurse-b")
