"""A recording as it travels inside the agent: who and where, the samples, the gaps.

These are the types that capture, the crash journal, analysis and the wire all share, so they
live at the bottom layer: storage can keep a recording without importing the pipeline that made it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np
from numpy.typing import NDArray

# One gap type from the radio to the journal: samples the link lost, filled to keep timing.
from firmware_bridge.reassembly import Gap
from stetho_signal.triage import AGE_BANDS, AgeBand

__all__ = [
    "Appended",
    "Capture",
    "Gap",
    "IdentityFields",
    "RecordingContext",
    "WhereFields",
]


_OPTIONAL = ("exam_id", "age_band")  # added after version 1: absent in older messages


class WhereFields(TypedDict):
    site: str
    device: str
    resident: str
    auscultation_site: str
    kind: Literal["heart", "lung"]
    exam_id: uuid.UUID | None  # messages leave it out when None (version-1 bytes)
    age_band: AgeBand | None  # the exam's; None (timed monitoring): adult ranges, left out


class IdentityFields(WhereFields):
    agent: str


@dataclass(frozen=True)
class RecordingContext:
    """Who and where: everything about a recording that does not come from the audio.

    The one value of a recording's identity: the messages, the FLAC tags and the crash journal
    all take their fields from `fields()`, so a new field is added here and in the messages'
    schema, nowhere else (a test checks the messages carry every field).
    """

    site: str
    agent: str
    device: str
    resident: str
    auscultation_site: str
    kind: Literal["heart", "lung"]
    exam_id: uuid.UUID | None = None  # the exam this recording is for; None: timed monitoring
    age_band: AgeBand | None = None  # picks the analysis's rate ranges; None: adult

    def __post_init__(self) -> None:
        if self.age_band is not None and self.age_band not in AGE_BANDS:
            raise ValueError(f"age band {self.age_band!r}: one of {', '.join(AGE_BANDS)}")

    def fields(self) -> IdentityFields:
        return IdentityFields(agent=self.agent, **self.where())

    def where(self) -> WhereFields:
        """The identity without the agent (the triage message names no agent)."""
        return WhereFields(
            site=self.site,
            device=self.device,
            resident=self.resident,
            auscultation_site=self.auscultation_site,
            kind=self.kind,
            exam_id=self.exam_id,
            age_band=self.age_band,
        )

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> RecordingContext:
        """Back from `fields()` (a journal header): ValueError naming what is wrong."""
        names = [f.name for f in dataclasses.fields(cls) if f.name not in _OPTIONAL]
        values = {name: data.get(name) for name in names}
        wrong = sorted(k for k, v in values.items() if not isinstance(v, str) or not v)
        if wrong:
            raise ValueError(f"identity fields missing or not text: {', '.join(wrong)}")
        kind = values["kind"]
        if kind not in ("heart", "lung"):
            raise ValueError(f"kind {kind!r}")
        exam = data.get("exam_id")  # absent in journals of timed monitoring (and older ones)
        band = data.get("age_band")  # absent in journals written before exams had bands
        return cls(**values, exam_id=uuid.UUID(str(exam)) if exam else None,  # type: ignore[arg-type]
                   age_band=band or None)  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True)
class Capture:
    """One finished recording, before analysis and encoding."""

    recording_id: uuid.UUID
    started_at: float  # Unix time of the first sample
    sample_rate_hz: int
    samples: NDArray[np.float32]
    gaps: tuple[Gap, ...]
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
    gaps: tuple[Gap, ...]  # from the recording's first sample
