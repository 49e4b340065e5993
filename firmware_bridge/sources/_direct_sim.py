"""Interim simulator source: blocks straight from the synthesiser (no BLE path yet)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import numpy as np

from firmware_bridge.sources.base import AudioBlock, DeviceEvent, Gap
from firmware_bridge.sources.faults import LinkFaults
from firmware_bridge.synth import StethoscopeSynth

_BLOCK_S = 0.1


class DirectSimSource:
    def __init__(
        self,
        device_id: str,
        scenario: str,
        seed: int,
        speed: float,
        sample_rate_hz: int,
        faults: LinkFaults | None,
    ) -> None:
        self.device_id = device_id
        self.sample_rate_hz = sample_rate_hz
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        self._synth = StethoscopeSynth(scenario, sample_rate_hz, seed)
        self._speed = speed
        self._faults = faults or LinkFaults()
        self._loss_rng = np.random.default_rng(seed + 1)
        self._t0 = 0.0

    async def __aenter__(self) -> Self:
        self._t0 = time.time()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[AudioBlock]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[AudioBlock]:
        n = round(_BLOCK_S * self.sample_rate_hz)
        started = time.monotonic()
        while True:
            start = self._synth.position
            samples = self._synth.read(n)
            gaps: tuple[Gap, ...] = ()
            if self._loss_rng.random() * 100 < self._faults.loss_percent:
                samples[:] = 0.0
                gaps = (Gap(start, n),)
            due = started + (start + n) / self.sample_rate_hz / self._speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            yield AudioBlock(
                samples, self.sample_rate_hz, start, self._t0 + start / self.sample_rate_hz, gaps
            )
