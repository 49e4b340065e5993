"""Salvage at its edges, on real SQLite files: what each path reads, keeps, counts and says.

`salvage_rows` is called on sound files too: with a connection it reads every row through
SQLite (and the WAL), with none it reads them off the pages alone.
"""

import calendar
import contextlib
import logging
import os
import random
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from edge_agent.storage import salvage as salvage_module
from edge_agent.storage._pages import scan_table_rows
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.storage.salvage import (
    DEFAULT_PAGE_SIZE,
    OUTBOX_FILE,
    OutboxCheck,
    open_outbox,
    page_size,
    quick_check,
    salvage_rows,
)
from stetho_common import quote

PAGE = 4096
LOGGER = "edge_agent.storage.salvage"
SHA = "ab" * 32


def store_at(path: Path, receipts: bool = False) -> OutboxStore:
    return OutboxStore(path, 10**9, min_free_disk_bytes=0, await_receipts=receipts)


def recording(rid: str, size: int = 3000) -> list[OutboundMessage]:
    return [
        OutboundMessage("s/d/recordings/audio", random.Random(rid).randbytes(size),
                        content_type="audio/flac", recording_id=rid),
        OutboundMessage("s/d/recordings", b'{"r": "%s"}' % rid.encode(),
                        content_type="application/json", recording_id=rid),
        OutboundMessage("s/d/triage", b"{}", recording_id=rid),
    ]  # fmt: skip


EVERY_FIELD = OutboundMessage(
    "s/d/alerts", b"\x00alert", qos=0, retain=True, content_type="application/json",
    expiry_s=3600, user_properties=(("k", "v"), ("n", "2")), recording_id="rec-f",
)  # fmt: skip
NO_FIELD = OutboundMessage("s/d/status", b"ok", qos=2)


def salvage_both_ways(path: Path) -> tuple[list[OutboundMessage], list[OutboundMessage]]:
    image = path.read_bytes()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        by_sql = salvage_rows(db, image)
    by_pages = salvage_rows(None, image)
    assert by_sql.lost_rows == by_pages.lost_rows == 0
    return by_sql.messages, by_pages.messages


def test_every_field_of_a_message_is_salvaged_through_sqlite_and_off_the_pages(
    tmp_path: Path,
) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    store.put_many([EVERY_FIELD, NO_FIELD])
    store.close()
    assert salvage_both_ways(path) == ([EVERY_FIELD, NO_FIELD], [EVERY_FIELD, NO_FIELD])


def test_sent_messages_are_left_unless_the_hub_has_not_receipted_them(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path, receipts=True)
    seqs = store.put_many([*recording("rec-a"), *recording("rec-b"), *recording("rec-c")])
    store.mark_sent_many(seqs[:6])  # a and b sent; c not yet
    store.apply_receipt("rec-b", store_receipt_sha(path, "rec-b"))
    store.close()
    expected = [*recording("rec-a")[:2], *recording("rec-c")]  # a's triage was delivered
    assert salvage_both_ways(path) == (expected, expected)


def store_receipt_sha(path: Path, rid: str) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        row = db.execute("SELECT audio_sha256 FROM receipts WHERE recording_id = ?", (rid,))
        return str(row.fetchone()[0])


def test_receipt_rows_of_an_older_agent_are_read_off_the_pages(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path, receipts=True)
    seqs = store.put_many([*recording("rec-old"), *recording("rec-new")])
    store.mark_sent_many(seqs)
    store.close()
    # Rows as an agent before the backoff wrote them: 5 values.
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("DELETE FROM receipts")
        db.execute("ALTER TABLE receipts DROP COLUMN attempt")
        db.execute("ALTER TABLE receipts DROP COLUMN wait_s")
        db.execute("INSERT INTO receipts VALUES ('rec-old', ?, 1.0, 0, NULL)", (SHA,))
        db.execute("ALTER TABLE receipts ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")
        db.execute("ALTER TABLE receipts ADD COLUMN wait_s REAL")
        db.execute("INSERT INTO receipts VALUES ('rec-new', ?, 2.0, 0, NULL, 0, NULL)", (SHA,))
    expected = [*recording("rec-old")[:2], *recording("rec-new")[:2]]
    assert salvage_rows(None, path.read_bytes()).messages == expected


