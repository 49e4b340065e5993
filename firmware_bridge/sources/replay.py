"""Replay of a WAV or FLAC recording as an audio source, in real time or as fast as possible.

File reads run in a worker thread. Multichannel files are mixed down to mono. A file that is not
audio libsndfile reads, cannot be read at all (permission, I/O), holds no samples, is damaged,
or is sampled outside the caller's rates raises `RecordingError` (a `ConfigurationError`:
stop), whose `reason` says which: it cannot turn into a good one by waiting.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import soundfile

from firmware_bridge.errors import ConfigurationError, RecordingError
from firmware_bridge.sources.base import AudioBlock, DeviceEvent

__all__ = ["FileSource", "recording_problem"]


def recording_problem(path: Path, rates_hz: tuple[float, float] | None = None) -> str | None:
    """Why `FileSource` would refuse `path`, said after the path ("is sampled at 1000 Hz"), or
    None. Reads the header only (soundfile.info), cheap enough for a config check; damage further
    in is found as the file plays.

    Parameters
    ----------
    path : Path
        The recording.
    rates_hz : tuple of float, optional
        The lowest and highest sample rate (Hz) the caller can use; None takes any.
    """
    try:
        info = soundfile.info(os.fsencode(path))
    except (OSError, RuntimeError) as exc:  # LibsndfileError is a RuntimeError
        reason, words = _open_failure(path, exc)
        if reason == RecordingError.UNREADABLE:
            return f"cannot be read: {words}"
        return f"is not a WAV or FLAC recording libsndfile reads ({words})"
    problem = _header_problem(info.frames, int(info.samplerate), rates_hz)
    return None if problem is None else problem[1]


# A header with no samples (a recorder stopped at once, a copy cut short at the header): it
# would play as a recording of 0 s, which no one should take for a recording.
_EMPTY = "holds no sound (a header with 0 samples)"


# libsndfile's SF_ERR_SYSTEM (sndfile.h): the OS refused; its message drops errno's words.
_SF_ERR_SYSTEM = 2


def _open_failure(path: Path, exc: BaseException) -> tuple[str, str]:
    """Why opening `path` failed: `RecordingError.UNREADABLE` (the OS refused: permission,
    I/O, a folder) or `NOT_AUDIO` (libsndfile read it and found no recording it knows), and
    the words saying so."""
    # libsndfile says only "System error" when the OS refuses; opening the file ourselves
    # (only after a failure, so a good file costs nothing more) gets errno's own words.
    os_error = exc if isinstance(exc, OSError) else _os_error(path)
    if os_error is not None:
        return RecordingError.UNREADABLE, os_error.strerror or str(os_error)
    if getattr(exc, "code", None) == _SF_ERR_SYSTEM:
        return RecordingError.UNREADABLE, _reason(exc)
    return RecordingError.NOT_AUDIO, _reason(exc)


def _os_error(path: Path) -> OSError | None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as exc:
        return exc
    return None


def _reason(exc: BaseException) -> str:
    # libsndfile's own words ("Format not recognised"), without soundfile's "Error opening b'..'"
    # nor the "Error : " a decoder's message starts with (only tidied: nothing decides on it).
    reason = exc.error_string if isinstance(exc, soundfile.LibsndfileError) else str(exc)
    return reason.strip().removeprefix("Error : ").rstrip(".")


def _header_problem(
    frames: int, rate_hz: int, rates_hz: tuple[float, float] | None
) -> tuple[str, str] | None:
    """What an opened file's header rules out, as a `RecordingError` reason and the words said
    after its path, or None: no samples, or a rate outside ``rates_hz``."""
    if frames == 0:
        return RecordingError.EMPTY, _EMPTY
    if rates_hz is None or rates_hz[0] <= rate_hz <= rates_hz[1]:
        return None
    return RecordingError.RATE_UNSUPPORTED, f"is sampled at {rate_hz} Hz"


class FileSource:
    """Blocks from an audio file; iteration ends at the end of the file.

    Parameters
    ----------
    path : Path
        WAV or FLAC file (anything libsndfile reads).
    device_id : str or None
        Identifier reported for this source; defaults to the file name.
    realtime : bool
        Pace blocks at the file's sample rate (times `speed`); False reads as fast as possible.
    rates_hz : tuple of float, optional
        The lowest and highest sample rate (Hz) the caller takes (the agent: the analysis's);
        a file sampled outside them is refused once open.
    rates_owner : str
        Who takes only those rates, named in the refusal ("the analysis takes 2000 to 48000
        Hz"); the source itself knows only that its caller passed them.
    """

    def __init__(
        self,
        path: Path,
        *,
        device_id: str | None = None,
        realtime: bool = True,
        speed: float = 1.0,
        block_s: float = 0.1,
        rates_hz: tuple[float, float] | None = None,
        rates_owner: str = "this source",
    ) -> None:
        self.path = Path(path)
        self.device_id = device_id or self.path.stem
        self.sample_rate_hz = 0
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        self._realtime = realtime
        self._speed = speed
        self._block_s = block_s
        self._rates_hz = rates_hz
        self._rates_owner = rates_owner
        self._file: Any = None

    async def __aenter__(self) -> Self:
        try:
            self._file = await asyncio.to_thread(soundfile.SoundFile, os.fsencode(self.path))
        except (OSError, RuntimeError) as exc:  # LibsndfileError is a RuntimeError
            reason, words = _open_failure(self.path, exc)
            raise RecordingError(f"cannot open recording {self.path}: {words}", reason) from exc
        self.sample_rate_hz = int(self._file.samplerate)
        problem = _header_problem(self._file.frames, self.sample_rate_hz, self._rates_hz)
        if problem is None:
            return self
        self._file.close()
        self._file = None
        reason, words = problem
        if reason == RecordingError.RATE_UNSUPPORTED and self._rates_hz is not None:
            low, high = self._rates_hz  # who takes which rates, and what to do about it
            words += f"; {self._rates_owner} takes {low:.0f} to {high:.0f} Hz: resample it first"
        raise RecordingError(f"recording {self.path} {words}", reason)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __aiter__(self) -> AsyncIterator[AudioBlock]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[AudioBlock]:
        if self._file is None:
            raise ConfigurationError("FileSource must be entered (async with) before iterating")
        block = max(1, round(self._block_s * self.sample_rate_hz))
        position, t0, started = 0, time.time(), time.monotonic()
        while True:
            try:
                data = await asyncio.to_thread(self._file.read, block, "float32", True)
            except (OSError, RuntimeError) as exc:  # a FLAC cut short: "decoder lost sync"
                raise RecordingError(
                    f"recording {self.path} is damaged {position / self.sample_rate_hz:.1f} s "
                    f"in: {_reason(exc)}",
                    RecordingError.DAMAGED,
                ) from exc
            if data.shape[0] == 0:
                return
            mono = np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)
            if self._realtime:
                due = started + (position + mono.size) / self.sample_rate_hz / self._speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            yield AudioBlock(
                mono, self.sample_rate_hz, position, t0 + position / self.sample_rate_hz
            )
            position += mono.size
