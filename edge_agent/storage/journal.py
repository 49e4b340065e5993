"""The capture journal: a recording in progress survives a SIGKILL or a power cut.

While a recording is captured its samples and gaps are appended to
`<state_dir>/journal/<recording_id>.journal`, flushed and fsync'd every second of audio, so
at most about one second of what the stethoscope sent is at risk. Once the recording's
outbox transaction commits the journal is deleted; on start the agent rebuilds a partial
`Capture` from every journal left behind and accepts it like any other recording.

The record codec is sans-I/O (`encode_*`, `JournalDecoder`, `read_journal`); `CaptureJournal`
and `load_journal` are the file edge, and every file call runs on one worker thread.

File layout: the 8-byte magic, then records of `<length: u32 LE><crc32: u32 LE><payload>`,
the payload being a type byte and its body: a JSON header first, then float32 LE samples
and (start, length) int64 LE gaps in the order they were captured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import struct
import uuid
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from edge_agent.errors import (
    IncompleteJournalError,
    JournalCorruptError,
    MalformedRecordError,
)
from edge_agent.wire.recording import Appended, Capture, Gap, RecordingContext
from stetho_common.sans_io import NEED_DATA, NeedData

log = logging.getLogger(__name__)

MAGIC: Final = b"STJRNL01"
SUFFIX: Final = ".journal"
_FRAME = struct.Struct("<II")  # payload length, CRC-32 of the payload
_GAP = struct.Struct("<qq")
# One second of float32 audio at 192 kHz is 768 KB: a length beyond this cap is damage, and
# capping it keeps a flipped length bit from making the reader wait for gigabytes.
MAX_PAYLOAD: Final = 4 * 1024 * 1024
_MAX_SAMPLES_PER_RECORD: Final = (MAX_PAYLOAD - 1) // 4


class RecordType(Enum):
    HEADER = 1
    SAMPLES = 2
    GAP = 3


@dataclass(frozen=True)
class JournalHeader:
    recording_id: uuid.UUID
    started_at: float  # Unix time of the first sample
    sample_rate_hz: int
    context: RecordingContext  # as it was when capture started (a resident may move since)


@dataclass(frozen=True)
class Record:
    kind: RecordType
    body: bytes


def _frame(kind: RecordType, body: bytes) -> bytes:
    payload = bytes((kind.value,)) + body
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def encode_header(header: JournalHeader) -> bytes:
    """The start of a journal file: magic and the header record."""
    document = {
        "recording_id": str(header.recording_id),
        "started_at": header.started_at,
        "sample_rate_hz": header.sample_rate_hz,
        **dict(header.context.fields()),
        # JSON has no UUID; None (timed monitoring) stays null.
        "exam_id": str(header.context.exam_id) if header.context.exam_id else None,
    }
    return MAGIC + _frame(RecordType.HEADER, json.dumps(document).encode())


def encode_piece(piece: Appended) -> bytes:
    """Gap marks, then samples, for one piece of a recording."""
    out = [_frame(RecordType.GAP, _GAP.pack(g.start_sample, g.length)) for g in piece.gaps]
    samples = np.asarray(piece.samples, dtype="<f4")
    for start in range(0, len(samples), _MAX_SAMPLES_PER_RECORD):
        chunk = samples[start : start + _MAX_SAMPLES_PER_RECORD]
        out.append(_frame(RecordType.SAMPLES, chunk.tobytes()))
    return b"".join(out)


class JournalDecoder:
    """Feed bytes, take records: `next_record` returns a Record or NEED_DATA.

    Keeps "incomplete" (NEED_DATA: maybe a torn last write) apart from "malformed"
    (MalformedRecordError: a complete record that cannot be trusted).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0
        self.consumed = 0  # bytes of whole, valid records returned so far

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_record(self) -> Record | NeedData:
        available = len(self._buffer) - self._offset
        if available < _FRAME.size:
            return NEED_DATA
        length, crc = _FRAME.unpack_from(self._buffer, self._offset)
        if length == 0 or length > MAX_PAYLOAD:
            raise MalformedRecordError(f"record length {length} outside 1..{MAX_PAYLOAD}")
        if available < _FRAME.size + length:
            return NEED_DATA
        start = self._offset + _FRAME.size
        payload = bytes(self._buffer[start : start + length])
        if zlib.crc32(payload) != crc:
            raise MalformedRecordError("record CRC mismatch")
        try:
            kind = RecordType(payload[0])
        except ValueError:
            raise MalformedRecordError(f"unknown record type {payload[0]}") from None
        body = payload[1:]
        if (kind is RecordType.SAMPLES and len(body) % 4) or (
            kind is RecordType.GAP and len(body) != _GAP.size
        ):
            raise MalformedRecordError(f"{kind.name} record of {len(body)} bytes")
        self._offset = start + length
        self.consumed = self._offset
        return Record(kind, body)