def test_only_receipt_shaped_rows_count_as_receipts(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path, receipts=True)
    seqs = store.put_many([*recording("index"), *recording("rec-x")])
    store.mark_sent_many(seqs)
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE receipts SET archived_at = 5.0")  # both receipted
        db.execute("UPDATE receipts SET audio_sha256 = 'short' WHERE recording_id = 'rec-x'")
        db.execute("UPDATE receipts SET archived_at = NULL WHERE recording_id = 'rec-x'")
    # "index" is also the first value of sqlite_master's rows for the receipts' autoindex (5
    # values, the last NULL): only a 64-character hash makes a row a receipt.
    assert salvage_rows(None, path.read_bytes()).messages == []


def test_rows_still_in_the_wal_are_salvaged(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    store = store_at(live / OUTBOX_FILE, receipts=True)
    first = store.put_many([*recording("rec-a"), *recording("rec-b")])
    store.mark_sent_many(first[:3])
    store.close()  # checkpointed: these rows are in the main file
    with contextlib.closing(sqlite3.connect(live / OUTBOX_FILE)) as db, db:
        db.execute("DELETE FROM messages WHERE seq = ?", (first[2],))  # a gap: a pruned row
    store = store_at(live / OUTBOX_FILE, receipts=True)
    later = store.put_many([*recording("rec-c"), *recording("rec-d")])
    # Sent since the checkpoint: the main file still has rec-b's triage unsent, the WAL sent.
    store.mark_sent_many([later[0], later[2], first[5]])
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):  # as a power cut leaves them: the WAL not yet checkpointed
        shutil.copyfile(f"{live / OUTBOX_FILE}{suffix}", f"{copy / OUTBOX_FILE}{suffix}")
    store.close()
    path = copy / OUTBOX_FILE
    image = path.read_bytes()
    assert salvage_rows(None, image).messages == [*recording("rec-a")[:2], *recording("rec-b")]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        found = salvage_rows(db, image)
    assert found.lost_rows == 0
    c_audio, c_meta, c_triage = recording("rec-c")
    assert found.messages == [*recording("rec-a")[:2], *recording("rec-b")[:2], c_audio, c_meta,
                              *recording("rec-d")]  # fmt: skip
    assert c_triage not in found.messages


def test_a_row_whose_payload_is_not_bytes_is_lost_and_counted_once(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    seqs = store.put_many(recording("rec-a"))
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE payloads SET payload = 'text' WHERE seq = ?", (seqs[1],))
    image = path.read_bytes()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        by_sql = salvage_rows(db, image)
    by_pages = salvage_rows(None, image)
    audio, _, triage = recording("rec-a")
    assert (by_sql.messages, by_sql.lost_rows) == ([audio, triage], 1)
    assert (by_pages.messages, by_pages.lost_rows) == ([audio, triage], 1)


def test_a_message_row_without_its_payload_row_is_lost(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    seqs = store.put_many(recording("rec-a"))
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("DELETE FROM payloads WHERE seq = ?", (seqs[0],))
    image = path.read_bytes()
    _, meta, triage = recording("rec-a")
    for db in (sqlite3.connect(path), None):
        found = salvage_rows(db, image)
        assert (found.messages, found.lost_rows) == ([meta, triage], 1)
        if db is not None:
            db.close()


HEADER = b"SQLite format 3\x00"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (HEADER + b"\x20\x00", 8192),  # the header's field, even with nothing after it
        (HEADER + b"\x10\x00" + bytes(100), 4096),
        (HEADER + b"\x02\x00" + bytes(100), 512),  # the smallest SQLite allows
        (HEADER + b"\x00\x01" + bytes(100), 65536),  # 1 stands for 65536
        (HEADER + b"\x01\x00" + bytes(100), DEFAULT_PAGE_SIZE),  # 256: below the smallest
        (HEADER + b"\x03\x00" + bytes(100), DEFAULT_PAGE_SIZE),  # 768: not a power of two
        (HEADER + b"\x02\x01" + bytes(100), DEFAULT_PAGE_SIZE),  # 513: odd
        (HEADER + b"\x00\x00" + bytes(100), DEFAULT_PAGE_SIZE),  # 0
        (HEADER + b"\x20", DEFAULT_PAGE_SIZE),  # cut inside the field
        (b"sqlite format 3\x00\x20\x00" + bytes(100), DEFAULT_PAGE_SIZE),  # damaged header
        (bytes(16) + b"\x20\x00" + bytes(100), DEFAULT_PAGE_SIZE),
    ],
)
def test_page_size_comes_from_a_sound_header_only(image: bytes, expected: int) -> None:
    assert page_size(image) == expected


