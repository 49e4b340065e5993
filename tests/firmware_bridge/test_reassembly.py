"""Reassembly: gaps found, filled and marked; duplicates and reordering handled; timing kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.codec import AudioFrame
from firmware_bridge.reassembly import Chunk, Fill, Gap, Reassembler

N = 100  # samples per frame


def frame(seq: int, first: int | None = None, value: int = 1000, n: int = N) -> AudioFrame:
    index = seq * N if first is None else first
    return AudioFrame.from_samples(
        np.full(n, value, dtype=np.int16),
        sequence=seq & 0xFFFF,
        sample_index=index & 0xFFFFFFFF,
        sample_rate_hz=4000,
    )


def run(reassembler: Reassembler, frames: list[AudioFrame]) -> list[Chunk]:
    out: list[Chunk] = []
    for f in frames:
        out += reassembler.push(f)
    return out + reassembler.flush()


def contiguous(chunks: list[Chunk]) -> np.ndarray:
    position = chunks[0].start_sample
    for c in chunks:
        assert c.start_sample == position
        position += c.samples.size
    return np.concatenate([c.samples for c in chunks])


def test_in_order_frames_pass_straight_through() -> None:
    chunks = run(Reassembler(), [frame(i) for i in range(5)])
    assert contiguous(chunks).size == 5 * N
    assert not any(c.gaps for c in chunks)


def test_lost_frame_becomes_a_marked_silent_gap_of_the_right_length() -> None:
    r = Reassembler(reorder_depth=2)
    chunks = run(r, [frame(i) for i in (0, 1, 3, 4, 5, 6)])
    samples = contiguous(chunks)
    gaps = [g for c in chunks for g in c.gaps]
    assert gaps == [Gap(2 * N, N)]
    assert samples.size == 7 * N
    assert np.all(samples[2 * N : 3 * N] == 0.0)
    assert r.stats.lost_samples == N and r.stats.gaps == 1


def test_interpolated_fill_joins_the_neighbours() -> None:
    r = Reassembler(fill=Fill.INTERPOLATE, reorder_depth=0)
    chunks = run(r, [frame(0, value=0), frame(2, value=10000)])
    filled = contiguous(chunks)[N : 2 * N]
    assert filled[0] > 0.0 and filled[-1] < 10000 / 32768
    assert np.all(np.diff(filled) > 0)


def test_reordered_frames_are_put_back_in_order_without_a_gap() -> None:
    r = Reassembler(reorder_depth=3)
    frames = [frame(0, value=0), frame(2, value=2), frame(1, value=1), frame(3, value=3)]
    samples = contiguous(run(r, frames)) * 32768
    assert samples.tolist() == [v for v in range(4) for _ in range(N)]
    assert r.stats.reordered == 1 and r.stats.gaps == 0


def test_duplicates_are_dropped_and_counted() -> None:
    r = Reassembler()
    chunks = run(r, [frame(0), frame(1), frame(1), frame(0), frame(2)])
    assert contiguous(chunks).size == 3 * N
    assert r.stats.duplicates == 2


def test_sample_index_wrap_is_seamless() -> None:
    start = (1 << 32) - 2 * N
    chunks = run(Reassembler(), [frame(i, first=start + i * N) for i in range(4)])
    assert contiguous(chunks).size == 4 * N
    assert not any(c.gaps for c in chunks)


def test_implausible_jump_rebases_instead_of_allocating_silence() -> None:
    r = Reassembler(max_gap_s=1.0)
    chunks = run(r, [frame(0), frame(1, first=3_000_000_000), frame(2, first=3_000_000_100)])
    assert contiguous(chunks).size == 3 * N
    assert r.stats.resyncs == 1


def test_device_restart_backwards_rebases_rather_than_dropping_forever() -> None:
    r = Reassembler()
    frames = [frame(i, first=1_000_000 + i * N) for i in range(3)] + [frame(i) for i in range(3)]
    assert contiguous(run(r, frames)).size == 6 * N


def test_skip_marks_an_outage_and_the_next_frame_follows_it() -> None:
    r = Reassembler()
    out = r.push(frame(0)) + r.skip(4000) + r.push(frame(77, first=123))
    assert [g for c in out for g in c.gaps] == [Gap(N, 4000)]
    assert contiguous(out + r.flush()).size == N + 4000 + N


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_output_always_equals_input_span(depth: int) -> None:
    rng = np.random.default_rng(depth)
    order = [i for i in range(60) if rng.random() > 0.1]
    for i in range(0, len(order) - 1, 7):
        order[i], order[i + 1] = order[i + 1], order[i]
    r = Reassembler(reorder_depth=depth)
    chunks = run(r, [frame(i) for i in order])
    total = contiguous(chunks).size
    # The stream starts at the first frame pushed; frames from before it arrive late and are
    # dropped, everything up to the last frame is there or filled.
    assert chunks[0].start_sample == 0
    assert total == (max(order) + 1 - order[0]) * N
    assert sum(g.length for c in chunks for g in c.gaps) == r.stats.lost_samples


@given(
    st.lists(st.booleans(), min_size=2, max_size=60),
    st.lists(st.integers(0, 59), max_size=10),
    st.integers(0, 5),
)
def test_any_loss_and_local_reordering_keeps_the_invariants(
    kept: list[bool], swaps: list[int], depth: int
) -> None:
    order = [i for i, keep in enumerate(kept) if keep or i == 0]
    for s in swaps:  # swap neighbours: reordering within a frame or two
        if s + 1 < len(order) and s > 0:
            order[s], order[s + 1] = order[s + 1], order[s]
    r = Reassembler(reorder_depth=depth)
    chunks = run(r, [frame(i, value=i + 1) for i in order])
    samples = contiguous(chunks)
    gaps = [g for c in chunks for g in c.gaps]
    assert samples.size == (max(order) + 1) * N  # timing kept: the span, whatever was lost
    assert sum(g.length for g in gaps) == r.stats.lost_samples
    filled = np.zeros(samples.size, dtype=bool)
    for g in gaps:
        filled[g.start_sample : g.start_sample + g.length] = True
    late = 0
    for i in set(order):  # every received frame sits exactly where its index says...
        block = samples[i * N : (i + 1) * N] * 32768
        if filled[i * N : (i + 1) * N].any():
            # ...unless it came after its place was declared lost: then the whole block is
            # the silent fill, and the frame was counted as dropped.
            assert filled[i * N : (i + 1) * N].all()
            assert np.all(block == 0)
            late += 1
        else:
            assert np.all(block == i + 1)
    assert r.stats.duplicates == late
