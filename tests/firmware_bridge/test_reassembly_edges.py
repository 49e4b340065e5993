"""Reassembly, exactly: what each push returns, the window's edges, flags kept, limits held."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.codec import AudioFrame, FrameFlags
from firmware_bridge.reassembly import Chunk, Fill, Gap, Reassembler, ReassemblyStats, bridged

N = 100  # samples per frame
RATE = 4000


def frame(
    first: int, value: int = 1000, n: int = N, flags: FrameFlags = FrameFlags.NONE
) -> AudioFrame:
    return AudioFrame.from_samples(
        np.full(n, value, dtype=np.int16),
        sequence=(first // N) & 0xFFFF,
        sample_index=first & 0xFFFFFFFF,
        sample_rate_hz=RATE,
        flags=flags,
    )


def layout(chunks: list[Chunk]) -> list[tuple[int, int, tuple[Gap, ...]]]:
    return [(c.start_sample, c.samples.size, c.gaps) for c in chunks]


def test_a_full_window_releases_without_flush() -> None:
    r = Reassembler(reorder_depth=2)
    assert layout(r.push(frame(0))) == [(0, N, ())]
    # Frame 1 is lost. 2 and 3 wait in the window (two frames: not yet over its depth).
    assert r.push(frame(2 * N)) == []
    assert r.push(frame(3 * N)) == []
    assert r.position == N
    # The third held frame overflows it: the loss is declared and everything contiguous leaves.
    out = r.push(frame(4 * N))
    assert layout(out) == [(N, N, (Gap(N, N),)), (2 * N, N, ()), (3 * N, N, ()), (4 * N, N, ())]
    assert np.all(out[0].samples == 0.0)
    assert r.position == 5 * N
    assert (r.stats.gaps, r.stats.lost_samples, r.stats.frames) == (1, N, 4)
    assert r.flush() == []


def test_a_forced_release_fills_one_gap_only() -> None:
    r = Reassembler(reorder_depth=2)
    r.push(frame(0))
    r.push(frame(2 * N))
    r.push(frame(4 * N))
    out = r.push(frame(6 * N))
    # Only the oldest loss is declared; the next hole may still be filled by a late frame.
    assert layout(out) == [(N, N, (Gap(N, N),)), (2 * N, N, ())]
    # Three held again (3, 4 and 6): over the depth, so the next hole is declared too.
    assert layout(r.push(frame(3 * N))) == [
        (3 * N, N, ()),
        (4 * N, N, ()),
        (5 * N, N, (Gap(5 * N, N),)),
        (6 * N, N, ()),
    ]
    assert r.flush() == []
    assert r.stats.reordered == 1


def test_depth_zero_releases_every_frame_at_once() -> None:
    r = Reassembler(reorder_depth=0)
    r.push(frame(0))
    assert layout(r.push(frame(2 * N))) == [(N, N, (Gap(N, N),)), (2 * N, N, ())]


def test_chunk_flags_are_kept_frame_by_frame() -> None:
    r = Reassembler(reorder_depth=0)
    clipped = r.push(frame(0, flags=FrameFlags.CLIPPING))
    off_skin = r.push(frame(2 * N, flags=FrameFlags.NO_CONTACT | FrameFlags.STREAM_START))
    assert [c.flags for c in clipped] == [FrameFlags.CLIPPING]
    gap, chunk = off_skin
    assert gap.flags is FrameFlags.NONE  # filled audio claims nothing about the skin
    assert chunk.flags == FrameFlags.NO_CONTACT | FrameFlags.STREAM_START
    assert r.stats.flags_seen == (
        FrameFlags.CLIPPING | FrameFlags.NO_CONTACT | FrameFlags.STREAM_START
    )


def test_flags_of_a_frame_released_from_the_window_are_kept() -> None:
    r = Reassembler(reorder_depth=3)
    r.push(frame(N, flags=FrameFlags.CLIPPING))  # the first frame sets the origin
    r.push(frame(3 * N, flags=FrameFlags.NO_CONTACT))
    out = r.push(frame(2 * N))
    assert [(c.start_sample, c.flags) for c in out] == [
        (N, FrameFlags.NONE),
        (2 * N, FrameFlags.NO_CONTACT),
    ]


def test_samples_are_scaled_to_full_scale_float32() -> None:
    (chunk,) = Reassembler().push(frame(0, value=-16384))
    assert chunk.samples.dtype == np.float32
    assert chunk.samples.tolist() == [-0.5] * N


def test_interpolated_fill_is_a_straight_line_between_the_neighbours() -> None:
    r = Reassembler(fill=Fill.INTERPOLATE, reorder_depth=0)
    r.push(frame(0, value=0))
    gap, _ = r.push(frame(2 * N, value=16384))
    expected = np.linspace(0.0, 0.5, N + 2)[1:-1].astype(np.float32)
    assert gap.samples.dtype == np.float32
    assert np.array_equal(gap.samples, expected)
    assert gap.gaps == (Gap(N, N),)


def test_silence_fill_is_zeros() -> None:
    r = Reassembler(fill=Fill.SILENCE, reorder_depth=0)
    r.push(frame(0, value=8000))
    gap, _ = r.push(frame(2 * N, value=8000))
    assert gap.samples.dtype == np.float32 and gap.samples.tolist() == [0.0] * N


def test_skip_declares_the_outage_and_rebases() -> None:
    r = Reassembler()
    r.push(frame(0, value=16384))
    out = r.skip(50)
    assert layout(out) == [(N, 50, (Gap(N, 50),))]
    assert r.skip(0) == []
    assert r.position == N + 50
    # Whatever its index, the next frame follows the outage.
    assert layout(r.push(frame(987_654))) == [(N + 50, N, ())]


def test_skip_with_interpolation_holds_the_last_value() -> None:
    r = Reassembler(fill=Fill.INTERPOLATE)
    r.push(frame(0, value=16384))
    (gap,) = r.skip(3)
    assert gap.samples.tolist() == [0.5, 0.5, 0.5]


def test_partial_overlap_is_trimmed_and_full_overlap_counted() -> None:
    r = Reassembler(reorder_depth=4)
    r.push(frame(0))
    r.push(frame(2 * N))
    r.push(frame(2 * N + 50))  # overlaps the last half of the frame before it
    r.push(frame(2 * N + 60, n=40))  # lies wholly inside it
    out = r.flush()
    assert layout(out) == [
        (N, N, (Gap(N, N),)),
        (2 * N, N, ()),
        (3 * N, 50, ()),
    ]
    assert r.stats.duplicates == 1


def test_duplicates_in_the_window_and_behind_it_are_counted() -> None:
    r = Reassembler(reorder_depth=4)
    r.push(frame(0))
    r.push(frame(2 * N))
    assert r.push(frame(2 * N)) == []  # already held
    assert r.push(frame(0)) == []  # already emitted
    assert r.stats.duplicates == 2
    assert r.stats.frames == 4


def test_forward_jump_limit_is_inclusive() -> None:
    limit = int(1.0 * RATE)  # max_gap_s * sample rate, in samples
    r = Reassembler(max_gap_s=1.0, reorder_depth=0)
    r.push(frame(0))
    out = r.push(frame(N + limit))  # a loss of exactly max_gap_s: filled
    assert layout(out) == [(N, limit, (Gap(N, limit),)), (N + limit, N, ())]
    assert r.stats.resyncs == 0
    r2 = Reassembler(max_gap_s=1.0, reorder_depth=0)
    r2.push(frame(0))
    out = r2.push(frame(N + limit + 1))  # one sample more: a restart, not a loss
    assert layout(out) == [(N, N, ())]
    assert r2.stats.resyncs == 1 and r2.stats.gaps == 0


def test_backward_limit_is_the_window_plus_one_second() -> None:
    depth = 2
    behind = depth * N + RATE  # late frames within this are duplicates, beyond it a restart
    start = 10 * RATE
    r = Reassembler(reorder_depth=depth)
    r.push(frame(start))
    assert r.push(frame(start + N - behind)) == []
    assert (r.stats.duplicates, r.stats.resyncs) == (1, 0)
    out = r.push(frame(start + N - behind - 1))
    assert layout(out) == [(N, N, ())]  # rebased: it follows on
    assert (r.stats.duplicates, r.stats.resyncs) == (1, 1)


def test_a_resync_first_flushes_what_is_held() -> None:
    r = Reassembler(max_gap_s=1.0, reorder_depth=4)
    r.push(frame(0))
    r.push(frame(2 * N))
    out = r.push(frame(3_000_000_000))
    assert layout(out) == [(N, N, (Gap(N, N),)), (2 * N, N, ()), (3 * N, N, ())]


def test_wrap_of_the_32_bit_index_keeps_positions() -> None:
    r = Reassembler(reorder_depth=0)
    top = (1 << 32) - N
    assert layout(r.push(frame(top))) == [(0, N, ())]
    assert layout(r.push(frame(0))) == [(N, N, ())]
    assert layout(r.push(frame(2 * N))) == [(2 * N, N, (Gap(2 * N, N),)), (3 * N, N, ())]


def test_gap_and_stats_value_objects() -> None:
    Gap(0, 1)
    for start, length in ((-1, 1), (0, 0), (5, -3)):
        with pytest.raises(ValueError, match=f"invalid gap {start}\\+{length}"):
            Gap(start, length)
    assert ReassemblyStats() == ReassemblyStats(0, 0, 0, 0, 0, 0, FrameFlags.NONE)
    assert Chunk(0, np.zeros(1, np.float32)).flags is FrameFlags.NONE
    assert Chunk(0, np.zeros(1, np.float32)).gaps == ()


def test_defaults() -> None:
    r = Reassembler()
    assert (r._fill, r._depth, r._max_gap_s) == (Fill.SILENCE, 4, 30.0)
    assert r.position == 0
    assert Fill("silence") is Fill.SILENCE and Fill("interpolate") is Fill.INTERPOLATE


def ramp_frame(first: int, values: list[int]) -> AudioFrame:
    return AudioFrame.from_samples(
        np.array(values, dtype=np.int16), sequence=0, sample_index=first, sample_rate_hz=RATE
    )


def test_interpolation_before_any_audio_starts_from_zero() -> None:
    (gap,) = Reassembler(fill=Fill.INTERPOLATE).skip(3)
    assert gap.samples.tolist() == [0.0, 0.0, 0.0]


def test_interpolation_runs_from_the_last_sample_to_the_next_first_sample() -> None:
    r = Reassembler(fill=Fill.INTERPOLATE, reorder_depth=0)
    r.push(ramp_frame(0, [0, 0, 8192]))  # ends at 0.25
    gap, _ = r.push(ramp_frame(6, [16384, 0, 0]))  # starts at 0.5
    assert gap.samples.tolist() == [0.25 + 0.25 * k / 4 for k in (1, 2, 3)]
    (held,) = r.skip(1)
    assert held.samples.tolist() == [0.0]  # the last sample emitted was 0


def test_skip_of_one_sample_is_a_gap() -> None:
    r = Reassembler()
    r.push(frame(0))
    assert layout(r.skip(1)) == [(N, 1, (Gap(N, 1),))]


def test_counters_count_every_event() -> None:
    r = Reassembler(reorder_depth=0, max_gap_s=1.0)
    r.push(frame(0))
    r.push(frame(2 * N))
    r.push(frame(4 * N))
    assert (r.stats.gaps, r.stats.lost_samples) == (2, 2 * N)
    r.push(frame(10**9))
    r.push(frame(2 * 10**9))
    assert r.stats.resyncs == 2
    deep = Reassembler(reorder_depth=8)
    for first in (0, 3 * N, 1 * N, 4 * N, 2 * N):
        deep.push(frame(first))
    assert deep.stats.reordered == 2


def test_after_a_resync_positions_follow_the_new_origin() -> None:
    r = Reassembler(reorder_depth=0, max_gap_s=1.0)
    r.push(frame(0))
    r.push(frame(10**9))  # a restart: rebased, follows at N
    out = r.push(frame(10**9 + 2 * N))  # one frame lost after the restart
    assert layout(out) == [(2 * N, N, (Gap(2 * N, N),)), (3 * N, N, ())]


def test_overlaps_exactly_covered_are_dropped_and_the_rest_released() -> None:
    r = Reassembler(reorder_depth=8)
    r.push(frame(0))
    r.push(frame(2 * N))
    r.push(frame(2 * N + 50, n=50))  # ends exactly where the frame before it ends
    r.push(frame(2 * N + 60, n=40))  # likewise
    r.push(frame(3 * N))
    out = r.flush()
    assert layout(out) == [(N, N, (Gap(N, N),)), (2 * N, N, ()), (3 * N, N, ())]
    assert r.stats.duplicates == 2


def test_half_the_index_space_ahead_is_behind() -> None:
    # With no limit on gaps, what decides is the wrap rule: an offset of half the 32-bit
    # space or more is a frame from the past (here: far beyond the window, so a restart).
    r = Reassembler(reorder_depth=4, max_gap_s=1e9)
    r.push(frame(0))
    assert layout(r.push(frame(N + (1 << 31)))) == [(N, N, ())]
    assert r.stats.resyncs == 1
    ahead = Reassembler(reorder_depth=4, max_gap_s=1e9)
    ahead.push(frame(0))
    assert ahead.push(frame(N + (1 << 31) - 4 * N)) == []  # just under half: ahead, held
    assert ahead.stats.resyncs == 0


def test_flush_declares_every_gap_held_not_only_the_first() -> None:
    r = Reassembler(reorder_depth=8)
    assert layout(r.push(frame(0))) == [(0, N, ())]
    assert r.push(frame(2 * N)) == [] and r.push(frame(4 * N)) == []
    assert layout(r.flush()) == [
        (N, N, (Gap(N, N),)), (2 * N, N, ()), (3 * N, N, (Gap(3 * N, N),)), (4 * N, N, ())
    ]  # fmt: skip
    assert r.flush() == []
    assert r.stats.gaps == 2 and r.stats.lost_samples == 2 * N


def test_bridged_joins_each_gap_with_a_straight_line_in_a_copy() -> None:
    samples = np.array([0.0, 0.2, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 1.0], dtype=np.float32)
    out = bridged(samples, (Gap(2, 3), Gap(6, 2)))
    assert out.tolist() == pytest.approx([0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 2.2 / 3, 2.6 / 3, 1.0])
    assert out.dtype == np.float32 and samples[3] == 0.0  # the archive keeps its silence


def test_bridged_flattens_a_gap_at_either_end_and_leaves_the_rest() -> None:
    samples = np.array([0.0, 0.0, 0.5, 0.25, 0.0, 0.0], dtype=np.float32)
    assert bridged(samples, (Gap(0, 2), Gap(4, 5))).tolist() == [0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert bridged(samples, ()).tolist() == samples.tolist()
    # A gap with no neighbour at all, or past the end, is left; the gaps after it are not.
    for skipped in (Gap(0, 6), Gap(6, 2)):
        out = bridged(samples, (skipped, Gap(1, 1)))
        assert out.tolist() == [0.0, 0.25, 0.5, 0.25, 0.0, 0.0]


def test_bridged_starts_a_line_at_the_first_sample_and_returns_float32() -> None:
    samples = np.array([0.2, 0.0, 0.0, 0.8])  # float64, as a caller may hold them
    out = bridged(samples, (Gap(1, 2),))
    assert out.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8]) and out.dtype == np.float32
