"""The outbox is checked on every start; a damaged one is moved aside and its rows salvaged.

One corrupt page used to end the agent with a traceback and deliver nothing, intact recordings
included (issue 18: 12 of 17 cases with one random 4 KiB page). Now `open_outbox`:

1. runs `PRAGMA quick_check` (SQLite's structural check, without the index-content cross-check
   of `integrity_check`, so it stays fast on a Pi) on the existing file;
2. if it fails, renames the file and its WAL aside *untouched* (`outbox.sqlite3.damaged-<time>`),
   copies them to a scratch directory and reads the copy: each unsent message by its own
   `seq` lookup, so one unreadable page loses the rows on it, not the rest;
3. stores every message it could read, in order, in a new outbox, and returns what it saved and
   what it could not (unreadable rows; recordings that lost their audio or their metadata).

An empty or missing outbox in a state directory that held recordings before (a status.json or
journals are there) is said loudly too: those recordings are gone, and nobody must think the
agent simply started fresh.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.storage._pages import Value, scan_table_rows
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from stetho_common import quote

__all__ = ["OutboxCheck", "open_outbox", "salvage_rows"]

log = logging.getLogger(__name__)
OUTBOX_FILE = "outbox.sqlite3"
SIDE_FILES = ("-wal", "-shm")
# Probing every seq between the lowest and highest known costs ~10 us a lookup: cap the range so
# a seq counter in the billions cannot stall a start (rows beyond it are reported as lost).
MAX_PROBED_SEQS = 2_000_000
DEFAULT_PAGE_SIZE = 4096  # SQLite's default, which the outbox keeps
_ROW_QUERY = (
    "SELECT recording_id, topic, qos, retain, content_type, expiry_s, user_properties,"
    " created_at, sent_at FROM messages WHERE seq = ?"
)


@dataclass(frozen=True)
class OutboxCheck:
    """What the start-up check found; `alarm` is None when the outbox was sound."""

    state: str  # "ok", "new", "salvaged", "history_lost"
    alarm: str | None = None
    moved_to: str | None = None
    problems: tuple[str, ...] = ()
    saved_messages: int = 0
    lost_rows: int = 0
    held_back_recordings: tuple[str, ...] = ()

    def as_status(self) -> dict[str, object]:
        return {
            "state": self.state,
            "alarm": self.alarm,
            "moved_to": self.moved_to,
            "saved_messages": self.saved_messages,
            "lost_rows": self.lost_rows,
            "held_back_recordings": list(self.held_back_recordings[:20]),
        }


@dataclass
class Salvaged:
    messages: list[OutboundMessage] = field(default_factory=list)
    lost_rows: int = 0
    refused: set[str] = field(default_factory=set)  # recordings whose parts failed `verify`


def open_outbox(
    state_dir: Path,
    make: Callable[[Path], OutboxStore],
    verify: Callable[[list[OutboundMessage]], str | None] | None = None,
) -> tuple[OutboxStore, OutboxCheck]:
    """Check, salvage if need be, and open the outbox of `state_dir` with `make(path)`.

    `verify` judges each salvaged recording's messages as a whole (None: deliver them; else
    why not): the layer that knows the recording format supplies it.
    """
    path = state_dir / OUTBOX_FILE
    size = path.stat().st_size if path.exists() else None
    if not size:
        return make(path), _fresh(state_dir, path, size)
    problems = quick_check(path)
    if not problems:
        return make(path), OutboxCheck("ok")
    moved = _move_aside(path)
    log.error(
        "event=outbox_damaged path=%s moved_to=%s problems=%s",
        quote(path),
        quote(moved),
        quote("; ".join(problems[:5])),
    )
    found = _salvage_copy(moved)
    if verify is not None:
        found = _keep_verified(found, verify)
    store = make(path)
    if found.messages:
        store.put_many(found.messages)
    check = _report(moved, problems, found)
    log.error(
        "event=outbox_salvaged saved_messages=%d lost_rows=%d held_back_recordings=%d alarm=%s",
        check.saved_messages,
        check.lost_rows,
        len(check.held_back_recordings),
        quote(check.alarm),
    )
    return store, check


def quick_check(path: Path) -> list[str]:
    """SQLite's own structural check, opened read-only so the file stays as it was (a read-write
    connection checkpoints the WAL into it on close); [] when the file is sound."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("PRAGMA quick_check(20)").fetchall()
    except sqlite3.OperationalError:
        return []  # cannot open (permissions, a lock): not damage; the store's open says why
    except sqlite3.DatabaseError as exc:  # not a database at all, or a malformed page
        return [str(exc)]
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def _fresh(state_dir: Path, path: Path, size: int | None) -> OutboxCheck:
    history = _history(state_dir)
    if history is None:
        return OutboxCheck("new")
    what = "empty (0 bytes)" if size == 0 else "missing"
    alarm = (
        f"the outbox {path} is {what} although this state directory held recordings before "
        f"({history}): recordings stored and not yet sent then are lost; a new outbox is started"
    )
    log.error("event=outbox_history_lost path=%s alarm=%s", quote(path), quote(alarm))
    return OutboxCheck("history_lost", alarm)


