"""The capture journal, exactly: record bytes, every limit and error, the file edge's rules."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import stat
import struct
import uuid
import zlib
from pathlib import Path

import numpy as np
import pytest

from edge_agent.storage import journal as journal_module
from edge_agent.storage.journal import (
    MAGIC,
    MAX_PAYLOAD,
    NEED_DATA,
    SUFFIX,
    CaptureJournal,
    IncompleteJournalError,
    JournalCorruptError,
    JournalDecoder,
    JournalHeader,
    MalformedRecordError,
    Record,
    RecordType,
    RecoveredJournal,
    _fsync_dir,
    encode_header,
    encode_piece,
    list_journals,
    load_journal,
    move_aside,
    read_journal,
    remove_journal,
)
from edge_agent.wire.recording import Appended, Capture, Gap, RecordingContext

RATE = 100
CTX = RecordingContext("home-j", "pi-j", "steth-j", "res-7", "mitral", "heart")
RID = uuid.UUID("12345678-1234-5678-1234-567812345678")
HEADER = JournalHeader(RID, 1_700_000_000.5, RATE, CTX)


def record(kind: int, body: bytes) -> bytes:
    payload = bytes([kind]) + body
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def piece(samples: list[float], start: int = 0, gaps: tuple[Gap, ...] = ()) -> Appended:
    return Appended(RID, HEADER.started_at, start, np.array(samples, np.float32), gaps)


# ---- the record codec --------------------------------------------------------------------


def test_header_bytes_are_magic_then_one_json_record() -> None:
    data = encode_header(HEADER)
    assert data.startswith(MAGIC) and MAGIC == b"STJRNL01"
    body = data[len(MAGIC) + 9 :]
    assert data[len(MAGIC) :] == record(1, body)
    assert json.loads(body) == {
        "recording_id": str(RID),
        "started_at": 1_700_000_000.5,
        "sample_rate_hz": RATE,
        **dict(CTX.fields()),
    }


def test_piece_bytes_are_gaps_then_float32_samples() -> None:
    data = encode_piece(piece([0.5, -1.0], gaps=(Gap(3, 4),)))
    assert data == record(3, struct.pack("<qq", 3, 4)) + record(2, struct.pack("<2f", 0.5, -1.0))
    assert encode_piece(piece([])) == b""


def test_a_huge_piece_is_split_at_the_payload_cap() -> None:
    per_record = (MAX_PAYLOAD - 1) // 4
    data = encode_piece(piece([0.25] * (per_record + 1)))
    decoder = JournalDecoder()
    decoder.feed(data)
    first, second = decoder.next_record(), decoder.next_record()
    assert isinstance(first, Record) and isinstance(second, Record)
    assert (len(first.body), len(second.body)) == (4 * per_record, 4)
    assert decoder.next_record() is NEED_DATA


def test_decoder_limits_and_messages() -> None:
    def error_of(data: bytes) -> str:
        decoder = JournalDecoder()
        decoder.feed(data)
        with pytest.raises(MalformedRecordError) as info:
            decoder.next_record()
        return str(info.value)

    assert error_of(struct.pack("<II", 0, 0)) == f"record length 0 outside 1..{MAX_PAYLOAD}"
    too_long = struct.pack("<II", MAX_PAYLOAD + 1, 0)
    assert error_of(too_long) == f"record length {MAX_PAYLOAD + 1} outside 1..{MAX_PAYLOAD}"
    assert error_of(record(2, b"\0\0\0")[:-1] + b"\1") == "record CRC mismatch"
    assert error_of(record(9, b"")) == "unknown record type 9"
    assert error_of(record(2, b"\0\0\0")) == "SAMPLES record of 3 bytes"
    assert error_of(record(3, bytes(15))) == "GAP record of 15 bytes"
    assert error_of(record(3, bytes(17))) == "GAP record of 17 bytes"
    # The largest length is waited for, not refused.
    decoder = JournalDecoder()
    decoder.feed(struct.pack("<II", MAX_PAYLOAD, 0) + bytes(100))
    assert decoder.next_record() is NEED_DATA


def test_decoder_counts_only_whole_records() -> None:
    one, two = record(2, bytes(4)), record(3, bytes(16))
    decoder = JournalDecoder()
    decoder.feed(one + two[:7])
    assert decoder.next_record() == Record(RecordType.SAMPLES, bytes(4))
    assert decoder.consumed == len(one)
    assert decoder.next_record() is NEED_DATA
    decoder.feed(two[7:])
    assert decoder.next_record() == Record(RecordType.GAP, bytes(16))
    assert decoder.consumed == len(one) + len(two)
    decoder.feed(record(1, b"x")[:8])
    assert decoder.next_record() is NEED_DATA  # a frame header alone: wait for the payload


# ---- reading a journal back --------------------------------------------------------------


def test_read_journal_errors_say_what_was_found() -> None:
    def error(data: bytes, kind: type[Exception]) -> str:
        with pytest.raises(kind) as info:
            read_journal(data)
        return str(info.value)

    assert error(b"", IncompleteJournalError) == "0 bytes, cut off in the magic"
    assert error(b"STJRN", IncompleteJournalError) == "5 bytes, cut off in the magic"
    assert error(b"STJX", JournalCorruptError) == "not a capture journal (bad magic)"
    assert error(b"RIFF0000", JournalCorruptError) == "not a capture journal (bad magic)"
    assert error(MAGIC, IncompleteJournalError) == "8 bytes, cut off in the header record"
    bad_first = MAGIC + record(3, bytes(16))
    assert error(bad_first, JournalCorruptError) == "first record is GAP, not HEADER"
    assert error(MAGIC + struct.pack("<II", 0, 0), JournalCorruptError) == (
        f"bad header record: record length 0 outside 1..{MAX_PAYLOAD}"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sample_rate_hz": 0}, "unreadable header: sample rate 0"),
        ({"sample_rate_hz": -5}, "unreadable header: sample rate -5"),
        ({"recording_id": "nope"}, "unreadable header: badly formed hexadecimal UUID string"),
        ({"started_at": "soon"}, "unreadable header: could not convert string to float: 'soon'"),
    ],
)
def test_header_values_are_checked(change: dict[str, object], message: str) -> None:
    document = json.loads(encode_header(HEADER)[len(MAGIC) + 9 :])
    document.update(change)
    with pytest.raises(JournalCorruptError) as info:
        read_journal(MAGIC + record(1, json.dumps(document).encode()))
    assert str(info.value) == message


def test_a_header_missing_a_key_is_corrupt() -> None:
    document = json.loads(encode_header(HEADER)[len(MAGIC) + 9 :])
    del document["sample_rate_hz"]
    with pytest.raises(JournalCorruptError, match="unreadable header: 'sample_rate_hz'"):
        read_journal(MAGIC + record(1, json.dumps(document).encode()))


def test_a_rate_of_one_is_readable() -> None:
    one = JournalHeader(RID, 0.0, 1, CTX)
    assert read_journal(encode_header(one)).header == one


def test_round_trip_with_dropped_tail_figures() -> None:
    data = encode_header(HEADER) + encode_piece(piece([0.5, 0.25], gaps=(Gap(0, 1),)))
    whole = read_journal(data)
    assert whole.header == HEADER
    assert whole.samples.tolist() == [0.5, 0.25] and whole.samples.dtype == np.float32
    assert whole.gaps == (Gap(0, 1),)
    assert (whole.dropped_bytes, whole.dropped_reason) == (0, None)
    torn = read_journal(data + record(2, bytes(8))[:-3])
    assert (torn.dropped_bytes, torn.dropped_reason) == (14, "incomplete last record")
    assert torn.samples.tolist() == [0.5, 0.25]
    twice = read_journal(data + record(1, b"{}") + encode_piece(piece([1.0])))
    assert twice.dropped_reason == "a second header record"
    # The second header was read (and refused); what follows it is what was dropped.
    assert twice.dropped_bytes == len(encode_piece(piece([1.0])))
    assert twice.samples.tolist() == [0.5, 0.25]


def test_gaps_are_clipped_to_the_samples_kept() -> None:
    gaps = (Gap(1, 2), Gap(3, 5), Gap(4, 1), Gap(6, 1))
    data = encode_header(HEADER) + encode_piece(piece([0.0] * 4, gaps=gaps))
    assert read_journal(data).gaps == (Gap(1, 2), Gap(3, 1))
    empty = read_journal(encode_header(HEADER))
    assert empty.samples.size == 0 and empty.samples.dtype == np.float32
    assert empty.gaps == ()


def test_torn_tail_limit_is_two_seconds_plus_64_kib() -> None:
    limit = 2 * 4 * RATE + 64 * 1024

    def recovered(dropped: int) -> RecoveredJournal:
        return RecoveredJournal(HEADER, np.zeros(3, np.float32), (), dropped, "x")

    assert recovered(limit).torn_tail_only()
    assert not recovered(limit + 1).torn_tail_only()


def test_capture_keeps_identity_and_is_partial() -> None:
    found = RecoveredJournal(HEADER, np.ones(3, np.float32), (Gap(1, 1),), 0, None)
    capture = found.capture()
    assert capture == Capture(RID, HEADER.started_at, RATE, found.samples, (Gap(1, 1),), True)
    assert capture.samples is found.samples


# ---- the file edge -----------------------------------------------------------------------


def test_list_journals_oldest_first_and_only_journal_files(tmp_path: Path) -> None:
    assert list_journals(tmp_path / "absent") == []
    names = ["b.journal", "a.journal", "c.journal", "note.txt"]
    for name, mtime in zip(names, (100, 100, 50, 10), strict=True):
        path = tmp_path / name
        path.write_bytes(b"")
        os.utime(path, (mtime, mtime))
    (tmp_path / "dir.journal").mkdir()
    assert [p.name for p in list_journals(tmp_path)] == ["c.journal", "a.journal", "b.journal"]
    assert SUFFIX == ".journal"


def test_remove_and_move_aside(tmp_path: Path) -> None:
    path = tmp_path / f"{RID}.journal"
    path.write_bytes(b"x")
    target = move_aside(path)
    assert target == tmp_path / "damaged" / path.name
    assert target.read_bytes() == b"x" and not path.exists()
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    other = tmp_path / "other.journal"
    other.write_bytes(b"y")
    assert move_aside(other) == tmp_path / "damaged" / "other.journal"  # the folder exists
    remove_journal(target)
    assert not target.exists()
    remove_journal(target)  # already gone: fine


def test_sync_happens_at_exactly_one_second_of_audio(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path / "j")
    journal.prepare()
    assert stat.S_IMODE((tmp_path / "j").stat().st_mode) == 0o700
    journal.prepare()  # again: nothing to do

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * (RATE - 1))])
        await asyncio.sleep(0.1)
        assert journal.syncs == 0 and not journal.path_for(RID).exists()
        journal.record(CTX, RATE, [piece([0.0], start=RATE - 1)])
        await journal.seal(uuid.uuid4())  # an unknown recording: nothing to wait for
        await asyncio.wrap_future(journal._executor.submit(lambda: None))
        assert journal.syncs == 1
        assert load_journal(journal.path_for(RID)).samples.size == RATE
        await journal.finish(RID, delete=False)
        assert journal.path_for(RID).exists()
        await journal.finish(RID, delete=True)  # already finished: nothing happens

    asyncio.run(scenario())
    journal.close()
    assert journal.path_for(RID).exists()
    assert journal.bytes_written == len(encode_header(HEADER)) + len(
        encode_piece(piece([0.0] * (RATE - 1)))
    ) + len(encode_piece(piece([0.0])))


def test_sync_interval_is_configurable(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path, sync_every_s=0.5)
    assert (journal.min_free_bytes, journal.directory) == (0, tmp_path)

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * (RATE // 2 - 1))])
        await asyncio.wrap_future(journal._executor.submit(lambda: None))
        assert journal.syncs == 0
        journal.record(CTX, RATE, [piece([0.0], start=RATE // 2 - 1)])
        await asyncio.wrap_future(journal._executor.submit(lambda: None))
        assert journal.syncs == 1

    asyncio.run(scenario())
    journal.close()
    assert CaptureJournal(tmp_path).sync_every_s == 1.0


def test_close_writes_what_is_buffered_and_keeps_the_file(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path)
    journal.record(CTX, RATE, [piece([0.5, 0.5])])
    journal.close()
    assert load_journal(journal.path_for(RID)).samples.tolist() == [0.5, 0.5]
    assert journal._worker.fds == {}


def test_no_journal_below_the_free_space_reserve(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path, min_free_bytes=1 << 62)

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        await journal.seal(RID)
        journal.record(CTX, RATE, [piece([0.0] * RATE, start=RATE)])
        await journal.seal(RID)
        await journal.finish(RID, delete=True)

    asyncio.run(scenario())
    journal.close()
    assert not journal.path_for(RID).exists()
    assert (journal.syncs, journal.bytes_written) == (0, 0)
    assert journal._worker.failed == set()  # forgotten once the recording is finished


def test_a_failed_write_gives_up_that_journal_only(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path / "missing-dir")  # never prepared: creating fails

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        await journal.seal(RID)
        assert journal.path_for(RID) in journal._worker.failed
        await journal.seal(RID)  # no second attempt at a failed journal
        await journal.finish(RID, delete=True)

    asyncio.run(scenario())
    journal.close()
    assert (journal.syncs, journal.bytes_written) == (0, 0)
    assert journal._worker.failed == set()


def test_the_journal_file_is_private_and_exclusive(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path)
    old = os.umask(0)
    try:
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        journal.close()
    finally:
        os.umask(old)
    path = journal.path_for(RID)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CaptureJournal(tmp_path)  # a second writer of the same file must not clobber it
    again.record(CTX, RATE, [piece([1.0] * RATE)])
    again.close()
    assert load_journal(path).samples.tolist() == [0.0] * RATE
    assert again.syncs == 0


def test_fsync_dir_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    _fsync_dir(tmp_path)
    with pytest.raises(NotADirectoryError):
        _fsync_dir(tmp_path / "f")


def test_samples_are_written_as_float32_whatever_they_came_as() -> None:
    wide = Appended(RID, 0.0, 0, np.array([0.5, -0.25], dtype=np.float64), ())  # type: ignore[arg-type]
    assert encode_piece(wide) == record(2, struct.pack("<2f", 0.5, -0.25))


def test_decoder_starts_with_nothing_consumed() -> None:
    assert JournalDecoder().consumed == 0


def test_worker_thread_is_named_for_the_journal(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path)
    try:
        assert journal._executor._thread_name_prefix == "journal"
        assert journal._executor._max_workers == 1
    finally:
        journal.close()


def test_prepare_creates_missing_parents(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path / "a" / "b" / "journal")
    journal.prepare()
    journal.close()
    assert (tmp_path / "a" / "b" / "journal").is_dir()


def test_the_unsynced_count_restarts_from_zero_after_each_sync(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path)

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        journal.record(CTX, RATE, [piece([0.0] * (RATE - 1), start=RATE)])
        await asyncio.wrap_future(journal._executor.submit(lambda: None))
        assert journal.syncs == 1  # the second second is one sample short
        await journal.finish(RID, delete=False)

    asyncio.run(scenario())
    journal.close()


def test_free_space_reserve_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = shutil.disk_usage(tmp_path)._replace(free=5000)
    monkeypatch.setattr(journal_module.shutil, "disk_usage", lambda _path: usage)
    exact = CaptureJournal(tmp_path / "exact", min_free_bytes=5000)
    exact.prepare()
    exact.record(CTX, RATE, [piece([0.0] * RATE)])
    exact.close()
    assert exact.path_for(RID).exists()  # exactly the reserve free: still written
    short = CaptureJournal(tmp_path / "short", min_free_bytes=5001)
    short.prepare()
    short.record(CTX, RATE, [piece([0.0] * RATE)])
    short.close()
    assert not short.path_for(RID).exists()


def test_skipped_journal_is_logged_with_its_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = shutil.disk_usage(tmp_path)._replace(free=10)
    monkeypatch.setattr(journal_module.shutil, "disk_usage", lambda _path: usage)
    journal = CaptureJournal(tmp_path, min_free_bytes=20)
    with caplog.at_level(logging.WARNING, logger=journal_module.__name__):
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        journal.close()
    path = journal.path_for(RID)
    assert [r.getMessage() for r in caplog.records] == [
        f"event=journal_skipped path={path} reason='10 bytes free, 20 kept in reserve'"
    ]


def test_a_failed_write_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = CaptureJournal(tmp_path / "missing")
    path = journal.path_for(RID)
    with caplog.at_level(logging.ERROR, logger=journal_module.__name__):
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        journal.close()
    error = f"[Errno 2] No such file or directory: '{tmp_path / 'missing'}'"
    assert [r.getMessage() for r in caplog.records] == [
        f"event=journal_failed path={path} error={error!r}"
    ]


def test_a_failed_delete_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = tmp_path / "j"
    journal = CaptureJournal(directory)
    journal.prepare()
    path = journal.path_for(RID)

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * RATE)])
        await journal.seal(RID)
        path.unlink()
        directory.rmdir()  # the folder is gone: syncing it after the delete fails
        await journal.finish(RID, delete=True)

    with caplog.at_level(logging.ERROR, logger=journal_module.__name__):
        asyncio.run(scenario())
    journal.close()
    error = f"[Errno 2] No such file or directory: '{directory}'"
    assert [r.getMessage() for r in caplog.records] == [
        f"event=journal_failed path={path} error={error!r}"
    ]


def test_finish_with_delete_removes_a_file_never_written_by_us(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path)
    path = journal.path_for(RID)
    path.write_bytes(b"left by an earlier run")

    async def scenario() -> None:
        journal.record(CTX, RATE, [piece([0.0] * 3)])  # under a second: nothing written yet
        await journal.finish(RID, delete=True)

    asyncio.run(scenario())
    journal.close()
    assert not path.exists()


def test_an_exams_recording_keeps_its_exam_id_through_the_journal() -> None:
    exam = uuid.UUID("87654321-4321-8765-4321-876543218765")
    header = JournalHeader(RID, 1.5, RATE, dataclasses.replace(CTX, exam_id=exam))
    data = encode_header(header)
    assert json.loads(data[len(MAGIC) + 9 :])["exam_id"] == str(exam)
    assert read_journal(data).header == header