def test_a_file_that_is_not_a_database_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    path.write_bytes(b"not a database at all" * 300)
    assert quick_check(path) == ["file is not a database"]


@pytest.mark.parametrize(("size", "what"), [(0, "empty (0 bytes)"), (None, "missing")])
def test_an_outbox_lost_from_a_used_state_dir_is_named_and_said(
    tmp_path: Path, size: int | None, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    status = tmp_path / "status.json"
    status.write_text("{}")
    stamp = 1_700_000_000
    os.utime(status, (stamp, stamp))
    path = tmp_path / OUTBOX_FILE
    if size == 0:
        path.write_bytes(b"")
    caplog.set_level(logging.ERROR, LOGGER)
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    alarm = (
        f"the outbox {path} is {what} although this state directory held recordings before "
        f"(status.json from {time.ctime(stamp)}): recordings stored and not yet sent then are "
        "lost; a new outbox is started"
    )
    assert check == type(check)("history_lost", alarm)
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"event=outbox_history_lost path={quote(path)} alarm={quote(alarm)}"
    ]


def test_journals_left_in_the_state_dir_show_it_was_used(tmp_path: Path) -> None:
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "x.journal").write_bytes(b"x")
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    assert check.alarm is not None and "before (capture journals):" in check.alarm


def test_an_empty_journal_directory_is_a_new_state_dir(tmp_path: Path) -> None:
    (tmp_path / "journal").mkdir()
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    assert (check.state, check.alarm) == ("new", None)


def damaged_outbox(state: Path) -> list[OutboundMessage]:
    """An outbox of four recordings whose last page is garbage, and the messages put in."""
    path = state / OUTBOX_FILE
    put = [*recording("rec-a", 200), *recording("rec-b", 200), *recording("rec-c", 200),
           *recording("rec-d", 200)]  # fmt: skip
    store = store_at(path)
    store.put_many(put)
    store.close()
    with path.open("r+b") as f:
        f.seek(-PAGE, 2)
        f.write(random.Random(1).randbytes(PAGE))
    return put


def test_a_damaged_outbox_is_moved_aside_stamped_salvaged_and_said(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    damaged_outbox(tmp_path)
    problems = quick_check(tmp_path / OUTBOX_FILE)
    assert problems
    caplog.set_level(logging.ERROR, LOGGER)
    before = calendar.timegm(time.gmtime())

    def verify(parts: list[OutboundMessage]) -> str | None:
        return "bad audio" if parts[0].recording_id == "rec-b" else None

    with monkeypatch.context() as zone:  # the stamp is UTC whatever the local time zone
        zone.setenv("TZ", "Asia/Kolkata")
        time.tzset()
        try:
            store, check = open_outbox(tmp_path, store_at, verify)
        finally:
            zone.undo()
            time.tzset()
    got = [m.message for m in store.pending(100)]
    store.close()
    moved = Path(str(check.moved_to))
    assert moved.parent == tmp_path and moved.exists()
    stamp = re.fullmatch(r"outbox\.sqlite3\.damaged-(\d{8}T\d{6})", moved.name)
    assert stamp is not None
    taken = calendar.timegm(time.strptime(stamp[1], "%Y%m%dT%H%M%S"))
    assert before <= taken <= calendar.timegm(time.gmtime())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("outbox-salvage-")] == []
    assert {m.recording_id for m in got} <= {"rec-a", "rec-c", "rec-d"}
    assert "rec-b" in check.held_back_recordings
    assert check.problems == tuple(problems[:20])
    assert check.saved_messages == len(got)
    held = len(check.held_back_recordings)
    assert check.alarm == (
        f"the outbox was damaged and moved aside to {moved.name}: {len(got)} unsent messages "
        f"saved and delivered, {check.lost_rows} unreadable rows lost, {held} recordings not "
        "whole (a part lost or damaged: not delivered, still in the moved file); rows on the "
        "damaged pages themselves cannot be counted"
    )
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"event=outbox_damaged path={quote(tmp_path / OUTBOX_FILE)} moved_to={quote(moved)} "
        f"problems={quote('; '.join(problems[:5]))}",
        f"event=salvage_refused recording=rec-b reason={quote('bad audio')}",
        f"event=outbox_salvaged saved_messages={len(got)} lost_rows={check.lost_rows} "
        f"held_back_recordings={held} alarm={quote(check.alarm)}",
    ]