def _history(state_dir: Path) -> str | None:
    """What shows an agent ran here before, or None for a new state directory."""
    status = state_dir / "status.json"
    if status.exists():
        return f"{status.name} from {time.ctime(status.stat().st_mtime)}"
    journal = state_dir / "journal"
    if journal.is_dir() and any(journal.iterdir()):
        return "capture journals"
    return None


def _move_aside(path: Path) -> Path:
    """Rename the database and its WAL aside, untouched, for a person (or sqlite3 .recover)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", *SIDE_FILES):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{target}{suffix}")
    return target


def _salvage_copy(moved: Path) -> Salvaged:
    """Read a scratch copy (SQLite writes to what it opens: a WAL replay, a -shm file)."""
    with tempfile.TemporaryDirectory(prefix="outbox-salvage-", dir=moved.parent) as scratch:
        copy = Path(scratch) / OUTBOX_FILE
        for suffix in ("", *SIDE_FILES):
            source = Path(f"{moved}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{copy}{suffix}")
        image = moved.read_bytes()
        # A damaged file fails its queries, which salvage_rows survives; opening it can still
        # fail (no file handle or memory left): the pages alone are then read.
        try:
            db = sqlite3.connect(copy)
        except sqlite3.Error:
            return salvage_rows(None, image)
        with contextlib.closing(db):
            return salvage_rows(db, image)


def salvage_rows(db: sqlite3.Connection | None, image: bytes) -> Salvaged:
    """Every message still to deliver that can be read whole, in seq order; count the rest.

    First through SQLite, one `seq` at a time (this also reads rows still in the WAL); then,
    for rows SQLite cannot reach (a damaged root or schema page), off the pages of `image`.
    """
    read: dict[int, OutboundMessage] = {}
    sent: set[int] = set()
    failed: set[int] = set()
    awaiting = _awaiting_receipts(db, image)
    if db is not None:
        _read_by_sql(db, awaiting, read, sent, failed)
    rows, payloads = _page_rows(image)
    for seq, versions in rows.items():
        if seq in read or seq in sent or not all(_wanted(v, awaiting) for v in versions):
            continue
        try:
            read[seq] = _message(tuple(versions[0]), (payloads[seq],) if seq in payloads else None)
        except (ValueError, TypeError):
            failed.add(seq)
    # A payload row without its message row cannot be told from a pruned (sent) one left on a
    # freed page, so only message rows that could not be completed count as lost.
    return Salvaged([read[seq] for seq in sorted(read)], len(failed - set(read)))


def _keep_verified(
    found: Salvaged, verify: Callable[[list[OutboundMessage]], str | None]
) -> Salvaged:
    groups: dict[str, list[OutboundMessage]] = {}
    for message in found.messages:
        if message.recording_id is not None:
            groups.setdefault(message.recording_id, []).append(message)
    refused: set[str] = set()
    for rid, parts in groups.items():
        problem = verify(parts)
        if problem is not None:
            refused.add(rid)
            log.error("event=salvage_refused recording=%s reason=%s", quote(rid), quote(problem))
    kept = [m for m in found.messages if m.recording_id not in refused]
    return Salvaged(kept, found.lost_rows, found.refused | refused)


def _wanted(row: Sequence[object], awaiting: set[str]) -> bool:
    """Unsent; or sent, but the metadata or audio of a recording the hub has not receipted
    (with receipts on, those are kept until the hospital confirms them: storage/receipts.py)."""
    if row[8] is None:
        return True
    topic = str(row[1])
    archived = topic.endswith(("/recordings", "/recordings/audio"))
    return archived and row[0] in awaiting


def _awaiting_receipts(db: sqlite3.Connection | None, image: bytes) -> set[str]:
    """Recording ids still waiting for the hub's receipt, through SQLite and off the pages."""
    found: set[str] = set()
    if db is not None:
        with contextlib.suppress(sqlite3.Error):
            query = "SELECT recording_id FROM receipts WHERE archived_at IS NULL"
            found.update(str(row[0]) for row in db.execute(query))
    for row in scan_table_rows(image, page_size(image)):
        # receipts: recording_id, audio_sha256, stored_at, resent, archived_at (, attempt, wait_s:
        # 7 values in rows written since the backoff, 5 in older ones)
        v = row.values
        receipt = len(v) in (5, 7) and isinstance(v[1], str) and len(v[1]) == 64
        if receipt and isinstance(v[0], str) and v[4] is None:
            found.add(v[0])
    return found