@dataclass(frozen=True)
class RecoveredJournal:
    header: JournalHeader
    samples: NDArray[np.float32]
    gaps: tuple[Gap, ...]
    dropped_bytes: int  # the torn (or damaged) tail, not recovered
    dropped_reason: str | None

    def capture(self) -> Capture:
        """The recording as far as it was journalled: always partial, same UUID and start."""
        h = self.header
        return Capture(h.recording_id, h.started_at, h.sample_rate_hz, self.samples,
                       self.gaps, partial=True)  # fmt: skip

    def torn_tail_only(self) -> bool:
        """True if what was dropped fits in what the writer can leave unsynced.

        The writer syncs every second of audio; one sync interval plus a block arriving in
        the meantime stays under two seconds. More than that is damage, not a torn write.
        """
        return self.dropped_bytes <= 2 * 4 * self.header.sample_rate_hz + 64 * 1024


def _parse_header(body: bytes) -> JournalHeader:
    try:
        d = json.loads(body)
        ctx = RecordingContext.from_fields(d)
        rate = int(d["sample_rate_hz"])
        if rate <= 0:
            raise ValueError(f"sample rate {rate}")
        return JournalHeader(uuid.UUID(d["recording_id"]), float(d["started_at"]), rate, ctx)
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalCorruptError(f"unreadable header: {exc}") from exc


def read_journal(data: bytes) -> RecoveredJournal:
    """Rebuild a journal's recording from its bytes, dropping a torn or damaged tail.

    Raises IncompleteJournalError when the file ends before its header does, and
    JournalCorruptError when the header cannot be trusted.
    """
    if len(data) < len(MAGIC) and MAGIC.startswith(data):
        raise IncompleteJournalError(f"{len(data)} bytes, cut off in the magic")
    if not data.startswith(MAGIC):
        raise JournalCorruptError("not a capture journal (bad magic)")
    decoder = JournalDecoder()
    decoder.feed(data[len(MAGIC) :])
    try:
        first = decoder.next_record()
    except MalformedRecordError as exc:
        raise JournalCorruptError(f"bad header record: {exc}") from exc
    if first is NEED_DATA:
        raise IncompleteJournalError(f"{len(data)} bytes, cut off in the header record")
    if first.kind is not RecordType.HEADER:
        raise JournalCorruptError(f"first record is {first.kind.name}, not HEADER")
    header = _parse_header(first.body)
    chunks: list[NDArray[np.float32]] = []
    gaps: list[Gap] = []
    reason: str | None = None
    length = 0
    while True:
        try:
            record = decoder.next_record()
        except MalformedRecordError as exc:
            reason = str(exc)
            break
        if record is NEED_DATA:
            break
        if record.kind is RecordType.SAMPLES:
            chunk = np.frombuffer(record.body, dtype="<f4").astype(np.float32)
            chunks.append(chunk)
            length += len(chunk)
        elif record.kind is RecordType.GAP:
            gaps.append(Gap(*_GAP.unpack(record.body)))
        else:
            reason = "a second header record"
            break
    dropped = len(data) - len(MAGIC) - decoder.consumed
    if dropped and reason is None:
        reason = "incomplete last record"
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    # A gap is written before its samples: one whose samples were torn off is clipped.
    kept = []
    for g in gaps:
        end = min(g.start_sample + g.length, length)
        if end > g.start_sample >= 0:
            kept.append(Gap(g.start_sample, end - g.start_sample))
    return RecoveredJournal(header, samples, tuple(kept), dropped, reason)


# ---- the file edge ----------------------------------------------------------------------


def load_journal(path: Path) -> RecoveredJournal:
    return read_journal(path.read_bytes())


