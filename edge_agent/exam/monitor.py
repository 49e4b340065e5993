"""What the nurse sees while listening (sans-I/O): a thinned waveform, the level, clipping and
whether the chest piece is in contact (and heard only faintly), computed per block and kept for
the last KEEP_S seconds of capture time."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

POINTS_PER_S = 100  # min/max pairs: enough for a 10-inch canvas, ~1.6 KB/s of JSON
# The page's stream sends the frames since the last it sent; one stalled this long (a slow
# tablet link) still gets what it missed, older waveform is of no use live.
KEEP_S = 5.0
# Blocks come 10-50 a second (100 ms from BLE, USB and replay). The count caps the keep when
# capture time does not move forward (a clock stepped back): KEEP_S at the fastest rate.
FASTEST_BLOCKS_PER_S = 50
MAX_FRAMES = int(KEEP_S * FASTEST_BLOCKS_PER_S)
CLIP_LEVEL = 0.99  # full scale is 1.0; the codec's 16-bit top rounds to just under
# Block RMS over the whole band, dBFS. At the usual gain a chest piece on the skin gives more
# than LOUD_DBFS (simulated chests -23 to -29, ICBHI and CirCor recordings -7 to -39 dBFS
# whole); under it, held loosely, in the air or at low gain. Over HEARD_DBFS it still records
# something above a 16-bit device's floor (rounding leaves -101 dBFS): the analysis may judge it
# a clear sound (stetho_signal.quality, faint), so the page asks for a firmer hold or more
# volume rather than saying there is no contact.
LOUD_DBFS = -50.0
HEARD_DBFS = -80.0
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
    faint: bool = False  # in contact, but nothing over LOUD_DBFS within the contact window


class LiveMonitor:
    """Per-device rolling summaries. `contact`: sound over HEARD_DBFS within the last
    CONTACT_WINDOW_S (and the device, when it reports contact, says so); `faint`: in contact,
    but nothing over LOUD_DBFS within that window."""

    def __init__(self) -> None:
        self._frames: dict[str, deque[Frame]] = {}
        self._seq: dict[str, int] = {}
        self._contact: dict[str, bool] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._loud_at: dict[str, float] = {}  # capture time of the last block over LOUD_DBFS
        self._heard_at: dict[str, float] = {}  # ... and over HEARD_DBFS

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
        loud = _since(self._loud_at, device, end_time, level > LOUD_DBFS)
        heard = _since(self._heard_at, device, end_time, level > HEARD_DBFS)
        contact = heard and self._contact.get(device, True)
        frame = Frame(
            seq=seq,
            captured_at=end_time,
            level_dbfs=round(level, 1),
            clipped=bool(samples.size and float(np.max(np.abs(samples))) >= CLIP_LEVEL),
            contact=contact,
            points=_minmax(samples, rate_hz),
            faint=contact and not loud,
        )
        frames = self._frames.setdefault(device, deque(maxlen=MAX_FRAMES))
        frames.append(frame)
        while end_time - frames[0].captured_at > KEEP_S:  # ends at the frame just added
            frames.popleft()
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
        self._heard_at.pop(device, None)


def _since(last: dict[str, float], device: str, now: float, over: bool) -> bool:
    """Whether `device` was over a level within the contact window; `over`: this block is."""
    if over:
        last[device] = now
    at = last.get(device)
    return at is not None and now - at <= CONTACT_WINDOW_S


def _minmax(samples: NDArray[np.float32], rate_hz: int) -> tuple[float, ...]:
    step = max(1, rate_hz // POINTS_PER_S)
    usable = samples[: len(samples) // step * step]
    if usable.size == 0:
        return ()
    shaped = usable.reshape(-1, step)
    pairs = np.stack([shaped.min(axis=1), shaped.max(axis=1)], axis=1).ravel()
    return tuple(round(float(v), 3) for v in pairs)
