"""`simulated_source`: the contract the daemon codes against."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from firmware_bridge.errors import ConfigurationError
from firmware_bridge.sources import SCENARIOS, AudioBlock, AudioSource, LinkFaults, simulated_source
from firmware_bridge.sources.simulator import FRAMES_PER_TURN


async def _collect(source: AudioSource, seconds: float) -> list[AudioBlock]:
    blocks: list[AudioBlock] = []
    async with source:
        async for block in source:
            blocks.append(block)
            if block.end_sample >= seconds * block.sample_rate_hz:
                break
    return blocks


def test_blocks_are_contiguous_with_consistent_times() -> None:
    source = simulated_source("sim-1", "normal", seed=1, speed=200.0)
    assert isinstance(source, AudioSource)
    blocks = asyncio.run(_collect(source, 3.0))
    assert blocks[0].start_sample == 0
    for prev, nxt in itertools.pairwise(blocks):
        assert nxt.start_sample == prev.end_sample
        assert nxt.start_time == pytest.approx(prev.start_time + prev.duration_s, abs=1e-6)
    assert all(b.sample_rate_hz == 4000 and b.samples.dtype == np.float32 for b in blocks)


def test_same_seed_gives_same_stream() -> None:
    def run() -> np.ndarray:
        blocks = asyncio.run(_collect(simulated_source("d", "murmur", seed=9, speed=200.0), 2.0))
        return np.concatenate([b.samples for b in blocks])

    assert np.array_equal(run(), run())


def test_loss_marks_gaps_and_keeps_timing() -> None:
    faults = LinkFaults(loss_percent=20.0)
    blocks = asyncio.run(_collect(simulated_source("d", "normal", 3, 200.0, 4000, faults), 5.0))
    gaps = [g for b in blocks for g in b.gaps]
    assert gaps
    assert blocks[-1].end_sample == sum(b.samples.size for b in blocks)
    for b in blocks:
        for g in b.gaps:
            assert b.start_sample <= g.start_sample and g.start_sample + g.length <= b.end_sample
            segment = b.samples[
                g.start_sample - b.start_sample : g.start_sample + g.length - b.start_sample
            ]
            assert np.all(segment == 0.0)


def test_every_scenario_is_listed_and_unknown_is_rejected() -> None:
    assert {"normal", "tachycardia", "murmur", "wheeze", "crackles", "clipping"} <= set(SCENARIOS)
    with pytest.raises(ConfigurationError):
        simulated_source("d", "nonsense")
    with pytest.raises(ConfigurationError):
        simulated_source("d", "normal", speed=0.0)


def test_a_simulator_behind_its_clock_still_lets_the_host_run() -> None:
    # At this speed no machine keeps up: the simulated clock races ahead of what was sent.
    # Catching up in one go would hold the event loop for the whole backlog. Counted in audio
    # delivered between two turns of another task, not in wall time (CI machines are noisy).
    source = simulated_source("d", "normal", seed=2, speed=1e5)
    most_per_turn = 0
    delivered = 0

    async def run() -> list[AudioBlock]:
        nonlocal delivered

        async def other_task() -> None:
            nonlocal most_per_turn
            seen = 0
            while True:
                await asyncio.sleep(0)
                most_per_turn = max(most_per_turn, delivered - seen)
                seen = delivered

        other = asyncio.create_task(other_task())
        blocks: list[AudioBlock] = []
        try:
            async with source:
                async for block in source:
                    blocks.append(block)
                    delivered += block.samples.size
                    if block.end_sample >= 30.0 * block.sample_rate_hz:
                        break
        finally:
            other.cancel()
        return blocks

    blocks = asyncio.run(run())
    frame = 116  # samples per notification at the simulator's default MTU (247)
    assert 0 < most_per_turn <= 2 * FRAMES_PER_TURN * frame
    assert blocks[-1].end_sample == sum(b.samples.size for b in blocks)  # nothing skipped
    assert not any(b.gaps for b in blocks)