def test_rows_of_other_tables_are_never_taken_for_payloads(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    seqs = store.put_many(recording("rec-a"))
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # after the payloads, on later pages
        db.execute("CREATE TABLE pair (a, b)")
        db.execute("INSERT INTO pair (rowid, a, b) VALUES (?, 'x', x'00ff')", (seqs[0],))
        db.execute("CREATE TABLE triple (a, b, c)")
        db.execute("INSERT INTO triple (rowid, a, b, c) VALUES (?, NULL, x'00ff', 1)", (seqs[1],))
    assert salvage_rows(None, path.read_bytes()).messages == recording("rec-a")


def test_the_start_up_status_lists_at_most_20_held_back_recordings() -> None:
    held = tuple(f"rec-{n:02}" for n in range(25))
    check = OutboxCheck("salvaged", "alarm", "/s/moved", ("p",), 7, 2, held)
    assert check.as_status() == {
        "state": "salvaged",
        "alarm": "alarm",
        "moved_to": "/s/moved",
        "saved_messages": 7,
        "lost_rows": 2,
        "held_back_recordings": list(held[:20]),
    }


def damage_page_of(path: Path, name: str, layout: Path | None = None) -> None:
    """Overwrite the root page of index `name` with garbage: quick_check fails, no row is lost.

    The page is looked up in `layout` (a file of the same schema) when opening `path` itself
    would checkpoint its WAL."""
    with contextlib.closing(sqlite3.connect(layout or path)) as db:
        query = "SELECT rootpage FROM sqlite_master WHERE name = ?"
        (root,) = db.execute(query, (name,)).fetchone()
    with path.open("r+b") as f:
        f.seek((root - 1) * PAGE)
        f.write(random.Random(root).randbytes(PAGE))


def test_recordings_not_whole_or_refused_are_held_back_and_counted(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    a, b, c, d, e = (recording(f"rec-{x}", 200) for x in "abcde")
    loose = OutboundMessage("s/d/recordings", b"{}")  # no recording id: never a recording
    store.put_many([*a, b[0], c[1], *d, loose, *e[:2]])
    store.close()
    damage_page_of(path, "messages_unsent")

    def verify(parts: list[OutboundMessage]) -> str | None:
        return "bad audio" if parts[0].recording_id == "rec-d" else None

    store, check = open_outbox(tmp_path, store_at, verify)
    got = [m.message for m in store.pending(100)]
    store.close()
    assert got == [*a, b[0], c[1], loose, *e[:2]]
    assert (check.saved_messages, check.lost_rows) == (8, 0)
    # rec-b has no metadata, rec-c no audio, rec-d was refused; rec-a's triage is extra, and
    # rec-e's metadata and audio are all a recording needs.
    assert check.held_back_recordings == ("rec-b", "rec-c", "rec-d")


def test_a_damaged_outbox_with_rows_in_its_wal_is_salvaged_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live"
    live.mkdir()
    store = store_at(live / OUTBOX_FILE)
    store.put_many(recording("rec-a"))
    store.close()
    store = store_at(live / OUTBOX_FILE)
    store.put_many(recording("rec-b"))  # only in the WAL
    state = tmp_path / "state"
    state.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{live / OUTBOX_FILE}{suffix}", f"{state / OUTBOX_FILE}{suffix}")
    store.close()
    damage_page_of(
        state / OUTBOX_FILE, "messages_sent_at", layout=live / OUTBOX_FILE
    )  # no WAL copy
    # The scratch copy goes beside the damaged file (its disk), never to the system's temp dir.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    store, check = open_outbox(state, store_at)
    got = [m.message for m in store.pending(100)]
    store.close()
    assert check.state == "salvaged"
    assert got == [*recording("rec-a"), *recording("rec-b")]
    moved = Path(str(check.moved_to))
    assert moved.exists() and Path(f"{moved}-wal").exists()  # both kept, untouched


def test_the_damage_log_line_names_the_first_five_problems(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    store.put_many(recording("rec-a", 200))
    store.close()
    # Seven rows breaking NOT NULL (schema relaxed, rows written, schema restored): quick_check
    # reports one problem per row.
    with contextlib.closing(sqlite3.connect(path)) as db:
        query = "SELECT sql FROM sqlite_master WHERE name = 'messages'"
        (sql,) = db.execute(query).fetchone()
        relax = "UPDATE sqlite_master SET sql = ? WHERE name = 'messages'"
        db.execute("PRAGMA writable_schema = ON")
        db.execute(relax, (sql.replace("topic TEXT NOT NULL", "topic TEXT"),))
        db.commit()
    with contextlib.closing(sqlite3.connect(path)) as db:
        for n in range(7):
            db.execute(
                "INSERT INTO messages (recording_id, topic, qos, retain, user_properties,"
                " created_at) VALUES (?, NULL, 1, 0, '[]', 1.0)",
                (f"bad-{n}",),
            )
        db.commit()
        db.execute("PRAGMA writable_schema = ON")
        db.execute(relax, (sql,))
        db.commit()
    problems = quick_check(path)
    assert problems == ["NULL value in messages.topic"] * 7
    caplog.set_level(logging.ERROR, LOGGER)
    store, check = open_outbox(tmp_path, store_at)
    got = [m.message for m in store.pending(100)]
    store.close()
    assert got == recording("rec-a", 200)
    assert check.problems == tuple(problems)
    assert check.lost_rows == 7
    logged = next(r.getMessage() for r in caplog.records if r.name == LOGGER)
    assert logged == (
        f"event=outbox_damaged path={quote(path)} moved_to={quote(check.moved_to)} "
        f"problems={quote('; '.join(['NULL value in messages.topic'] * 5))}"
    )


def test_rows_behind_a_damaged_tail_are_counted_up_to_the_last_seq_ever_given(
    tmp_path: Path,
) -> None:
    path = tmp_path / OUTBOX_FILE
    store_at(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # a long-lived outbox's seqs
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', 1500000)")
    store = store_at(path)
    put = [OutboundMessage("s/d/status", random.Random(n).randbytes(100)) for n in range(200)]
    seqs = store.put_many(put)
    store.close()
    at: dict[int, set[int]] = {}
    for row in scan_table_rows(path.read_bytes(), PAGE):
        if len(row.values) in (2, 10) and row.values[0] is None:  # payloads, messages
            at.setdefault(row.rowid, set()).update(row.pages)
    # The last leaf of each table and the unsent index's root: no scan reaches the newest rows,
    # only sqlite_sequence still says how far the seqs went.
    with contextlib.closing(sqlite3.connect(path)) as db:
        (index_root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'messages_unsent'"
        ).fetchone()
    damaged = {index_root, *at[seqs[-1]]}
    with path.open("r+b") as f:
        for page in damaged:
            f.seek((page - 1) * PAGE)
            f.write(random.Random(page).randbytes(PAGE))
    lost = [seq for seq in seqs if at[seq] & damaged]
    assert 0 < len(lost) < len(seqs) and seqs[-1] in lost
    with contextlib.closing(sqlite3.connect(path)) as db:
        found = salvage_rows(db, path.read_bytes())
    assert found.messages == [m for seq, m in zip(seqs, put, strict=True) if seq not in lost]
    assert found.lost_rows == len(lost)


def test_a_copy_sqlite_cannot_open_is_read_off_its_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / OUTBOX_FILE
    store = store_at(path)
    store.put_many([*recording("r-open"), EVERY_FIELD])
    store.close()
    expected = salvage_rows(None, path.read_bytes())
    assert len(expected.messages) == 4

    def unable(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", unable)
    assert salvage_module._salvage_copy(path) == expected
