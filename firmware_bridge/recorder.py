"""Record an `AudioSource` to a tagged FLAC file; a cancelled recording keeps what it has.

Audio is appended to a `.partial.wav` next to the target while recording (so a crash loses at
most the last block), then encoded to FLAC with the recording's tags and the partial removed.
File writes run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from firmware_bridge.flac import encode_flac, gap_tags
from firmware_bridge.sources.base import AudioBlock, AudioSource, Gap
from stetho_common.private_files import private_file

__all__ = ["RecordingSummary", "record"]


@dataclass(frozen=True)
class RecordingSummary:
    """What `record` wrote."""

    path: Path
    sample_rate_hz: int
    samples: int
    gaps: tuple[Gap, ...]
    started_at: float  # Unix time of the first sample
    cancelled: bool

    @property
    def duration_s(self) -> float:
        """Recorded length in seconds."""
        return self.samples / self.sample_rate_hz if self.sample_rate_hz else 0.0

    @property
    def lost_s(self) -> float:
        """Seconds of audio the link lost (filled and tagged)."""
        return (
            sum(g.length for g in self.gaps) / self.sample_rate_hz if self.sample_rate_hz else 0.0
        )


async def record(
    source: AudioSource,
    out: Path,
    duration_s: float,
    tags: dict[str, str],
    on_progress: Callable[[float], None] | None = None,
) -> RecordingSummary:
    """Record `duration_s` seconds from an entered `source` into the FLAC file `out`.

    Cancelling (Ctrl-C) stops early; the FLAC is still written with what was recorded and the
    summary says `cancelled`. `on_progress` gets the recorded seconds after each block.
    """
    partial = out.with_name(out.name + ".partial.wav")
    writer: Any = None
    gaps: list[Gap] = []
    written, started_at, cancelled, rate = 0, 0.0, False, source.sample_rate_hz
    try:
        async for block in source:
            if writer is None:
                rate, started_at = block.sample_rate_hz, block.start_time
                writer = await asyncio.to_thread(_open_partial, partial, rate)
            wanted = round(duration_s * rate) - written
            take = _trim(block, wanted)
            await asyncio.to_thread(writer.write, take.samples)
            written += take.samples.size
            gaps += [g for g in take.gaps]
            if on_progress is not None:
                on_progress(written / rate)
            if written >= round(duration_s * rate):
                break
    except asyncio.CancelledError:
        # Ctrl-C is how a nurse stops early: keep the audio and finish the file normally.
        cancelled = True
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    finally:
        if writer is not None:
            await asyncio.to_thread(writer.close)
    summary = RecordingSummary(out, rate, written, tuple(gaps), started_at, cancelled)
    if writer is not None:
        await asyncio.to_thread(_finish, partial, out, summary, tags)
    return summary


def _trim(block: AudioBlock, wanted: int) -> AudioBlock:
    if block.samples.size <= wanted:
        return block
    end = block.start_sample + wanted
    gaps = tuple(
        Gap(g.start_sample, min(g.length, end - g.start_sample))
        for g in block.gaps
        if g.start_sample < end
    )
    return AudioBlock(block.samples[:wanted], block.sample_rate_hz, block.start_sample,
                      block.start_time, gaps)  # fmt: skip


def _open_partial(path: Path, rate: int) -> Any:
    private_file(path)  # a recording is health data: 0600 whatever the umask
    # bytes: libsndfile cannot take a str name that is not UTF-8 (surrogates)
    return soundfile.SoundFile(os.fsencode(path), "w", rate, 1, "PCM_16", format="WAV")


def _finish(partial: Path, out: Path, summary: RecordingSummary, tags: dict[str, str]) -> None:
    audio, rate = soundfile.read(os.fsencode(partial), dtype="int16")
    encoded = private_file(out.with_name(out.name + ".tmp"))  # 0600 whatever the umask
    started = datetime.fromtimestamp(summary.started_at, UTC).isoformat(timespec="milliseconds")
    all_tags = {
        "DATE": started,
        "ENCODER": "stetho-edge",
        "STETHO_START_TIME": started,
        "STETHO_SAMPLE_RATE_HZ": str(rate),
        **gap_tags(summary.gaps),
        **{key.upper(): value for key, value in tags.items()},
    }
    encoded.write_bytes(encode_flac(np.asarray(audio, dtype=np.int16), rate, all_tags))
    encoded.replace(out)  # atomic: a reader never sees a half-written FLAC
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
