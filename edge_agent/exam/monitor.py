"""What the nurse sees while listening (sans-I/O): a thinned waveform, the level, clipping and
whether the chest piece is in contact, computed per block and kept for a few seconds."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

POINTS_PER_S = 100  # min/max pairs: enough for a 10-inch canvas, ~1.6 KB/s of JSON
KEEP_S = 5.0
CLIP_LEVEL = 0.99  # full scale is 1.0; the codec's 16-bit top rounds to just under
# Below this RMS (dBFS) a chest piece in air or held loosely gives almost nothing: the same
# figure the analysis's "no signal" ramp starts from (stetho_signal.quality _LEVEL_DBFS).
NO_CONTACT_DBFS = -50.0
# Between two heart sounds a block can be near silence; contact means sound within this span
# (longer than the slowest RR interval NEWS2 scores, 40/min = 1.5 s).
CONTACT_WINDOW_S = 1.6


@dataclass(frozen=True)
class Frame:
    """One block's summary for the page; times are the capture's Unix time."""

    seq: int
    captured_at: float  # time of the block's last sample
    level_dbfs: float
    clipped: bool
    contact: bool
    points: tuple[float, ...]  # min, max, min, max, ... rounded to 3 decimals


class LiveMonitor:
    """Per-device rolling summaries; `contact` from the device when it reports it, else level."""

    def __init__(self) -> None:
        self._frames: dict[str, deque[Frame]] = {}
        self._seq: dict[str, int] = {}
        self._contact: dict[str, bool] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._loud_at: dict[str, float] = {}  # capture time of the last block above the floor

    def waker(self, device: str) -> asyncio.Event:
        """Set whenever a new frame arrives for `device` (the live page waits on it)."""
        return self._wakers.setdefault(device, asyncio.Event())

    def set_contact(self, device: str, contact: bool) -> None:
        self._contact[device] = contact

    def offer(
        self, device: str, samples: NDArray[np.float32], rate_hz: int, end_time: float
    ) -> Frame:
        seq = self._seq.get(device, 0) + 1
        self._seq[device] = seq
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
        level = 20.0 * math.log10(max(rms, 1e-9))
        reported = self._contact.get(device)
        frame = Frame(
            seq=seq,
            captured_at=end_time,
            level_dbfs=round(level, 1),
            clipped=bool(samples.size and float(np.max(np.abs(samples))) >= CLIP_LEVEL),
            contact=(level > NO_CONTACT_DBFS)
            if reported is None
            else reported and level > NO_CONTACT_DBFS,
            points=_minmax(samples, rate_hz),
        )
        keep = max(1, int(KEEP_S * POINTS_PER_S))
        self._frames.setdefault(device, deque(maxlen=keep)).append(frame)
        waker = self._wakers.get(device)
        if waker is not None:
            waker.set()
        return frame

    def since(self, device: str, seq: int) -> list[Frame]:
        return [f for f in self._frames.get(device, ()) if f.seq > seq]

    def latest(self, device: str) -> Frame | None:
        frames = self._frames.get(device)
        return frames[-1] if frames else None

    def forget(self, device: str) -> None:
        self._frames.pop(device, None)
        self._contact.pop(device, None)
        self._loud_at.pop(device, None)


def _minmax(samples: NDArray[np.float32], rate_hz: int) -> tuple[float, ...]:
    step = max(1, rate_hz // POINTS_PER_S)
    usable = samples[: len(samples) // step * step]
    if usable.size == 0:
        return ()
    shaped = usable.reshape(-1, step)
    pairs = np.stack([shaped.min(axis=1), shaped.max(axis=1)], axis=1).ravel()
    return tuple(round(float(v), 3) for v in pairs)
