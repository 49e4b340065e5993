"""On-demand recordings at their exact edges: each rule of `OnDemandSegmenter`, direct.

A recording asked for by the nurse, the button or a doctor must reach the hospital whole or be
said dropped: its length (the duration rounded to samples), its first sample's time, its gaps
moved into the recording's own sample count and clipped to what it kept, a stop or a lost link
before any sound (nothing kept, `last_dropped` set), and the context it was started with.
Blocks are a constant value per call, so a test can tell which block a sample came from.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from edge_agent.pipeline.on_demand import OnDemandSegmenter
from edge_agent.wire.recording import Gap, RecordingContext

RATE = 1000
CTX = RecordingContext("home", "pi", "steth-1", "res-1", "mitral", "heart")
OTHER = RecordingContext("home", "pi", "steth-1", "res-2", "apex", "lung")


def _block(n: int, value: float = 0.1) -> np.ndarray:
    return np.full(n, value, dtype=np.float32)


def test_an_idle_segmenter_keeps_nothing_and_says_so() -> None:
    seg = OnDemandSegmenter(RATE)
    assert seg.sample_rate_hz == RATE
    assert not seg.busy and seg.holder is None and seg.progress() is None
    assert seg.last_dropped is None
    assert seg.feed(_block(10), 1.0) == [] and seg.flush() is None
    assert not seg.stop() and seg.last_dropped is None


def test_pieces_are_kept_for_the_journal_only_when_asked() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 0.01, "nurse-a")
    assert len(seg.feed(_block(10), 0.0)) == 1
    assert seg.take_appended() == []


def test_the_length_is_the_duration_rounded_to_samples() -> None:
    # 1.6 samples round to 2 (truncating would give 1); 2.4 to 2.
    for duration_s, want in ((0.0016, 2), (0.0024, 2), (0.0025, 2), (0.0035, 4)):
        seg = OnDemandSegmenter(RATE)
        seg.start(CTX, duration_s, "nurse-a")
        assert seg.progress() == (0.0, want / RATE)
        (capture,) = seg.feed(_block(10), 0.0)
        assert len(capture.samples) == want


def test_a_duration_must_be_positive_and_the_smallest_positive_one_is_taken() -> None:
    seg = OnDemandSegmenter(RATE)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"^duration_s must be positive$"):
            seg.start(CTX, bad, "nurse-a")
        assert not seg.busy
    seg.start(CTX, 1e-9, "nurse-a")
    assert seg.busy and seg.holder == "nurse-a"


def test_a_second_start_names_the_device_and_who_holds_it() -> None:
    seg = OnDemandSegmenter(RATE)
    first = seg.start(CTX, 1.0, "nurse-a")
    with pytest.raises(RuntimeError, match=r"^steth-1 is already recording for nurse-a$"):
        seg.start(OTHER, 1.0, "nurse-b")
    assert seg.holder == "nurse-a" and seg.peek_context(first) == CTX


def test_each_recording_has_its_own_id_and_context_until_asked_for() -> None:
    seg = OnDemandSegmenter(RATE)
    a = seg.start(CTX, 0.005, "nurse-a")
    seg.feed(_block(5), 0.0)
    b = seg.start(OTHER, 0.005, "doctor")
    assert isinstance(a, uuid.UUID) and a != b
    assert seg.peek_context(a) == CTX and seg.peek_context(a) == CTX
    assert seg.peek_context(b) == OTHER
    assert seg.context_for(a) == CTX and seg.context_for(a) is None
    assert seg.peek_context(a) is None and seg.peek_context(b) == OTHER
    assert seg.context_for(uuid.uuid4()) is None


def test_a_recording_ends_at_its_length_exactly_and_the_rest_is_not_taken() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    rid = seg.start(CTX, 0.010, "nurse-a")
    assert seg.feed(_block(4, 0.1), 100.0) == []
    assert seg.progress() == (0.004, 0.010)
    assert seg.feed(_block(5, 0.2), 100.004) == []
    assert seg.busy and seg.progress() == (0.009, 0.010)
    (capture,) = seg.feed(_block(7, 0.3), 100.009)
    assert not seg.busy and seg.holder is None and seg.progress() is None
    assert capture.recording_id == rid and capture.started_at == 100.0
    assert capture.sample_rate_hz == RATE and capture.partial is False and capture.gaps == ()
    want = np.array([0.1] * 4 + [0.2] * 5 + [0.3], dtype=np.float32)
    assert capture.samples.dtype == np.float32
    np.testing.assert_array_equal(capture.samples, want)
    pieces = seg.take_appended()
    assert [(p.recording_id, p.started_at, p.start_sample) for p in pieces] == [
        (rid, 100.0, 0),
        (rid, 100.0, 4),
        (rid, 100.0, 9),
    ]
    assert [len(p.samples) for p in pieces] == [4, 5, 1]
    assert all(p.samples.dtype == np.float32 and p.gaps == () for p in pieces)
    assert seg.take_appended() == []
    assert seg.last_dropped is None


def test_samples_of_another_type_are_kept_as_float32() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    seg.start(CTX, 0.003, "nurse-a")
    (capture,) = seg.feed(np.array([0.5, -0.25, 1.0], dtype=np.float64), 0.0)
    assert capture.samples.dtype == np.float32
    assert capture.samples.tolist() == [0.5, -0.25, 1.0]
    (piece,) = seg.take_appended()
    assert piece.samples.dtype == np.float32


def test_gaps_are_counted_from_the_recording_and_clipped_to_what_it_kept() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    seg.start(CTX, 0.020, "nurse-a")
    # First block: source samples 1000..1009. A gap that began before the block (995, 10) keeps
    # its part inside (0, 5); one inside (1007, 2); one wholly before (990, 10) none.
    gaps = (Gap(990, 10), Gap(995, 10), Gap(1007, 2))
    assert seg.feed(_block(10), 5.0, gaps, first_sample=1000) == []
    # Second block: 2000..2009, of which only 10 are wanted. A gap at its very start (2000, 1);
    # one running past the end (2008, 5) keeps (18, 2); one wholly after what is kept and one
    # right at its end (2010, 3) none.
    gaps = (Gap(2000, 1), Gap(2008, 5), Gap(2010, 3), Gap(2030, 1))
    (capture,) = seg.feed(_block(15), 5.01, gaps, first_sample=2000)
    assert [(g.start_sample, g.length) for g in capture.gaps] == [(0, 5), (7, 2), (10, 1), (18, 2)]
    pieces = seg.take_appended()
    assert [[(g.start_sample, g.length) for g in p.gaps] for p in pieces] == [
        [(0, 5), (7, 2)],
        [(10, 1), (18, 2)],
    ]


def test_a_gap_without_a_first_sample_is_counted_from_the_block() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 0.010, "nurse-a")
    (capture,) = seg.feed(_block(10), 0.0, (Gap(3, 4),))
    assert [(g.start_sample, g.length) for g in capture.gaps] == [(3, 4)]


def test_a_gap_ending_exactly_where_the_block_begins_is_none_of_it() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 0.010, "nurse-a")
    (capture,) = seg.feed(_block(10), 0.0, (Gap(90, 10),), first_sample=100)
    assert capture.gaps == ()


def test_a_stop_ends_the_recording_at_the_next_block_keeping_what_came() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    rid = seg.start(CTX, 5.0, "button")
    seg.feed(_block(3, 0.1), 7.0)
    seg.take_appended()
    assert seg.stop() and seg.busy  # stopped, not yet closed
    assert seg.stop()  # asking twice is harmless
    (capture,) = seg.feed(_block(4, 0.9), 7.003)
    assert capture.recording_id == rid and capture.started_at == 7.0
    assert capture.partial is False and capture.samples.tolist() == pytest.approx([0.1] * 3)
    assert seg.take_appended() == []  # the block after the stop is not taken
    assert not seg.busy and seg.last_dropped is None
    assert seg.context_for(rid) == CTX  # kept for whoever handles the capture


def test_a_stop_before_any_sound_drops_the_recording_and_says_which() -> None:
    seg = OnDemandSegmenter(RATE, track_appends=True)
    rid = seg.start(CTX, 5.0, "nurse-a")
    assert seg.stop()
    assert seg.feed(_block(4), 1.0) == []
    assert not seg.busy and seg.last_dropped == rid
    assert seg.peek_context(rid) is None and seg.take_appended() == []
    # The next recording is started and kept as usual; the drop stays told until another.
    again = seg.start(CTX, 0.002, "nurse-a")
    assert len(seg.feed(_block(4), 2.0)) == 1 and seg.last_dropped == rid
    assert again != rid


def test_flush_closes_a_started_recording_as_partial() -> None:
    seg = OnDemandSegmenter(RATE)
    rid = seg.start(CTX, 5.0, "nurse-a")
    seg.feed(_block(2, 0.1), 3.0)
    seg.feed(_block(1, 0.2), 3.002)
    capture = seg.flush()
    assert capture is not None and capture.partial
    assert capture.recording_id == rid and capture.started_at == 3.0
    assert capture.samples.tolist() == pytest.approx([0.1, 0.1, 0.2])
    assert not seg.busy and seg.last_dropped is None and seg.flush() is None
    assert seg.peek_context(rid) == CTX


def test_flush_before_any_sound_drops_the_recording_and_says_which() -> None:
    seg = OnDemandSegmenter(RATE)
    rid = seg.start(CTX, 5.0, "nurse-a")
    assert seg.flush() is None
    assert not seg.busy and seg.last_dropped == rid and seg.peek_context(rid) is None
    other = seg.start(OTHER, 5.0, "doctor")
    assert seg.stop() and seg.feed(_block(1), 0.0) == [] and seg.last_dropped == other


def test_a_recording_dates_from_its_first_block_not_the_start_call() -> None:
    seg = OnDemandSegmenter(RATE)
    seg.start(CTX, 0.004, "nurse-a")
    seg.feed(_block(2), 50.0)
    (capture,) = seg.feed(_block(2), 50.002)
    assert capture.started_at == 50.0
    assert capture.ended_at == pytest.approx(50.004)


def test_a_context_already_taken_does_not_stop_a_drop() -> None:
    # Whoever asked for the context early (`context_for` forgets it) must not turn the drop at
    # a lost link into an error that skips the rest of the device loop's cleanup.
    for end in ("flush", "stop"):
        seg = OnDemandSegmenter(RATE)
        rid = seg.start(CTX, 5.0, "nurse-a")
        assert seg.context_for(rid) == CTX
        if end == "flush":
            assert seg.flush() is None
        else:
            assert seg.stop() and seg.feed(_block(2), 0.0) == []
        assert not seg.busy and seg.last_dropped == rid
