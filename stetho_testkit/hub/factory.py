"""Recordings in the real wire format, made quickly: synthetic PCM, real FLAC, real models."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from edge_agent.wire import messages, topics
from firmware_bridge.flac import FLAC_CONTENT_TYPE, encode_flac, pcm_sha256
from stetho_signal import analyze
from stetho_sim.sounds import pcg

SITE = "home-a"
AGENT = "pi-a"
DEVICE = "steth-a"
RATE = 4000


def _analysis(pcm: np.ndarray) -> messages.Analysis:
    result = analyze(pcm, RATE, "heart")
    return messages.Analysis.model_validate(result.to_dict())


@dataclass(frozen=True)
class WireRecording:
    recording_id: str
    meta: messages.RecordingMessage
    flac: bytes
    site: str
    device: str

    @property
    def meta_topic(self) -> str:
        return topics.recording(self.site, self.device)

    @property
    def audio_topic(self) -> str:
        return topics.recording_audio(self.site, self.device)

    @property
    def meta_json(self) -> bytes:
        return messages.to_json(self.meta)

    @property
    def properties(self) -> tuple[tuple[str, str], ...]:
        return (("schema_version", "1"), ("recording_id", self.recording_id))


def make_recording(
    seed: int = 0,
    site: str = SITE,
    device: str = DEVICE,
    seconds: float = 0.5,
    analysed: bool = False,
    auscultation_site: str = "mitral",
    exam_id: str | None = None,
    start: datetime | None = None,
    heart_bpm: float | None = None,
    mains_hum_hz: float | None = None,
    quieter_db: float = 0.0,
) -> WireRecording:
    """0.5 s of noise by default (too short to analyse: `analysis` null, as the agent sends);
    `analysed` runs the real analysis (needs seconds >= 1); `heart_bpm` records a heart,
    `quieter_db` under its usual level (a stethoscope at low gain); `mains_hum_hz` adds a
    mains hum at that fundamental, as loud as the recording."""
    rng = np.random.default_rng(seed)
    pcm = (rng.standard_normal(int(RATE * seconds)) * 3000).astype(np.int16)
    if heart_bpm is not None:  # a phonocardiogram at that rate (S1, S2), as the simulator makes
        full = 30000 * 10.0 ** (-quieter_db / 20.0)
        pcm = (pcg(heart_bpm, seconds, RATE, seed=seed)[0] * full).clip(-32767, 32767)
        pcm = pcm.astype(np.int16)
    if mains_hum_hz is not None:
        t = np.arange(pcm.size) / RATE
        # As loud as the recording: under an exactly periodic heart (no jitter) a quieter hum
        # hides among the heart's own lines beside it (stetho_signal._mains).
        hum = np.sqrt(2) * float(np.std(pcm)) * np.sin(2 * np.pi * mains_hum_hz * t)
        pcm = (pcm + hum).clip(-32767, 32767).astype(np.int16)
    rid = str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))
    flac = encode_flac(pcm, RATE, {"COMMENT": f"recording_id={rid}"})
    start = start or datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=seed)
    meta = messages.RecordingMessage(
        recording_id=uuid.UUID(rid),
        site=site,
        agent=AGENT,
        device=device,
        resident=f"res-{seed % 7}",
        auscultation_site=auscultation_site,
        kind="heart",
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        sample_rate_hz=RATE,
        n_samples=len(pcm),
        partial=False,
        gaps=[],
        audio=messages.AudioRef(
            topic=topics.recording_audio(site, device),
            content_type=FLAC_CONTENT_TYPE,
            size_bytes=len(flac),
            pcm_sha256=pcm_sha256(pcm),
        ),
        analysis=_analysis(pcm) if analysed else None,
        analysis_error=None if analysed else "recording shorter than 1 s",
        exam_id=uuid.UUID(exam_id) if exam_id else None,
    )
    return WireRecording(rid, meta, flac, site, device)


_EVENT_OF: dict[messages.ExamState, messages.ExamEvent] = {
    "open": "opened",
    "recording": "site_recorded",
    "done": "closed",
    "abandoned": "abandoned",
}


def exam_json(exam_id: str, state: messages.ExamState = "open", site: str = SITE) -> bytes:
    """A `stetho.exam` message as the care home's agent sends it."""
    event: messages.ExamEvent = _EVENT_OF[state]
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    exam = messages.ExamMessage(
        exam_id=uuid.UUID(exam_id), event=event, state=state, site=site, agent=AGENT,
        resident="res-1", staff="nurse-1", reason="short of breath", protocol="heart-4",
        age_band="adult", sites=[], opened_at=at, closed_at=None, at=at,
    )  # fmt: skip
    return messages.to_json(exam)
