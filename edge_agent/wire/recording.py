"""A recording as it travels inside the agent: who and where, the samples, the gaps.

These are the types that capture, the crash journal, analysis and the wire all share, so they
live at the bottom layer: storage can keep a recording without importing the pipeline that made it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["Appended", "Capture", "CapturedGap", "RecordingContext"]


@dataclass(frozen=True)
class RecordingContext:
    """Who and where: everything about a recording that does not come from the audio."""

    site: str
    agent: str
    device: str
    resident: str
    auscultation_site: str
    kind: Literal["heart", "lung"]
    exam_id: uuid.UUID | None = None  # None: timed monitoring, outside any exam


@dataclass(frozen=True)
class CapturedGap:
    start_sample: int  # from the recording's first sample
    length: int


@dataclass(frozen=True)
class Capture:
    """One finished recording, before analysis and encoding."""

    recording_id: uuid.UUID
    started_at: float  # Unix time of the first sample
    sample_rate_hz: int
    samples: NDArray[np.float32]
    gaps: tuple[CapturedGap, ...]
    partial: bool

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz

    @property
    def ended_at(self) -> float:
        return self.started_at + self.duration_s


@dataclass(frozen=True)
class Appended:
    """Samples just added to the recording in progress, for the capture journal."""

    recording_id: uuid.UUID
    started_at: float
    start_sample: int  # from the recording's first sample
    samples: NDArray[np.float32]
    gaps: tuple[CapturedGap, ...]  # from the recording's first sample
