"""Issue 18: the outbox page reader and salvage, on real SQLite files (fast, no agent)."""

from __future__ import annotations

import logging
import random
import sqlite3
from pathlib import Path

import pytest

from edge_agent.storage._pages import scan_table_rows
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.storage.salvage import OUTBOX_FILE, open_outbox, quick_check

PAGE = 4096


def store_at(path: Path) -> OutboxStore:
    return OutboxStore(path, 10**9, min_free_disk_bytes=0)


def fill(path: Path, n: int = 12, seed: int = 0) -> list[OutboundMessage]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rid = f"rec-{i:02d}"
        out += [
            OutboundMessage(
                "s/d/recordings/audio", rng.randbytes(rng.randint(100, 30000)), recording_id=rid
            ),
            OutboundMessage("s/d/recordings", b'{"i": %d}' % i, recording_id=rid),
        ]
    store = store_at(path)
    store.put_many(out)
    store.close()
    return out


def test_page_reader_reads_what_sqlite_reads(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    fill(path)
    with sqlite3.connect(path) as db:
        expected = dict(db.execute("SELECT seq, payload FROM payloads").fetchall())
    rows = {
        r.rowid: r.values[1] for r in scan_table_rows(path.read_bytes(), PAGE) if len(r.values) == 2
    }
    assert {k: v for k, v in rows.items() if k in expected} == expected


def test_sound_outbox_is_left_alone(tmp_path: Path) -> None:
    fill(tmp_path / OUTBOX_FILE)
    assert quick_check(tmp_path / OUTBOX_FILE) == []
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    assert check.state == "ok" and check.alarm is None


@pytest.mark.parametrize("page", [1, 2, 3, 4, 5, 6, 7, 8])
def test_one_damaged_page_loses_at_most_the_rows_on_it(
    tmp_path: Path, page: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    stored = fill(tmp_path / OUTBOX_FILE)
    pages: dict[int, set[int]] = {}
    for row in scan_table_rows((tmp_path / OUTBOX_FILE).read_bytes(), PAGE):
        if len(row.values) in (2, 10) and row.values[0] is None:  # payloads, messages
            pages.setdefault(row.rowid, set()).update(row.pages)
    intact = [m for seq, m in enumerate(stored, 1) if page not in pages[seq]]
    with (tmp_path / OUTBOX_FILE).open("r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(random.Random(page).randbytes(PAGE))
    store, check = open_outbox(tmp_path, store_at)
    got = [m.message for m in store.pending(1000)]
    store.close()
    assert check.state == "salvaged" and check.alarm is not None
    assert "event=outbox_salvaged" in caplog.text
    # Every row not on the damaged page is saved, in order, and nothing else.
    assert got == intact


def test_missing_outbox_in_a_used_state_dir_raises_the_alarm(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text("{}")
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    assert check.state == "history_lost"
    assert check.alarm is not None and "missing" in check.alarm


def test_new_state_dir_is_just_new(tmp_path: Path) -> None:
    store, check = open_outbox(tmp_path, store_at)
    store.close()
    assert check.state == "new" and check.alarm is None


def test_sent_recordings_still_awaiting_the_hubs_receipt_are_salvaged(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_FILE
    store = OutboxStore(path, 10**9, min_free_disk_bytes=0, await_receipts=True)
    parts = [
        OutboundMessage("s/d/recordings/audio", b"fLaC" + bytes(20000), content_type="audio/flac",
                        recording_id="rec-a"),
        OutboundMessage("s/d/recordings", b"{}", recording_id="rec-a"),
        OutboundMessage("s/triage", b"{}", recording_id="rec-a"),
    ]  # fmt: skip
    seqs = store.put_many(parts)
    store.mark_sent_many(seqs)  # PUBACKed, but the hub has not receipted it yet
    store.close()
    with path.open("r+b") as f:  # damage an index page (6: messages_sent_at), not the rows
        f.seek(5 * PAGE)
        f.write(random.Random(0).randbytes(PAGE))
    store, check = open_outbox(tmp_path, store_at)
    got = [m.message for m in store.pending(100)]
    store.close()
    assert check.state == "salvaged"
    # Metadata and audio go again (the hub dedupes); the triage, already delivered, does not.
    assert [m.topic for m in got] == ["s/d/recordings/audio", "s/d/recordings"]
