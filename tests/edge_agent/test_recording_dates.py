"""A recording is never dated in the future of the wall clock: a stream faster than real time
(the demo's simulated stethoscopes at 10x) is dated by the wall clock at its end; a
stethoscope's recordings keep the date its stream gives them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from edge_agent.config import parse_config
from edge_agent.pipeline import device as device_pipeline
from edge_agent.pipeline.device import DevicePipeline, wall_dated
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime.daemon import Agent
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.sources import AudioBlock

RATE = 4000
AHEAD_S = 2700.0  # the demo's recordings were some 45 minutes ahead on the console


class AheadSource:
    """Two seconds of stream dated AHEAD_S after the wall clock, as a 10x simulator's become."""

    sample_rate_hz = RATE

    def __init__(self) -> None:
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.t0 = time.time() + AHEAD_S

    async def __aenter__(self) -> AheadSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[AudioBlock]:
        samples = np.zeros(2 * RATE, dtype=np.float32)
        for start in range(0, len(samples), 400):
            yield AudioBlock(samples[start : start + 400], RATE, start, self.t0 + start / RATE)
            await asyncio.sleep(0)


def _dates(tmp: Path, device: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The started_at of each recording the pipeline hands on, less the wall clock then."""
    cfg = parse_config({
        "site": "home-d", "broker": {"host": "127.0.0.1", "port": 1},
        "storage": {"state_dir": str(tmp / "state")},
        "devices": [{"id": "steth-d", "resident": "res-1",
                     "monitoring": {"interval_s": 1, "duration_s": 1}, **device}],
    }, "test")  # fmt: skip
    monkeypatch.setattr(device_pipeline, "open_source", lambda device, radio=None: AheadSource())
    agent = Agent(cfg)
    dated: list[float] = []

    async def accept(capture: Capture, ctx: RecordingContext, stats: DeviceStats) -> bool:
        dated.append(capture.started_at - (time.time() - capture.duration_s))
        return True

    async def scenario() -> None:
        ctx = RecordingContext("home-d", "pi-1", "steth-d", "res-1", "mitral", "heart")
        pipeline = DevicePipeline(cfg.devices[0], ctx, agent.journal, agent.live, accept,
                                  DeviceStats(), lambda online: None)  # fmt: skip
        await pipeline.run()

    try:
        asyncio.run(scenario())
    finally:
        agent.journal.close()
        agent.outbox.close()
    assert len(dated) == 2
    return dated


def test_a_simulator_faster_than_real_time_is_dated_by_the_wall_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: dated by its sample count, 45 minutes ahead of the wall clock.
    sim = {"kind": "simulated", "speed": 10.0}
    assert all(-1.0 < ahead <= 0.0 for ahead in _dates(tmp_path, sim, monkeypatch))


def test_a_file_read_as_fast_as_it_decodes_is_dated_by_the_wall_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    soundfile.write(tmp_path / "x.wav", np.zeros(2 * RATE, np.float32), RATE)
    file = {"kind": "file", "path": str(tmp_path / "x.wav"), "realtime": False}
    assert all(-1.0 < ahead <= 0.0 for ahead in _dates(tmp_path, file, monkeypatch))


def test_a_stethoscope_keeps_the_date_its_stream_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ble = {"kind": "ble", "address": "5E:7A:00:00:01:01"}
    assert all(ahead > AHEAD_S - 5 for ahead in _dates(tmp_path, ble, monkeypatch))


def test_only_a_date_in_the_future_is_moved() -> None:
    capture = Capture(uuid.uuid4(), 100.0, RATE, np.zeros(RATE, np.float32), (), False)
    assert wall_dated(capture, 500.0) is capture  # dated before the wall clock: kept
    assert wall_dated(capture, 100.5).started_at == pytest.approx(99.5)  # one second long