def list_journals(directory: Path) -> list[Path]:
    """Journals left in `directory`, oldest first (by name order within equal times)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.suffix == SUFFIX and p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def remove_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def move_aside(path: Path) -> Path:
    """Move a journal to `<dir>/damaged/` (kept for a person, never recovered again)."""
    aside = path.parent / "damaged"
    aside.mkdir(mode=0o700, exist_ok=True)
    target = aside / path.name
    os.replace(path, target)
    _fsync_dir(path.parent)
    return target


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Open:
    path: Path
    buffer: bytearray
    unsynced: int = 0  # samples buffered since the last sync was submitted


@dataclass
class _WorkerState:
    """Owned by the worker thread only."""

    fds: dict[Path, int] = field(default_factory=dict)
    failed: set[Path] = field(default_factory=set)


class CaptureJournal:
    """Journal each recording in progress; every file call runs on one worker thread.

    `record` never blocks: it encodes in memory and queues a write+fsync once a second of
    audio is buffered. `seal` writes the rest and waits for its fsync; `finish` closes the
    file and, once the recording is accepted, deletes it. A journal that cannot be written
    (disk full, I/O error) is logged and given up: capture itself never stops for it.
    """

    def __init__(self, directory: Path, min_free_bytes: int = 0, sync_every_s: float = 1.0):
        self.directory = directory
        self.min_free_bytes = min_free_bytes
        self.sync_every_s = sync_every_s
        self._open: dict[uuid.UUID, _Open] = {}
        self._worker = _WorkerState()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self.bytes_written = 0  # for the cost figures
        self.syncs = 0

    def prepare(self) -> None:
        """Create the private directory (blocking: call before the loop, or in a thread)."""
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True)
            _fsync_dir(self.directory.parent)

    def path_for(self, recording_id: uuid.UUID) -> Path:
        return self.directory / f"{recording_id}{SUFFIX}"

    def record(
        self, ctx: RecordingContext, sample_rate_hz: int, pieces: Iterable[Appended]
    ) -> None:
        for piece in pieces:
            current = self._open.get(piece.recording_id)
            if current is None:
                header = JournalHeader(piece.recording_id, piece.started_at, sample_rate_hz, ctx)
                current = _Open(self.path_for(piece.recording_id), bytearray(encode_header(header)))
                self._open[piece.recording_id] = current
            current.buffer += encode_piece(piece)
            current.unsynced += len(piece.samples)
            if current.unsynced >= self.sync_every_s * sample_rate_hz:
                self._submit(current)

    def _submit(self, current: _Open) -> Future[None]:
        data, current.buffer, current.unsynced = bytes(current.buffer), bytearray(), 0
        return self._executor.submit(self._write, current.path, data)

    async def seal(self, recording_id: uuid.UUID) -> None:
        """Write and fsync everything buffered for this recording; wait for it."""
        current = self._open.get(recording_id)
        if current is not None:
            await asyncio.wrap_future(self._submit(current))

    async def finish(self, recording_id: uuid.UUID, delete: bool) -> None:
        """Close the recording's journal; delete it once the recording is accepted."""
        current = self._open.pop(recording_id, None)
        if current is not None:
            await asyncio.wrap_future(self._executor.submit(self._close, current.path, delete))

    def close(self) -> None:
        """Finish queued writes and close the files, keeping them (called at shutdown)."""
        for current in self._open.values():
            self._submit(current)
        self._executor.submit(self._close_all)
        self._executor.shutdown(wait=True)

    # worker thread
    def _write(self, path: Path, data: bytes) -> None:
        state = self._worker
        if path in state.failed:
            return
        try:
            fd = state.fds.get(path)
            if fd is None:
                fd = self._create(path)
                if fd is None:
                    return
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            self.bytes_written += len(data)
            self.syncs += 1
        except OSError as exc:
            state.failed.add(path)
            log.error("event=journal_failed path=%s error=%r", path, str(exc))

    def _create(self, path: Path) -> int | None:
        free = shutil.disk_usage(self.directory).free
        if free < self.min_free_bytes:
            self._worker.failed.add(path)
            log.warning("event=journal_skipped path=%s reason=%r", path,
                        f"{free} bytes free, {self.min_free_bytes} kept in reserve")  # fmt: skip
            return None
        # Health data: owner only, whatever the umask.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._worker.fds[path] = fd
        _fsync_dir(self.directory)  # the file's name must survive a power cut too
        return fd

    def _close(self, path: Path, delete: bool) -> None:
        fd = self._worker.fds.pop(path, None)
        never_created = fd is None and path in self._worker.failed
        self._worker.failed.discard(path)
        try:
            if fd is not None:
                os.close(fd)
            if delete and not never_created:
                remove_journal(path)
        except OSError as exc:
            log.error("event=journal_failed path=%s error=%r", path, str(exc))

    def _close_all(self) -> None:
        for path in list(self._worker.fds):
            self._close(path, delete=False)