def _read_by_sql(
    db: sqlite3.Connection,
    awaiting: set[str],
    read: dict[int, OutboundMessage],
    sent: set[int],
    failed: set[int],
) -> None:
    for seq in sorted(_candidate_seqs(db)):
        try:
            row = db.execute(_ROW_QUERY, (seq,)).fetchone()
            if row is None:
                continue
            if not _wanted(row, awaiting):
                sent.add(seq)  # acknowledged by the broker (and receipted, if receipts are on)
                continue
            blob = db.execute("SELECT payload FROM payloads WHERE seq = ?", (seq,)).fetchone()
            read[seq] = _message(row, blob)
        except (sqlite3.Error, ValueError, TypeError):
            failed.add(seq)


def _page_rows(image: bytes) -> tuple[dict[int, list[list[Value]]], dict[int, bytes]]:
    """Messages rows (10 columns) and payload rows (2 columns: seq alias, blob) on the pages."""
    rows: dict[int, list[list[Value]]] = {}
    payloads: dict[int, bytes] = {}
    for row in scan_table_rows(image, page_size(image)):
        rowid, values = row.rowid, row.values
        if len(values) == 10 and values[0] is None and isinstance(values[2], str):
            rows.setdefault(rowid, []).append(values[1:])
        elif len(values) == 2 and values[0] is None and isinstance(values[1], bytes):
            payloads[rowid] = values[1]
    return rows, payloads


def page_size(image: bytes) -> int:
    """From the header if it is still there (§1.3: offset 16, 1 means 65536), else our default."""
    if image.startswith(b"SQLite format 3\x00") and len(image) >= 18:
        size = int.from_bytes(image[16:18], "big")
        size = 65536 if size == 1 else size
        if size >= 512 and size & (size - 1) == 0:
            return size
    return DEFAULT_PAGE_SIZE


def _candidate_seqs(db: sqlite3.Connection) -> set[int]:
    """Seqs reachable by any path: table scans both ways, the unsent index, the payloads, then
    every seq between the lowest and highest seen (rows behind a damaged interior page)."""
    seqs: set[int] = set()
    for query in (
        "SELECT seq FROM messages ORDER BY seq",
        "SELECT seq FROM messages ORDER BY seq DESC",
        "SELECT seq FROM messages INDEXED BY messages_unsent WHERE sent_at IS NULL",
        "SELECT seq FROM payloads ORDER BY seq",
        "SELECT seq FROM payloads ORDER BY seq DESC",
        "SELECT seq FROM sqlite_sequence WHERE name = 'messages'",
    ):
        seqs.update(_read_until_error(db, query))
    if seqs:
        low, high = min(seqs), max(seqs)
        if high - low <= MAX_PROBED_SEQS:
            seqs.update(range(low, high + 1))
    return seqs


def _read_until_error(db: sqlite3.Connection, query: str) -> Iterator[int]:
    try:
        cursor = db.execute(query)
        while (row := cursor.fetchone()) is not None:
            if isinstance(row[0], int):
                yield row[0]
    except sqlite3.Error:
        return


def _message(row: tuple[object, ...], blob: tuple[object, ...] | None) -> OutboundMessage:
    rid, topic, qos, retain, ctype, expiry, props, _, _ = row
    if blob is None or not isinstance(blob[0], bytes) or not isinstance(topic, str):
        raise ValueError("payload or topic unreadable")
    pairs = json.loads(str(props))
    return OutboundMessage(
        topic=topic,
        payload=blob[0],
        qos=int(str(qos)),
        retain=bool(retain),
        content_type=None if ctype is None else str(ctype),
        expiry_s=None if expiry is None else int(str(expiry)),
        user_properties=tuple((str(k), str(v)) for k, v in pairs),
        recording_id=None if rid is None else str(rid),
    )


def _report(moved: Path, problems: list[str], found: Salvaged) -> OutboxCheck:
    parts: dict[str, set[str]] = {}
    for message in found.messages:
        if message.recording_id is not None:
            kind = message.topic.rsplit("/", 1)[1]  # "recordings", "audio" (.../recordings/audio)
            parts.setdefault(message.recording_id, set()).add(kind)
    incomplete = {rid for rid, kinds in parts.items() if not {"audio", "recordings"} <= kinds}
    held_back = tuple(sorted(incomplete | found.refused))
    alarm = (
        f"the outbox was damaged and moved aside to {moved.name}: {len(found.messages)} unsent "
        f"messages saved and delivered, {found.lost_rows} unreadable rows lost, "
        f"{len(held_back)} recordings not whole (a part lost or damaged: not delivered, still in "
        "the moved file); rows on the damaged pages themselves cannot be counted"
    )
    return OutboxCheck(
        "salvaged",
        alarm,
        str(moved),
        tuple(problems[:20]),
        len(found.messages),
        found.lost_rows,
        held_back,
    )
