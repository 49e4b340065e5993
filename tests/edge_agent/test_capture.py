import numpy as np
import pytest

from edge_agent.pipeline.capture import Segmenter
from firmware_bridge.reassembly import Gap


def blocks(total: int, size: int) -> list[np.ndarray]:
    ramp = np.arange(total, dtype=np.float32)
    return [ramp[i : i + size] for i in range(0, total, size)]


def test_recordings_follow_the_schedule_in_samples() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=2, interval_s=5)
    done = []
    for index, block in enumerate(blocks(1500, 37)):
        done += seg.feed(block, start_time=1000.0 + index * 37 / 100)
    assert len(done) == 3
    for n, capture in enumerate(done):
        assert len(capture.samples) == 200
        assert capture.samples[0] == n * 500  # starts every 5 s of audio
        assert capture.started_at == pytest.approx(1000.0 + n * 5)
        assert capture.partial is False
        assert capture.samples.dtype == np.float32
    assert len({c.recording_id for c in done}) == 3


def test_gaps_are_carried_into_recording_coordinates() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=2, interval_s=2)
    out = seg.feed(np.zeros(150, np.float32), 0.0, gaps=(Gap(120, 50),))
    out += seg.feed(np.zeros(150, np.float32), 1.5, gaps=(Gap(0, 10),))
    assert [(g.start_sample, g.length) for g in out[0].gaps] == [(120, 30), (150, 10)]


def test_flush_returns_partial_recording_in_progress() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=10, interval_s=10)
    assert seg.feed(np.ones(250, np.float32), 0.0) == []
    partial = seg.flush()
    assert partial is not None and partial.partial and len(partial.samples) == 250
    assert seg.flush() is None


def test_rejects_non_positive_schedule() -> None:
    with pytest.raises(ValueError):
        Segmenter(100, 0, 10)


def test_a_count_stops_recording_after_that_many() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=2, interval_s=3, count=2)
    done = seg.feed(np.zeros(1000, np.float32), 0.0)
    assert len(done) == 2 and seg.left == 0
    assert seg.feed(np.zeros(1000, np.float32), 10.0) == [] and seg.flush() is None


def test_a_partial_recording_counts_and_a_new_segmenter_takes_what_is_left() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=2, interval_s=2, count=3)
    assert len(seg.feed(np.zeros(250, np.float32), 0.0)) == 1
    partial = seg.flush()  # the link dropped mid-recording
    assert partial is not None and partial.partial and seg.left == 1
    after = Segmenter(sample_rate_hz=100, duration_s=2, interval_s=2, count=seg.left)
    assert len(after.feed(np.zeros(1000, np.float32), 5.0)) == 1 and after.left == 0
    assert Segmenter(100, 2, 2).left is None  # no count: without end
    with pytest.raises(ValueError, match="negative"):
        Segmenter(100, 2, 2, count=-1)


def test_samples_of_any_float_type_are_kept_as_float32() -> None:
    (capture,) = Segmenter(100, 1, 1).feed(np.linspace(-1, 1, 100), 0.0)  # float64 in
    assert capture.samples.dtype == np.float32 and capture.samples[0] == -1.0


def test_a_gap_is_placed_from_the_streams_count_and_the_recordings_start() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=1, interval_s=2)
    assert len(seg.feed(np.zeros(150, np.float32), 0.0, first_sample=1000)) == 1
    # This block skips 50 samples, then records 50: a gap in the skipped part is not the
    # recording's; one at block samples 60-70 is at 10-20 of the recording.
    block_gaps = (Gap(1150, 50), Gap(1210, 10))
    assert seg.feed(np.zeros(100, np.float32), 1.5, block_gaps, first_sample=1150) == []
    (capture,) = seg.feed(np.zeros(50, np.float32), 2.5, (Gap(1260, 5),), first_sample=1250)
    assert [(g.start_sample, g.length) for g in capture.gaps] == [(10, 10), (60, 5)]


def test_a_recording_of_one_sample_is_kept_at_shutdown() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=1, interval_s=1)
    assert seg.flush() is None  # nothing in progress: nothing to keep, and feeding goes on
    seg.feed(np.ones(1, np.float32), 0.0)
    partial = seg.flush()
    assert partial is not None and partial.partial is True and partial.samples.size == 1
    assert len(seg.feed(np.ones(100, np.float32), 1.0)) == 1


@pytest.mark.parametrize(("duration_s", "interval_s"), [(0, 1), (1, 0), (-1, 1)])
def test_a_schedule_that_is_not_positive_is_refused(duration_s: float, interval_s: float) -> None:
    with pytest.raises(ValueError, match=r"^duration_s and interval_s must be positive$"):
        Segmenter(100, duration_s, interval_s)


def test_a_count_of_zero_records_nothing() -> None:
    seg = Segmenter(sample_rate_hz=100, duration_s=1, interval_s=1, count=0)
    assert seg.feed(np.zeros(500, np.float32), 0.0) == [] and seg.flush() is None
